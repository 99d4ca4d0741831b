"""Journaling live objects that carry data: what a task reads from them is recorded, not the object.

Some awaited calls hand back an object that cannot be pickled yet carries the outcome of a side
effect: a streamed model completion (``await client.chat.completions.create(..., stream=True)``),
a database cursor after an ``INSERT``, an SQLAlchemy ``Result``, the receiver itself for fluent
APIs (``await cur.execute(...)`` returns ``cur``). :func:`capture` turns such a value into a
:class:`Recorded` that pickles, and tells the engine which object the task gets now; on replay the
engine calls :meth:`Recorded.restore` and the task gets a stand-in without the call running again:

- the receiver of the call (``returns self``): the same live object of this execution;
- an SQLAlchemy ``Result``: its rows, frozen (``Result.freeze()``), as a new ``Result``;
- an async iterable (a stream, a cursor): a :class:`StreamStandIn` with the plain attributes the
  live object had (``rowcount``, ``lastrowid``, ...). Iterating it is journaled item by item by the
  ``async for`` that consumes it, so a replay never needs it; a stream that was interrupted by a
  crash is requested again and the items already consumed are skipped (at-least-once, like any
  step that was in flight);
- asyncpg ``Record`` rows (``await conn.fetch(...)``, ``fetchrow``), which do not pickle: their
  names and values, replayed as :class:`ReplayedRecord` rows that read like them;
- a value that pickles but loses its unread stream on the way (an httpx ``Response`` entered with
  ``async with client.stream(...)``, see :func:`reread`): the pickled value, whose stream readers
  (``aiter_bytes()``, ...) request the stream again when a replay must read past what was
  journaled.

Anything else that does not pickle is refused with an error naming the fix (engine.py).
"""

from __future__ import annotations

import pickle
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Final

__all__ = ["Recorded", "ReplayedRecord", "Reread", "StreamStandIn", "capture", "reread"]

Reopen = Callable[[], Awaitable[Any]]
"""Obtains the live object again (calls the callee, enters the context manager)."""

_STREAM_ATTRIBUTES: Final = {
    "aiosqlite.cursor.Cursor": ("rowcount", "lastrowid", "description", "arraysize"),
}
"""Properties worth keeping per class, beyond the plain values in the instance's ``__dict__``."""


class Recorded:
    """The journaled form of a live value; ``restore`` gives the task its stand-in on replay."""

    def restore(self, reopen: Reopen | None, receiver: object) -> Any:
        raise NotImplementedError


_UNREAD: Final[dict[str, Callable[[Any], bool]]] = {
    "httpx.Response": lambda response: not response.is_stream_consumed,
}
"""Classes that pickle without their unread stream, and whether a value's stream is unread."""

_STREAM_READERS: Final = frozenset({"aiter_bytes", "aiter_text", "aiter_lines", "aiter_raw"})

_UNREAD_CACHE: dict[type, Callable[[Any], bool] | None] = {}


def reread(value: Any) -> Recorded | None:
    """The record of a value whose pickle would drop an unread stream, or None (pickle it)."""
    cls = type(value)
    if cls not in _UNREAD_CACHE:
        _UNREAD_CACHE[cls] = next(
            (_UNREAD[f"{base.__module__}.{base.__qualname__}"] for base in cls.__mro__
             if f"{base.__module__}.{base.__qualname__}" in _UNREAD), None)
    unread = _UNREAD_CACHE[cls]
    return _Unread(value) if unread is not None and unread(value) else None


class _Unread(Recorded):
    def __init__(self, value: Any) -> None:
        self.value = value

    def restore(self, reopen: Reopen | None, receiver: object) -> Any:
        return Reread(self.value, reopen)


class Reread:
    """A replayed value whose stream was not journaled as a whole: its pickled attributes, and
    stream readers that obtain the live value again (``reopen``) when they are iterated."""

    def __init__(self, value: Any, reopen: Reopen | None) -> None:
        self._value = value
        self._reopen = reopen

    def __getattr__(self, name: str) -> Any:
        if name in _STREAM_READERS:
            return lambda *args, **kwargs: _Reread(self._reopen, name, args, kwargs)
        if name == "aread":
            return self._aread
        return getattr(self._value, name)

    async def _aread(self) -> Any:
        """``await replayed.aread()`` that was not journaled (it was in flight): read it again."""
        if self._reopen is None:
            raise RuntimeError("a replayed stream cannot be read again with `aread()`")
        live = await self._reopen()
        return await live.aread()

    def __repr__(self) -> str:
        return f"<replayed {self._value!r}>"


