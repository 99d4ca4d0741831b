"""Inside a run, every compiled await reaches the active Scope with its site; outside, none do."""

from __future__ import annotations

import asyncio
import types
from collections.abc import AsyncIterable, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from durablec.compiler.pipeline import compile_source
from durablec.runtime import abi

SOURCE = '''import asyncio
from contextlib import asynccontextmanager


@asynccontextmanager
async def opened():
    yield "resource"


async def numbers():
    yield 1
    yield 2


async def task(x):
    a = await asyncio.sleep(0, x)
    b = await asyncio.sleep(0, a + 1) if a else await asyncio.sleep(0, -1)
    coroutine = asyncio.sleep(0, "bare")
    c = await coroutine
    total = 0
    async for n in numbers():
        total += n
    async with opened() as r:
        pass
    await asyncio.wait([asyncio.ensure_future(asyncio.sleep(0))])
    assert [await f for f in asyncio.as_completed([asyncio.sleep(0, 7)])] == [7]
    return a, b, c, total, r
'''


class RecordingScope:
    """Runs everything live and records which entry point saw which site."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, abi.Site]] = []

    def checkpoint(self, site: abi.Site, fn: Callable[..., Awaitable[Any]],
                   args: tuple[Any, ...], kwargs: dict[str, Any]) -> Awaitable[Any]:
        self.seen.append(("ckpt", site))
        return fn(*args, **kwargs)

    def await_(self, site: abi.Site, awaitable: Awaitable[Any]) -> Awaitable[Any]:
        self.seen.append(("aw", site))
        return awaitable

    def aiter(self, site: abi.Site, iterable: AsyncIterable[Any]) -> AsyncIterable[Any]:
        self.seen.append(("aiter", site))
        return iterable

    def actx(self, site: abi.Site, cm: AbstractAsyncContextManager[Any]) -> AbstractAsyncContextManager[Any]:
        self.seen.append(("actx", site))
        return cm

    def race(self, site: abi.Site, fn: Callable[..., Any], args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> Any:
        self.seen.append(("race", site))
        return fn(*args, **kwargs)


def _load() -> types.ModuleType:
    module = types.ModuleType("routed")
    exec(compile(compile_source(SOURCE, "routed.py", lint=False).code, "routed.py", "exec"), module.__dict__)
    return module


def test_every_await_reaches_the_scope_in_order() -> None:
    module = _load()
    scope = RecordingScope()

    async def in_run() -> Any:
        token = abi.active_scope.set(scope)
        try:
            return await module.task(1)
        finally:
            abi.active_scope.reset(token)

    assert asyncio.run(in_run()) == (1, 2, "bare", 3, "resource")
    assert [(kind, abi.site_callee(site), site[1]) for kind, site in scope.seen] == [
        ("ckpt", "asyncio.sleep", 16),
        ("ckpt", "asyncio.sleep", 17),
        ("aw", "coroutine", 19),
        ("aiter", "numbers()", 21),
        ("actx", "opened()", 23),
        ("race", "asyncio.wait", 25),
        ("race", "asyncio.as_completed", 26),
        ("aw", "f", 26),
    ]


def test_outside_a_run_nothing_reaches_a_scope() -> None:
    module = _load()
    assert abi.active_scope.get() is None
    assert asyncio.run(module.task(0)) == (0, -1, "bare", 3, "resource")


def test_code_point_callee_decodes() -> None:
    assert abi.site_callee(((100, 91, 39, 107, 39, 93), 3, 4)) == "d['k']"
    assert abi.site_callee(("payments.charge", 3, 4)) == "payments.charge"

