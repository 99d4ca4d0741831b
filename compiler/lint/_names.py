"""Name resolution: what the module binds at its top level, and what an expression stands for
in the function being walked (a qualified name through imports and aliases, or a ``<kind>`` the
engine recognises by where a value came from)."""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence

import libcst as cst

from durablec.compiler.lint._scope import Function
from durablec.compiler.lint._syntax import (
    STRINGS,
    blocks,
    bound_names,
    compound_targets,
    dotted,
    import_bindings,
    statements,
)

__all__ = ["ENTERED_TASKGROUP", "STRSET", "TASKGROUP", "Names", "annotation_kind"]

STRSET = "<strset>"
TASKGROUP = "<taskgroup>"
ENTERED_TASKGROUP = "<entered-taskgroup>"
"""A TaskGroup this function enters with ``async with``: the block waits for its children."""

# Values the engine recognises by where they came from (see _rule.py).
_FACTORIES: Mapping[str, str] = {
    "asyncio.get_running_loop": "<loop>",
    "asyncio.get_event_loop": "<loop>",
    "asyncio.new_event_loop": "<loop>",
    "asyncio.TaskGroup": TASKGROUP,
    "pathlib.Path": "<path>",
    "pathlib.PosixPath": "<path>",
    "pathlib.WindowsPath": "<path>",
    "<path>.joinpath": "<path>",
    "<path>.with_name": "<path>",
    "<path>.with_suffix": "<path>",
    "<strset>.union": STRSET,
    "<strset>.intersection": STRSET,
    "<strset>.difference": STRSET,
    "<strset>.symmetric_difference": STRSET,
    "<strset>.copy": STRSET,
}
# Compiled output wraps awaited values in these ABI calls: (site, value, ...) stands for value.
_ABI_WRAPPERS = frozenset(f"durablec.runtime.abi.{name}" for name in ("aw", "aiter", "actx"))
_SET_TYPES = frozenset({"set", "frozenset", "Set", "FrozenSet", "AbstractSet", "MutableSet"})
_SET_OPS = (cst.BitOr, cst.BitAnd, cst.BitXor, cst.Subtract)


