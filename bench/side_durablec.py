"""One measurement of durablec in a fresh process: ``side_durablec.py CASE N DB_URL BUILD_DIR``.

The tasks come from ``BUILD_DIR`` (bench/durable_tasks.py compiled ahead of time by run.py), so
no compiler is loaded here. Cases: steps, blobs, three, crash (records a run and dies by SIGKILL
at its last step), recover (resumes that run), crash_large and recover_large (the same with
1 MiB results), transparent (no database).
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from child import emit, since_spawn, steady

RUN_ID = "bench-crash"
WARMUP_STEPS = 20


def _source_module() -> ModuleType:
    """bench/durable_tasks.py as written (not compiled), under another name."""
    path = Path(__file__).with_name("durable_tasks.py")
    spec = importlib.util.spec_from_file_location("durable_tasks_source", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _per_await(fn: Any, n: int, repeat: int = 5) -> float:
    """Best µs per await of ``fn(n)`` (a loop of n awaits) outside any durable run."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        await fn(n)
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


async def main(case: str, n: int, db: str) -> None:
    import durablec
    from durablec.runtime.runner import journal_for

    import durable_tasks as tasks

    if case == "transparent":
        plain = _source_module()
        emit(baseline_us=await _per_await(plain.steps.fn, n),
             compiled_us=await _per_await(tasks.steps.fn, n))
        return
    journal_for(db)  # the schema is created before timing
    if case in ("recover", "recover_large"):
        resume = time.perf_counter()
        await durablec.arun(tasks.crash if case == "recover" else tasks.crash_large, n, db=db,
                            run_id=RUN_ID)
        replay = time.perf_counter() - resume
        emit(total_s=since_spawn(), replay_s=replay, steps_per_s=n / replay)
        return
    if case in ("crash", "crash_large"):
        await durablec.arun(tasks.crash if case == "crash" else tasks.crash_large, n, db=db,
                            run_id=RUN_ID)
        raise SystemExit("the crash run was meant to be killed at its last step")
    await durablec.arun(tasks.steps, WARMUP_STEPS, db=db)
    steady()
    start = time.perf_counter()
    if case == "steps":
        await durablec.arun(tasks.steps, n, db=db)
        emit(us_per_step=(time.perf_counter() - start) / n * 1e6)
    elif case == "blobs":
        await durablec.arun(tasks.blobs, n, db=db)
        emit(us_per_step=(time.perf_counter() - start) / n * 1e6)
    elif case == "three":
        await asyncio.gather(*(durablec.arun(tasks.three, i, db=db) for i in range(n)))
        emit(runs_per_s=n / (time.perf_counter() - start))
    else:
        raise SystemExit(f"unknown case {case!r}")


if __name__ == "__main__":
    case, count, url, build = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    sys.path.insert(0, build)
    asyncio.run(main(case, count, url))
