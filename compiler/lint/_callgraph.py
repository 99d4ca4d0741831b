"""The call graph of one module's functions, and the linter's scope drawn from it (SPEC 4):
every ``async def``, and the same-module functions they call or pass around, transitively."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import libcst as cst

from durablec.compiler.lint._names import Names
from durablec.compiler.lint._scope import Function

__all__ = ["add_edge", "in_scope"]

# Deep enough for any real class hierarchy, and a stop for a cycle of bases.
_MAX_BASES = 8


def add_edge(names: Names, node: cst.Name | cst.Attribute) -> None:
    """Record that ``names.func`` calls or hands out the same-module function ``node`` names."""
    func = names.func
    assert func is not None
    if isinstance(node, cst.Name):
        name = node.value
        scope: Function | None = func
        while scope is not None:
            if name in scope.defs:
                func.callees.add(scope.defs[name])
                return
            if name in scope.env:
                return
            scope = scope.parent
        if name in names.module_classes:
            func.callees.add(f"{name}.__init__")
        elif name in names.module_defs and names.module_names.get(name, "") is None:
            func.callees.add(names.module_defs[name])
        return
    value = node.value
    if not isinstance(value, cst.Name):
        return
    owner: Function | None = func
    while owner is not None and owner.cls is None:
        owner = owner.parent
    if owner is not None and value.value == owner.self_name:
        func.callees.add(f"{owner.cls}.{node.attr.value}")
    elif value.value in names.module_classes and names.resolve_name(value.value) is None:
        func.callees.add(f"{value.value}.{node.attr.value}")


def in_scope(
    functions: Mapping[str, Sequence[Function]], class_bases: Mapping[str, Sequence[str]]
) -> list[Function]:
    """Every async function and what they reach, transitively, through calls and references."""
    reached = [f for funcs in functions.values() for f in funcs if f.is_async]
    seen = {id(f) for f in reached}
    index = 0
    while index < len(reached):
        for key in reached[index].callees:
            for callee in _lookup(functions, class_bases, key, 0):
                if id(callee) not in seen:
                    seen.add(id(callee))
                    reached.append(callee)
        index += 1
    return reached


def _lookup(
    functions: Mapping[str, Sequence[Function]],
    class_bases: Mapping[str, Sequence[str]],
    key: str,
    depth: int,
) -> Sequence[Function]:
    """The functions a callee key names, looking a method up through the class's bases."""
    found = functions.get(key)
    if found is not None or depth > _MAX_BASES or "." not in key:
        return found or []
    cls, _, method = key.rpartition(".")
    for base in class_bases.get(cls, ()):
        found = _lookup(functions, class_bases, f"{base}.{method}", depth + 1)
        if found:
            return found
    return []
