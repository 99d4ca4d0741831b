"""The README demo: build `orders`, run it, SIGKILL it mid-way, resume it, show the timeline.

    python examples/demo.py        (uses ./durablec-demo.db, removed first)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DB = Path("durablec-demo.db").resolve()


def durablec(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "durablec", *args], text=True, check=False,
                          env=ENV, **kwargs)  # type: ignore[call-overload]  # kwargs pass through


ENV = dict(os.environ, DURABLEC_DATABASE_URL=f"sqlite:///{DB}", ORDERS_STEP_DELAY="0.4")


def main() -> int:
    for leftover in DB.parent.glob(DB.name + "*"):
        leftover.unlink()
    out = Path("build", "durablec-demo").resolve()
    print(f"$ durablec build examples/orders -o {out}", flush=True)
    if durablec("build", str(HERE / "orders"), "-o", str(out)).returncode != 0:
        return 1
    target = f"{out / 'orders' / 'orders.py'}:process_order"
    run = [sys.executable, "-m", "durablec", "run", target, "--args", '["o-1"]', "--run-id", "demo"]
    print("$ durablec run orders:process_order --run-id demo   (killed with SIGKILL mid-way)",
          flush=True)
    proc = subprocess.Popen(run, env=ENV, text=True, stderr=subprocess.PIPE)
    time.sleep(1.5)  # fetch_order done, the charge being retried: the process dies here
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    print(f"killed (exit {proc.returncode}); resuming the same run:", flush=True)
    resumed = subprocess.run(run, env=ENV, text=True, check=False)
    if resumed.returncode != 0:
        return 1
    print("$ durablec inspect demo", flush=True)
    return durablec("inspect", "demo").returncode


if __name__ == "__main__":
    raise SystemExit(main())
