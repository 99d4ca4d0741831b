"""The names compiled code calls: the stable ABI between durablec's compiler and its runtime.

The compiler binds these names once per module, in a prelude statement placed on an existing line
(so line numbers do not move)::

    from durablec.runtime.abi import ckpt as __dc_ckpt__, aw as __dc_aw__, \
        aiter as __dc_aiter__, actx as __dc_actx__

and rewrites every ``await`` into one of four shapes:

=====================================  ===============================================
source                                 compiled
=====================================  ===============================================
``await f(a, *b, k=c)``                ``await __dc_ckpt__(SITE, f, a, *b, k=c)``
``await expr`` (not a call)            ``await __dc_aw__(SITE, expr)``
``async for x in it:``                 ``async for x in __dc_aiter__(SITE, it):``
``async with cm as x:``                ``async with __dc_actx__(SITE, cm) as x:``
=====================================  ===============================================

and the completion-order calls whose order the runtime journals (the compiler resolves them by
qualified name, as the linter does; DC303 reports the forms it leaves alone)::

    asyncio.as_completed(fs)          ->  __dc_race__(SITE, asyncio.as_completed, fs)
    await asyncio.wait(fs, **kw)      ->  await __dc_race__(SITE, asyncio.wait, fs, **kw)

``SITE`` is a tuple of constants (folded by CPython into one constant, so it costs nothing):
``(callee, line, column)`` where ``callee`` is the normalized source text of the awaited callee
(``"payments.charge"``, as ``ast.unparse`` spells it, so formatting and comments never change it)
and line and column (both 1-based, as editors show them) locate the ``await``, ``async for`` or
``async with`` item in the *source*. Inside f-string expressions, where Python 3.11 forbids some quotes and every backslash,
the callee text may instead be a tuple of code points; :func:`site_callee` decodes either form.

Outside a durable run each entry returns exactly what the source would have awaited, iterated or
entered, so compiled code behaves like the source (SPEC 3.6). Inside a run the active
:class:`Scope` decides: run live and journal, or return the recorded outcome.

This module must stay import-light: compiled modules import it, and it never imports the
compiler or libcst.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from typing import Any, Final, Protocol, TypeVar

__all__ = [
    "ABI_VERSION",
    "ABI_NAMES",
    "Scope",
    "Site",
    "actx",
    "active_scope",
    "aiter",
    "aw",
    "ckpt",
    "race",
    "site_callee",
]

ABI_VERSION: Final = 2
"""Bumped only when compiled output changes shape; old names are kept so old builds still run.
2: ``race`` (a module calling ``asyncio.wait``/``as_completed`` compiles differently, so caches
keyed by this version recompile it)."""

ABI_NAMES: Final = ("ckpt", "aw", "aiter", "actx", "race")
"""The entry points a compiled module imports, in prelude order."""

Site = tuple[str | tuple[int, ...], int, int]
"""``(callee, line, column)`` of an await in the source; see the module docstring."""

T = TypeVar("T")


class Scope(Protocol):
    """What the runtime provides while a durable run is executing on this context."""

    def checkpoint(
        self, site: Site, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Awaitable[Any]: ...

    def await_(self, site: Site, awaitable: Awaitable[Any]) -> Awaitable[Any]: ...

    def aiter(self, site: Site, iterable: AsyncIterable[Any]) -> AsyncIterable[Any]: ...

    def actx(
        self, site: Site, cm: AbstractAsyncContextManager[Any]
    ) -> AbstractAsyncContextManager[Any]: ...

    def race(
        self, site: Site, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any: ...


active_scope: ContextVar[Scope | None] = ContextVar("durablec_active_scope", default=None)
"""The scope of the durable run executing on this context, or None outside any run."""

_get_scope = active_scope.get


def ckpt(site: Site, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> Awaitable[T]:
    """``await fn(*args, **kwargs)`` as a checkpoint. Positional-only so no keyword can clash."""
    scope = _get_scope()
    if scope is None:
        return fn(*args, **kwargs)
    return scope.checkpoint(site, fn, args, kwargs)


def aw(site: Site, awaitable: Awaitable[T], /) -> Awaitable[T]:
    """``await awaitable`` for an awaited expression that is not a call."""
    scope = _get_scope()
    if scope is None:
        return awaitable
    return scope.await_(site, awaitable)


def aiter(site: Site, iterable: AsyncIterable[T], /) -> AsyncIterable[T]:
    """The iterable of an ``async for``: in a run each item is a checkpoint."""
    scope = _get_scope()
    if scope is None:
        return iterable
    return scope.aiter(site, iterable)


def actx(site: Site, cm: AbstractAsyncContextManager[T], /) -> AbstractAsyncContextManager[T]:
    """The context manager of an ``async with``: in a run enter and exit are checkpoints."""
    scope = _get_scope()
    if scope is None:
        return cm
    return scope.actx(site, cm)


def race(site: Site, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` for ``asyncio.as_completed`` and ``asyncio.wait``: in a run the
    order in which the children complete is journaled and replayed (runtime/completion.py)."""
    scope = _get_scope()
    if scope is None:
        return fn(*args, **kwargs)
    return scope.race(site, fn, args, kwargs)  # type: ignore[no-any-return]  # fn's own result type, in a run as outside


def site_callee(site: Site) -> str:
    """The callee text of a site, whichever of its two encodings the compiler chose."""
    callee = site[0]
    return callee if isinstance(callee, str) else "".join(map(chr, callee))
