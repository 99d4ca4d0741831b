"""How long the command line takes: `durablec runs` on a 10,000-run journal and `durablec
trigger`, beside `python -c pass` and `durablec --version` (issue 13, point 8).

    .venv/bin/python bench/cli.py [--repeat N] [--runs N]

Each figure is the best of ``--repeat`` wall-clock runs of a fresh process (the machines this
runs on are shared, and noise only ever adds time). The commands run as on a user's machine:
with Python's bytecode cache, which the first of them writes (``PYTHONDONTWRITEBYTECODE`` is
dropped from their environment; with it set, every start recompiles durablec's modules of an
editable install, about 60 ms). The target for `runs` and `trigger` is
0.25 s on a quiet machine; the rows say met or missed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TASKS = """
import durablec

@durablec.task(id="noop")
async def noop(n):
    return n
"""

TARGET = 0.25


def best(command: list[str], cwd: Path, env: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()}")
    return min(times)


def seed(cwd: Path, env: dict[str, str], count: int) -> None:
    """A journal of ``count`` pending runs of the task, written through Client.trigger."""
    code = (
        "import sys; sys.path.insert(0, '.')\n"
        "from durablec.compiler.importhook import install\n"
        "install(['.'])\n"
        "import tasks, durablec\n"
        "client = durablec.Client()\n"
        f"for n in range({count}):\n"
        "    client.trigger(tasks.noop, n)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=10_000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        cwd = Path(scratch)
        (cwd / "tasks.py").write_text(TASKS)
        env = dict(os.environ, DURABLEC_DATABASE_URL=f"sqlite:///{cwd / 'j.db'}")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        seed(cwd, env, options.runs)
        durablec = [sys.executable, "-m", "durablec"]
        rows = [
            ("python -c pass", best([sys.executable, "-c", "pass"], cwd, env, options.repeat), None),
            ("durablec --version", best([*durablec, "--version"], cwd, env, options.repeat), None),
            (f"durablec runs ({options.runs} runs)",
             best([*durablec, "runs"], cwd, env, options.repeat), TARGET),
            ("durablec trigger", best([*durablec, "trigger", "tasks.py:noop", "--args", "[1]"],
                                      cwd, env, options.repeat), TARGET),
        ]
    for name, seconds, target in rows:
        verdict = "" if target is None else (
            f"  target {target:.2f} s: {'met' if seconds <= target else 'missed'}")
        print(f"{name:<28} {seconds:6.3f} s{verdict}")


if __name__ == "__main__":
    main()
