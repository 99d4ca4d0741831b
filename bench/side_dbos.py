"""One measurement of DBOS Transact in a fresh process: ``side_dbos.py CASE N DB_URL``.

DBOS runs as it ships: its own configuration defaults, its SQLite settings (rollback journal,
synchronous=FULL) and its own recovery on launch. The workload is bench/durable_tasks.py's,
written with DBOS's decorators around the same step bodies (bench/workload.py).
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from dbos import DBOS, DBOSConfig, SetWorkflowID

import workload
from child import emit, since_spawn, steady

WORKFLOW_ID = "bench-crash"
WARMUP_STEPS = 20


@DBOS.step()
async def noop(i: int) -> int:
    return await workload.noop(i)


@DBOS.step()
async def blob(i: int) -> bytes:
    return await workload.blob(i)


@DBOS.step()
async def large(i: int) -> bytes:
    return await workload.large(i)


@DBOS.step()
async def kill_if_asked() -> None:
    await workload.kill_if_asked()


@DBOS.workflow()
async def steps(n: int) -> int:
    total = 0
    for i in range(n):
        total += await noop(i)
    return total


@DBOS.workflow()
async def blobs(n: int) -> int:
    size = 0
    for i in range(n):
        size += len(await blob(i))
    return size


@DBOS.workflow()
async def three(i: int) -> int:
    a = await noop(i)
    b = await noop(a)
    return await noop(b)


@DBOS.workflow()
async def crash(n: int) -> int:
    total = 0
    for i in range(n):
        total += await noop(i)
    await kill_if_asked()
    return total


@DBOS.workflow()
async def crash_large(n: int) -> int:
    size = 0
    for i in range(n):
        size += len(await large(i))
    await kill_if_asked()
    return size


async def main(case: str, n: int) -> None:
    if case in ("recover", "recover_large"):
        # DBOS.launch() found the pending run and recovers it on its own; wait for its result.
        handle: Any = await DBOS.retrieve_workflow_async(WORKFLOW_ID)
        resume = time.perf_counter()
        await handle.get_result()
        replay = time.perf_counter() - resume
        emit(total_s=since_spawn(), replay_s=replay, steps_per_s=n / replay)
        return
    if case in ("crash", "crash_large"):
        with SetWorkflowID(WORKFLOW_ID):
            await (crash if case == "crash" else crash_large)(n)
        raise SystemExit("the crash run was meant to be killed at its last step")
    await steps(WARMUP_STEPS)
    steady()
    start = time.perf_counter()
    if case == "steps":
        await steps(n)
        emit(us_per_step=(time.perf_counter() - start) / n * 1e6)
    elif case == "blobs":
        await blobs(n)
        emit(us_per_step=(time.perf_counter() - start) / n * 1e6)
    elif case == "three":
        handles = await asyncio.gather(*(DBOS.start_workflow_async(three, i) for i in range(n)))
        await asyncio.gather(*(handle.get_result() for handle in handles))
        emit(runs_per_s=n / (time.perf_counter() - start))
    else:
        raise SystemExit(f"unknown case {case!r}")


if __name__ == "__main__":
    case, count, url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    config: DBOSConfig = {"name": "durablec-bench", "system_database_url": url}
    DBOS(config=config)
    DBOS.launch()
    try:
        asyncio.run(main(case, count))
    finally:
        DBOS.destroy()
