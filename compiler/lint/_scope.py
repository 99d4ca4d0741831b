"""What the engine keeps about one function while it walks a module, shared by name resolution,
the call graph and the dispatch of findings."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

__all__ = ["Candidate", "Function"]


@dataclass(slots=True)
class Candidate:
    """A finding in a function, reported only if the function turns out to be in scope."""

    code: str
    node: cst.CSTNode
    message: str
    fix: str | None


class Function:
    """One function of the module: its local names, its candidate findings, what it calls."""

    __slots__ = ("key", "is_async", "parent", "cls", "self_name", "env", "defs", "candidates", "callees")

    def __init__(self, key: str, is_async: bool, parent: Function | None, cls: str | None) -> None:
        self.key = key
        """``f``, ``C.method``, ``f.<locals>.inner``: how calls name it in the call graph."""
        self.is_async = is_async
        self.parent = parent
        self.cls = cls
        self.self_name: str | None = None
        # Local name -> what it resolves to (a qualified name, a <kind>) or None (a plain local).
        self.env: dict[str, str | None] = {}
        # Local name -> key of the inner function it is bound to.
        self.defs: dict[str, str] = {}
        self.candidates: list[Candidate] = []
        self.callees: set[str] = set()
