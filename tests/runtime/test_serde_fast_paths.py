"""The hot path's shortcuts give what the general code gives: same digests, same pickles."""

from __future__ import annotations

import hashlib
from typing import Any

import cloudpickle
import pytest

from durablec.runtime.serde import Codec, _canon, canonical_digest, preview

SCALAR_ARGS = [(), (1,), (1, "x", None, 2.5, b"q", True, 1j), ("é\ud800",), (-0.0, 10**30)]


def _general_digest(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts: list[str] = []
    _canon(args, parts, 0)
    _canon(kwargs, parts, 0)
    return hashlib.sha256("".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


@pytest.mark.parametrize("args", SCALAR_ARGS)
def test_scalar_digest_matches_the_general_path(args: tuple[Any, ...]) -> None:
    # Journals recorded before the fast path existed must still verify.
    assert canonical_digest(args, {}) == _general_digest(args, {})


@pytest.mark.parametrize(
    "value", [None, 7, "text", b"\x00" * 10240, 1.5, ((1, "a"), {}), [1, [2]], {"k": (1, None)}]
)
def test_plain_values_pickle_as_cloudpickle_does(value: object) -> None:
    assert Codec().dumps(value, "r/0") == b"P" + cloudpickle.dumps(value)


def test_preview_of_a_long_payload_is_short() -> None:
    text = preview(b"x" * 10240)
    assert len(text) == 200 and text.startswith("b'xxx") and text.endswith("…")
