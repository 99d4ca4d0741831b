"""Journal payloads: cloudpickle, optional HMAC signing, canonical argument digests, previews.

A payload is one tag byte then the body: ``P`` plain pickle, ``S`` a 32-byte HMAC-SHA256 then the
pickle. The MAC covers the row's identity (run id and step key) as well as the pickle, so a valid
payload cannot be moved to another row. With ``DURABLEC_SECRET`` set every payload is signed and
an unsigned or mis-signed one is refused before it is unpickled (unpickling runs code).

A pickle larger than ``DURABLEC_MAX_PAYLOAD`` bytes (16 MiB by default) is refused when it is
recorded: a journal row that size slows every replay of the run and strains the database.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import re
from typing import Any, Final

import cloudpickle

from durablec.errors import ConfigError, PayloadTooLargeError, TamperedPayloadError
from durablec.runtime.resources import is_resource

__all__ = ["DEFAULT_MAX_PAYLOAD", "Codec", "canonical_digest", "preview"]

DEFAULT_MAX_PAYLOAD: Final = 16 * 1024 * 1024

_PLAIN: Final = b"P"
_SIGNED: Final = b"S"
_MAC_LEN: Final = 32
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


_PROTOCOL: Final = cloudpickle.DEFAULT_PROTOCOL
_ATOMS: Final = frozenset({type(None), bool, int, float, str, bytes})


def _plain(obj: object, depth: int) -> bool:
    """Built-in scalars, and tuples, lists and dicts of them ``depth`` levels deep: what the
    standard pickler writes exactly as cloudpickle does (it differs only for code and classes)."""
    cls = type(obj)
    if cls in _ATOMS:
        return True
    if depth == 0:
        return False
    # Loops that test scalars in place, not all() over generators: every step's arguments and
    # result come through here, and most items are scalars.
    if cls is tuple or cls is list:
        for item in obj:  # type: ignore[attr-defined]  # checked above
            if type(item) not in _ATOMS and not _plain(item, depth - 1):
                return False
        return True
    if cls is dict:
        for key, value in obj.items():  # type: ignore[attr-defined]  # checked above
            if type(key) not in _ATOMS or (type(value) not in _ATOMS
                                           and not _plain(value, depth - 1)):
                return False
        return True
    return False


class Codec:
    """Serializes and signs journal payloads with one secret (or none), up to a size limit."""

    __slots__ = ("_secret", "max_payload")

    def __init__(self, secret: str | None = None, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        self._secret = secret.encode() if secret else None
        self.max_payload = max_payload

    @classmethod
    def from_env(cls) -> Codec:
        text = os.environ.get("DURABLEC_MAX_PAYLOAD")
        limit = DEFAULT_MAX_PAYLOAD
        if text:
            try:
                limit = int(text)
            except ValueError:
                limit = 0
            if limit <= 0:
                raise ConfigError(
                    f"DURABLEC_MAX_PAYLOAD={text!r} is not a positive number of bytes; set it to "
                    f"e.g. {DEFAULT_MAX_PAYLOAD} (16 MiB, the default) or unset it"
                )
        return cls(os.environ.get("DURABLEC_SECRET") or None, limit)

    def dumps(self, obj: object, context: str) -> bytes:
        """Pickle ``obj``; raises whatever pickling raises (the caller names the site), or
        PayloadTooLargeError over the size limit."""
        # Plain data pickles to the same bytes either way; the stdlib pickler is cheaper to start.
        body = pickle.dumps(obj, _PROTOCOL) if _plain(obj, 2) else cloudpickle.dumps(obj)
        if len(body) > self.max_payload:
            raise PayloadTooLargeError(context, len(body), self.max_payload)
        if self._secret is None:
            return _PLAIN + body
        return _SIGNED + self._mac(context, body) + body

    def loads(self, payload: bytes, context: str) -> Any:
        return cloudpickle.loads(self.verified(payload, context))

    def loads_step(self, payload: bytes, run_id: str, key: str) -> Any:
        """``loads`` of a step's payload, whose context text is built only when a check needs
        it: replay loads one per step."""
        if self._secret is None and payload[:1] == _PLAIN:
            return cloudpickle.loads(payload[1:])
        return self.loads(payload, f"{run_id}/{key}")

    def verified(self, payload: bytes, context: str) -> bytes:
        """The pickle inside ``payload`` once its signature checks out (nothing is unpickled);
        TamperedPayloadError, saying why, otherwise."""
        tag, body = payload[:1], payload[1:]
        if tag == _SIGNED:
            if self._secret is None:
                raise TamperedPayloadError(
                    f"journal payload of {context} is signed but DURABLEC_SECRET is not set; "
                    "set it to the secret the run was recorded with"
                )
            mac, body = body[:_MAC_LEN], body[_MAC_LEN:]
            if not hmac.compare_digest(mac, self._mac(context, body)):
                raise TamperedPayloadError(
                    f"journal payload of {context} fails its HMAC check: the row was altered or "
                    "signed with another DURABLEC_SECRET; it was not unpickled. Restore the row "
                    "from a backup, or set DURABLEC_SECRET to the secret it was signed with"
                )
        elif tag == _PLAIN:
            if self._secret is not None:
                raise TamperedPayloadError(
                    f"journal payload of {context} is not signed but DURABLEC_SECRET is set; "
                    "refusing to unpickle it (unset the secret only if you trust this database)"
                )
        else:
            raise TamperedPayloadError(
                f"journal payload of {context} has an unknown format: the row was altered or "
                "written by another program; it was not unpickled. Restore it from a backup"
            )
        return body

    def _mac(self, context: str, body: bytes) -> bytes:
        assert self._secret is not None
        mac = hmac.new(self._secret, context.encode(), hashlib.sha256)
        mac.update(b"\0")
        mac.update(body)
        return mac.digest()


_SCALARS: Final = frozenset({type(None), bool, int, float, complex, str, bytes})


def canonical_digest(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """A digest of the arguments' meaning, stable across processes and pickle versions.

    Built from a canonical text (dict keys sorted, sets sorted, objects by type and attributes,
    memory addresses removed) rather than from pickle bytes, which change with protocol, memo
    order and hash seeds and would raise false alarms.
    """
    if not kwargs and len(args) == 1 and type(args[0]) in _SCALARS:
        # The fast paths (replay checks every step): the same text _canon builds.
        text = "tuple[%s:%r,]dict{}" % (type(args[0]).__name__, args[0])  # noqa: UP031 - fastest
    elif not kwargs and _SCALARS.issuperset(map(type, args)):
        text = "tuple[" + "".join([type(a).__name__ + ":" + repr(a) + "," for a in args]) + "]dict{}"
    else:
        parts: list[str] = []
        _canon(args, parts, 0)
        _canon(kwargs, parts, 0)
        text = "".join(parts)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


_MAX_DEPTH: Final = 20


def _canon(obj: object, out: list[str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        out.append("…")
        return
    cls = type(obj)
    if cls in _SCALARS:  # the common case first, spelled as the isinstance branch below spells it
        out.append(cls.__name__ + ":" + repr(obj))
        return
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
        out.append(type(obj).__name__ + ":" + repr(obj))
    elif isinstance(obj, (list, tuple)):
        out.append(type(obj).__name__ + "[")
        for item in obj:
            _canon(item, out, depth + 1)
            out.append(",")
        out.append("]")
    elif isinstance(obj, dict):
        items = sorted(((_text(k, depth), v) for k, v in obj.items()), key=lambda kv: kv[0])
        out.append("dict{")
        for key, value in items:
            out.append(key + "=")
            _canon(value, out, depth + 1)
            out.append(",")
        out.append("}")
    elif isinstance(obj, (set, frozenset)):
        out.append(type(obj).__name__ + "{" + ",".join(sorted(_text(i, depth) for i in obj)) + "}")
    elif hasattr(obj, "cr_code"):
        # A coroutine handed to gather: its identity is the function it runs.
        out.append("coroutine:" + obj.cr_code.co_qualname)
    elif cls.__module__.startswith("sqlalchemy.sql.") and hasattr(obj, "compile"):
        # An SQLAlchemy statement: its attributes hold caches and counters that differ between
        # processes; its meaning is the SQL it compiles to and the values bound to it.
        compiled = obj.compile()
        out.append(cls.__qualname__ + "(" + _ADDRESS.sub("", str(compiled)) + ")")
        _canon(dict(compiled.params), out, depth + 1)
    elif is_resource(obj):
        # A client or connection handed to a helper: plumbing, a new one in each execution, its
        # state (pool, cookies, headers) no part of the call's meaning.
        out.append("resource:" + cls.__module__ + "." + cls.__qualname__)
    elif hasattr(obj, "__dict__") and not callable(obj):
        out.append(type(obj).__qualname__ + "(")
        _canon(vars(obj), out, depth + 1)
        out.append(")")
    else:
        out.append(_ADDRESS.sub("", repr(obj)))


def _text(obj: object, depth: int) -> str:
    parts: list[str] = []
    _canon(obj, parts, depth + 1)
    return "".join(parts)


def preview(obj: object, limit: int = 200) -> str:
    """A short repr for the timeline; never raises."""
    if isinstance(obj, (str, bytes)) and len(obj) > limit:
        # Only the start shows: a 10 KB result is not repr'd whole to keep 200 characters of it.
        return repr(obj[:limit])[: limit - 1] + "…"
    try:
        text = repr(obj)
    except Exception as exc:  # noqa: BLE001 - a broken __repr__ must not fail the step
        text = f"<{type(obj).__qualname__}: repr failed: {type(exc).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"