class Names:
    """The module's top-level bindings, and resolution inside ``self.func``."""

    def __init__(self, banned: Container[str]) -> None:
        # A name from a star import resolves only if something cares about it.
        self.banned = banned
        self.module_names: dict[str, str | None] = {}
        self.module_defs: dict[str, str] = {}
        self.module_classes: set[str] = set()
        self.stars: list[str] = []
        self.class_bases: dict[str, list[str]] = {}
        self.func: Function | None = None
        self.last_import: cst.CSTNode | None = None
        """The last top-level import statement, where a fix adds ``import durablec`` after."""

    def bind_module(self, module: cst.Module) -> list[tuple[cst.FunctionDef, str | None]]:
        """Record what the module binds at top level and in class bodies; return its functions
        and methods (with their class's qualified name) to walk once every name is known."""
        functions: list[tuple[cst.FunctionDef, str | None]] = []
        self._block(module.body, None, functions)
        return functions

    def _block(
        self,
        body: Sequence[cst.BaseStatement | cst.BaseSmallStatement],
        cls: str | None,
        functions: list[tuple[cst.FunctionDef, str | None]],
    ) -> None:
        for stmt in body:
            kind = type(stmt)
            if kind is cst.SimpleStatementLine:
                assert isinstance(stmt, cst.SimpleStatementLine)
                if cls is None:
                    for small in stmt.body:
                        if self._small(small):
                            self.last_import = stmt
            elif kind is cst.FunctionDef:
                assert isinstance(stmt, cst.FunctionDef)
                if cls is None:
                    self.module_names[stmt.name.value] = None
                    self.module_defs[stmt.name.value] = stmt.name.value
                functions.append((stmt, cls))
            elif kind is cst.ClassDef:
                assert isinstance(stmt, cst.ClassDef)
                name = stmt.name.value
                qualname = name if cls is None else f"{cls}.{name}"
                if cls is None:
                    self.module_names[name] = None
                    self.module_classes.add(name)
                self.class_bases[qualname] = [dotted(b.value) or "" for b in stmt.bases]
                self._block(statements(stmt.body), qualname, functions)
            else:
                if cls is None:
                    for target in compound_targets(stmt):
                        for name in bound_names(target):
                            self.module_names[name] = None
                for block in blocks(stmt):
                    self._block(block, cls, functions)

    def _small(self, small: cst.BaseSmallStatement) -> bool:
        """Record what a module-level statement binds; True for an import."""
        if isinstance(small, (cst.Import, cst.ImportFrom)):
            for name, value in import_bindings(small, self.stars):
                self.module_names[name] = value
            return True
        if isinstance(small, cst.Assign):
            target = small.targets[0].target if len(small.targets) == 1 else None
            if isinstance(target, cst.Name) and isinstance(small.value, (cst.Name, cst.Attribute)):
                # `now = time.time` at module level makes `now()` in a task a wall-clock call.
                self.module_names[target.value] = self.resolve(small.value)
                return False
            for t in small.targets:
                for name in bound_names(t.target):
                    self.module_names[name] = None
        elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
            for name in bound_names(small.target):
                self.module_names[name] = None
        return False

    def resolve_name(self, name: str) -> str | None:
        func = self.func
        while func is not None:
            env = func.env
            if name in env:
                return env[name]
            func = func.parent
        if name in self.module_names:
            return self.module_names[name]
        for star in self.stars:
            candidate = f"{star}.{name}"
            if candidate in self.banned or candidate in _FACTORIES:
                return candidate
        return f"builtins.{name}"

    def resolve(self, node: cst.BaseExpression) -> str | None:
        """The qualified name or <kind> an expression stands for, when the imports say so."""
        kind = type(node)
        if kind is cst.Name:
            assert isinstance(node, cst.Name)
            return self.resolve_name(node.value)
        if kind is cst.Attribute:
            assert isinstance(node, cst.Attribute)
            base = self.resolve(node.value)
            return None if base is None else f"{base}.{node.attr.value}"
        if kind is cst.Call:
            assert isinstance(node, cst.Call)
            callee = self.resolve(node.func)
            if callee is None:
                return None
            if callee in _ABI_WRAPPERS and len(node.args) >= 2:
                return self.resolve(node.args[1].value)
            if callee in ("builtins.set", "builtins.frozenset"):
                return STRSET if node.args and self._stringy(node.args[0].value) else None
            return _FACTORIES.get(callee)
        if kind is cst.Set:
            assert isinstance(node, cst.Set)
            return STRSET if any(self._stringy(e.value) for e in node.elements) else None
        if kind is cst.SetComp:
            assert isinstance(node, cst.SetComp)
            return STRSET if self._stringy(node.elt) else None
        if kind is cst.BinaryOperation:
            assert isinstance(node, cst.BinaryOperation)
            left = self.resolve(node.left)
            if isinstance(node.operator, cst.Divide):
                return "<path>" if left == "<path>" else None
            if isinstance(node.operator, _SET_OPS) and STRSET in (left, self.resolve(node.right)):
                return STRSET
        return None

    def binding_value(self, value: cst.BaseExpression) -> str | None:
        """What a local assigned ``value`` stands for: a kind, a module alias, or nothing."""
        resolved = self.resolve(value)
        if resolved is None or resolved in self.banned:
            return None
        return resolved

    def _stringy(self, node: cst.BaseExpression) -> bool:
        """Whether an expression is visibly a string, or a collection or set of strings."""
        if isinstance(node, STRINGS):
            return True
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            return any(self._stringy(e.value) for e in node.elements)
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "split":
                return True
            return self.resolve(func) == "builtins.str"
        return self.resolve(node) == STRSET


def annotation_kind(annotation: cst.Annotation | None) -> str | None:
    """``<strset>`` for ``set[str]``, ``frozenset[str]``, ``AbstractSet[str]``, ...; else None."""
    if annotation is None:
        return None
    node = annotation.annotation
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        name = dotted(node.value)
        index = node.slice[0].slice
        if (
            name is not None
            and name.rpartition(".")[2] in _SET_TYPES
            and isinstance(index, cst.Index)
            and isinstance(index.value, cst.Name)
            and index.value.value in ("str", "bytes")
        ):
            return STRSET
    return None
