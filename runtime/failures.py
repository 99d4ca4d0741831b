"""Failure payloads: how an exception is journaled so that replay can raise it again."""

from __future__ import annotations

from typing import Any

from durablec.errors import RecordedError
from durablec.runtime.serde import Codec

__all__ = ["dump_exception", "http_details"]


def dump_exception(codec: Codec, context: str, exc: BaseException) -> bytes:
    """Pickle an exception so replay can raise it again.

    Exceptions whose ``__init__`` takes other arguments than ``args`` (an HTTP error carrying
    its response) do not unpickle the usual way; they are rebuilt from type, args and
    attributes instead. One that still does not round-trip, or is over DURABLEC_MAX_PAYLOAD,
    becomes a RecordedError, its message clipped to fit: a failure is always journaled.
    """
    for candidate in (exc, _Rebuilt(exc)):
        try:
            payload = codec.dumps(candidate, context)
            codec.loads(payload, context)
            return payload
        except Exception:  # noqa: BLE001 - try the next, more tolerant, encoding
            continue
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    message = str(exc)
    room = codec.max_payload // 8  # characters: up to 4 bytes each, and the pickle around
    if len(message) > room:
        message = message[:room] + "… (clipped to fit DURABLEC_MAX_PAYLOAD)"
    return codec.dumps(RecordedError(name, message), context)


class _Rebuilt:
    """Pickles an exception as type + args + attributes, bypassing its ``__init__``."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        exc = self.exc
        return (_rebuild_exception, (type(exc), exc.args, dict(vars(exc))))


def _rebuild_exception(
    cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]
) -> BaseException:
    exc = cls.__new__(cls)
    exc.args = args
    vars(exc).update(state)
    return exc


def http_details(exc: BaseException) -> tuple[int | None, str | None]:
    """Status and body of an HTTP error that carries its response (httpx, requests, aiohttp)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    if status is None:
        status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    body: str | None = None
    try:
        text = getattr(response, "text", None)
        body = text if isinstance(text, str) else None
    except Exception:  # noqa: BLE001 - an unread streaming body is simply not recorded
        body = None
    return (status if isinstance(status, int) else None), (body[:10000] if body else None)
