"""A task per construct the runtime replays differently (helpers, gathers, async for/with, retries
of a step and of the body, @durablec.step, a failed run), for replay checks without false alarms."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import durablec
from durablec import Retry, task

COUNTS: dict[str, int] = {}


def _count(name: str) -> int:
    COUNTS[name] = COUNTS.get(name, 0) + 1
    return COUNTS[name]


async def fetch(n: int) -> int:
    return n


async def flaky(name: str) -> str:
    if _count(name) == 1:
        raise ConnectionError("first attempt fails")
    return name


async def helper(n: int) -> int:
    a = await fetch(n)
    b = await fetch(n + 1)
    return a + b


class Resource:
    async def __aenter__(self) -> Resource:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def get(self, n: int) -> int:
        return n * 2


async def items(count: int) -> AsyncIterator[int]:
    for n in range(count):
        yield await fetch(n)


@durablec.step(retry=Retry.fixed(0, max_attempts=3))
async def unit(name: str) -> str:
    if _count(name) == 1:
        raise ConnectionError("first attempt fails")
    return name


@task(id="constructs", retry=Retry.fixed(0, max_attempts=3))
async def constructs(tag: str) -> list[Any]:
    out: list[Any] = [await helper(1)]
    out.append(await asyncio.gather(helper(10), fetch(20)))
    async with Resource() as resource:
        out.append(await resource.get(3))
    async for item in items(3):
        out.append(item)
    out.append(await flaky(f"{tag}/step"))
    out.append(await unit(f"{tag}/unit"))
    status = await fetch(503 if _count(f"{tag}/body") == 1 else 200)
    if status != 200:
        raise RuntimeError("the body raises after a step: retried from its last checkpoint")
    await durablec.sleep(5)
    return out


@task(id="fails", retry=Retry.none())
async def fails() -> None:
    await fetch(1)
    raise ValueError("always")
