"""Where nodes are in the source, found only for the few nodes that end up in findings.

LibCST's ``PositionProvider`` records every node of the module (about three parses' worth of
work); this runs one code-generation pass and stops after the last node it was asked about.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

# CodegenState is private to LibCST, but subclassing it is the only way to learn the positions
# of a few nodes without PositionProvider's cost of recording every node of the module.
from libcst._nodes.internal import CodegenState

__all__ = ["Positions"]


class _Found(Exception):
    """Raised to stop code generation once every wanted position is known."""


class Positions(CodegenState):
    """Code generation that notes (1-based line, 0-based column) at the start and end of a few
    nodes, and stops as soon as it has them all."""

    def __init__(self, module: cst.Module, targets: Sequence[cst.CSTNode]) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.wanted = {id(node) for node in targets}
        self.starts: dict[int, tuple[int, int]] = {}
        self.ends: dict[int, tuple[int, int]] = {}
        self._line = 1
        self._column = 0
        self._counted = 0
        try:
            module._codegen(self)
        except _Found:
            pass

    def _here(self) -> tuple[int, int]:
        tokens = self.tokens
        for token in tokens[self._counted :]:
            newlines = token.count("\n")
            if newlines:
                self._line += newlines
                self._column = len(token) - token.rfind("\n") - 1
            else:
                self._column += len(token)
        self._counted = len(tokens)
        return self._line, self._column

    def before_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.wanted:
            self.starts[id(node)] = self._here()

    def after_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.wanted:
            self.ends[id(node)] = self._here()
            if len(self.ends) == len(self.wanted):
                raise _Found
