"""durablec's side of the workload: compiled by bench/run.py before any timing.

Each ``await`` below is a checkpoint once compiled; the uncompiled module is the no-durability
baseline and the reference for the transparent cost.
"""

from __future__ import annotations

from durablec import task
from workload import blob, kill_if_asked, large, noop


@task(id="bench.steps")
async def steps(n: int) -> int:
    total = 0
    for i in range(n):
        total += await noop(i)
    return total


@task(id="bench.blobs")
async def blobs(n: int) -> int:
    size = 0
    for i in range(n):
        size += len(await blob(i))
    return size


@task(id="bench.three")
async def three(i: int) -> int:
    a = await noop(i)
    b = await noop(a)
    return await noop(b)


@task(id="bench.crash_large")
async def crash_large(n: int) -> int:
    size = 0
    for i in range(n):
        size += len(await large(i))
    await kill_if_asked()
    return size


@task(id="bench.crash")
async def crash(n: int) -> int:
    total = 0
    for i in range(n):
        total += await noop(i)
    await kill_if_asked()
    return total
