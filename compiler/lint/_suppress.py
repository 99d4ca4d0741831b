"""``# durablec: allow[CODE, ...]`` comments: where they are and which codes they name."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Suppression", "suppressions"]

_SUPPRESSION = re.compile(r"#\s*durablec:\s*allow\[([^\]\n]*)\]")


@dataclass(frozen=True, slots=True)
class Suppression:
    """One code named in one suppression comment."""

    code: str
    line: int
    column: int
    """1-based column of the ``#``; the comment ends at ``column + len(comment)``."""
    comment: str
    """The ``# durablec: allow[...]`` text, without anything else on the comment."""


def suppressions(text: str) -> Iterator[Suppression]:
    """Every code of every suppression comment; strings that look like comments are not."""
    # Tokenizing is slow, so only files that mention a suppression at all pay for it.
    if "durablec:" not in text:
        return
    for line, start, comment in _comments(text):
        for match in _SUPPRESSION.finditer(comment):
            for code in match.group(1).split(","):
                yield Suppression(code.strip(), line, start + match.start() + 1, match.group(0))


def _comments(text: str) -> Iterator[tuple[int, int, str]]:
    """(line, 0-based column, text) of every comment."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                yield token.start[0], token.start[1], token.string
    except (tokenize.TokenError, SyntaxError):
        return
