"""The README demo: build `orders`, run it against a local payments API, SIGKILL it mid-way,
resume it, show the timeline, and ask the payments API how many charges it made.

    python examples/demo.py        (uses ./durablec-demo.db, removed first)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from payments_server import Payments, serve

HERE = Path(__file__).resolve().parent
DB = Path("durablec-demo.db").resolve()
STEP_DELAY = 0.4
"""Seconds each step (and the payments API) takes, so that the kill lands mid-way."""


def durablec(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "durablec", *args], text=True, check=False,
                          env=ENV if env is None else env)


ENV = dict(os.environ, DURABLEC_DATABASE_URL=f"sqlite:///{DB}", ORDERS_STEP_DELAY=str(STEP_DELAY))


def main() -> int:
    for leftover in DB.parent.glob(DB.name + "*"):
        leftover.unlink()
    payments = Payments(delay=STEP_DELAY)
    server = serve(payments)
    url = f"http://127.0.0.1:{server.server_port}"
    ENV["PAYMENTS_URL"] = url
    print(f"payments API on {url} (answers 503 to the first 2 requests of each idempotency key)",
          flush=True)
    out = Path("build", "durablec-demo").resolve()
    print(f"$ durablec build examples/orders -o {out}", flush=True)
    if durablec("build", str(HERE / "orders"), "-o", str(out)).returncode != 0:
        return 1
    target = f"{out / 'orders' / 'orders.py'}:process_order"
    run = [sys.executable, "-m", "durablec", "run", target, "--args", '["o-1"]', "--run-id", "demo"]
    print("$ durablec run orders:process_order --run-id demo   (killed with SIGKILL mid-way)",
          flush=True)
    proc = subprocess.Popen(run, env=ENV, text=True, stderr=subprocess.PIPE)
    # Two 503s retried, then the charge goes through: the process dies while the API answers it.
    if not payments.charged.wait(timeout=60):
        print("the charge was never made before the timeout", flush=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    print(f"killed (exit {proc.returncode}) while the charge's response was on its way; "
          "resuming the same run:", flush=True)
    resumed = subprocess.run(run, env=ENV, text=True, check=False)
    if resumed.returncode != 0:
        return 1
    print("$ durablec inspect demo", flush=True)
    # The timeline is a table: give it room when the output is not a terminal (a log, a pipe).
    wide = None if sys.stdout.isatty() else dict(ENV, COLUMNS="150")
    if durablec("inspect", "demo", env=wide).returncode != 0:
        return 1
    with urllib.request.urlopen(f"{url}/charges") as answer:
        report = json.load(answer)
    server.shutdown()
    print(f"$ curl {url}/charges", flush=True)
    for key, seen in report.items():
        print(f"{key}: {seen['requests']} requests ({seen['refused']} answered 503), "
              f"charge {json.dumps(seen['charge'])}", flush=True)
    charges = sum(seen["charge"] is not None for seen in report.values())
    print(f"{charges} charge made, through the retries and the kill", flush=True)
    return 0 if charges == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