class _Reread:
    """``replayed.aiter_bytes()``: iterating it reopens the live value and reads from it."""

    def __init__(self, reopen: Reopen | None, name: str, args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:
        self._reopen = reopen
        self._call = (name, args, kwargs)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        if self._reopen is None:
            raise RuntimeError(f"a replayed stream cannot be read again with `{self._call[0]}()`")
        name, args, kwargs = self._call
        live = await self._reopen()
        async for item in getattr(live, name)(*args, **kwargs):
            yield item


class _Receiver(Recorded):
    def restore(self, reopen: Reopen | None, receiver: object) -> Any:
        return receiver


class _FrozenResult(Recorded):
    def __init__(self, frozen: Any) -> None:
        self.frozen = frozen

    def restore(self, reopen: Reopen | None, receiver: object) -> Any:
        return self.frozen()


class _Stream(Recorded):
    def __init__(self, type_name: str, attributes: dict[str, Any], methods: frozenset[str]) -> None:
        self.type_name = type_name
        self.attributes = attributes
        self.methods = methods

    def restore(self, reopen: Reopen | None, receiver: object) -> Any:
        return StreamStandIn(self, reopen)


class StreamStandIn:
    """What replay hands back for a stream: its recorded attributes, and iteration on demand."""

    def __init__(self, record: _Stream, reopen: Reopen | None) -> None:
        self._record = record
        self._reopen = reopen

    def __getattr__(self, name: str) -> Any:
        record = self._record
        if name in record.attributes:
            return record.attributes[name]
        if name in record.methods:
            return _ReplayOnly(record.type_name, name)
        raise AttributeError(
            f"a replayed {record.type_name} has no recorded attribute {name!r}: only its plain "
            "attributes, its iteration and its awaited method calls are journaled. Read what "
            "you need inside a `@durablec.step` helper that returns it as data"
        )

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        if self._reopen is None:
            raise RuntimeError(
                f"a replayed {self._record.type_name} cannot be iterated live again: iterate it "
                "with `async for` in the task (each item is then journaled)"
            )
        live = await self._reopen()
        async for item in live:
            yield item

    def __repr__(self) -> str:
        return f"<replayed {self._record.type_name}>"


class _ReplayOnly:
    """A method of a replayed stand-in: awaited in compiled code it is replayed, never called."""

    def __init__(self, type_name: str, name: str) -> None:
        self._where = f"{type_name}.{name}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            f"`{self._where}()` was called on a replayed stand-in outside a checkpoint, so there "
            "is no recorded outcome to return: await it in compiled code (a checkpoint), or do "
            "this work inside a `@durablec.step` helper"
        )


class _Records(Recorded):
    def __init__(self, rows: list[tuple[tuple[str, ...], tuple[Any, ...]]], single: bool) -> None:
        self.rows = rows
        self.single = single

    def restore(self, reopen: Reopen | None, receiver: object) -> Any:
        rows = [ReplayedRecord(names, values) for names, values in self.rows]
        return rows[0] if self.single else rows


class ReplayedRecord:
    """A replayed asyncpg ``Record``: items by position and by name, ``get``, ``keys()``,
    ``values()``, ``items()``, iteration over the values and ``dict(row)``, as the original."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: tuple[str, ...], values: tuple[Any, ...]) -> None:
        self._names = names
        self._values = values

    def __getitem__(self, item: int | slice | str) -> Any:
        if isinstance(item, str):
            try:
                return self._values[self._names.index(item)]
            except ValueError:
                raise KeyError(item) from None
        return self._values[item]

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self._names else default

    def keys(self) -> Iterator[str]:
        return iter(self._names)

    def values(self) -> Iterator[Any]:
        return iter(self._values)

    def items(self) -> Iterator[tuple[str, Any]]:
        return zip(self._names, self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReplayedRecord | tuple) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        return "<Record " + " ".join(f"{k}={v!r}" for k, v in self.items()) + ">"


def _is_record(value: object) -> bool:
    cls = type(value)
    return cls.__qualname__ == "Record" and cls.__module__.startswith("asyncpg")


def capture(value: Any, receiver: object) -> tuple[Recorded, Any] | None:
    """``(what to journal, what the task gets now)`` for a live value, or None if it is not one."""
    if receiver is not None and value is receiver:
        return _Receiver(), value
    if _is_record(value) or (isinstance(value, list) and value and all(map(_is_record, value))):
        rows = [value] if _is_record(value) else value
        return _Records([(tuple(row.keys()), tuple(row.values())) for row in rows],
                        single=_is_record(value)), value
    names = [f"{cls.__module__}.{cls.__qualname__}" for cls in type(value).__mro__]
    if any(name.startswith("sqlalchemy.engine.result.") or name.startswith("sqlalchemy.engine.cursor.")
           for name in names) and hasattr(value, "freeze"):
        if not getattr(value, "returns_rows", True):
            # An INSERT/UPDATE without RETURNING: no rows to freeze; what the task can read is
            # how many rows it touched (and the new primary key of a single-row INSERT).
            return _Stream(names[0], _plain_attributes(value, _NO_ROWS_ATTRIBUTES), frozenset()), value
        frozen = value.freeze()
        return _FrozenResult(frozen), frozen()
    if hasattr(value, "__aiter__"):
        extra = next((_STREAM_ATTRIBUTES[name] for name in names if name in _STREAM_ATTRIBUTES), ())
        return _Stream(names[0], _plain_attributes(value, extra), _methods(value)), value
    return None


_NO_ROWS_ATTRIBUTES: Final = ("rowcount", "inserted_primary_key", "lastrowid")


def _plain_attributes(value: Any, extra: tuple[str, ...]) -> dict[str, Any]:
    """Public attributes that pickle: the instance's own, and the named properties."""
    found: dict[str, Any] = {}
    candidates = [(name, item) for name, item in getattr(value, "__dict__", {}).items()
                  if not name.startswith("_")]
    for name in extra:
        try:
            candidates.append((name, getattr(value, name)))
        except Exception:  # noqa: BLE001 - a property that cannot be read now is not recorded
            continue
    for name, item in candidates:
        try:
            pickle.dumps(item)
        except Exception:  # noqa: BLE001 - what does not pickle stays live-only
            continue
        found[name] = item
    return found


def _methods(value: Any) -> frozenset[str]:
    return frozenset(name for name in dir(type(value))
                     if not name.startswith("_") and callable(getattr(type(value), name, None)))
