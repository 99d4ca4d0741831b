"""Helpers over LibCST syntax that know nothing of names' meanings: dotted names, the fields
worth walking, what an import or an assignment binds, the blocks of a compound statement."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import libcst as cst

__all__ = [
    "STRINGS",
    "blocks",
    "bound_names",
    "compound_targets",
    "count_args",
    "dotted",
    "fields",
    "import_bindings",
    "statements",
]

STRINGS = (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)

# Fields that hold whitespace, punctuation or annotations: never anything the rules look at.
_TRIVIA = frozenset(
    {
        "lpar", "rpar", "comma", "semicolon", "leading_lines", "lines_after_decorators",
        "header", "footer", "colon", "equal", "dot", "operator", "asynchronous", "annotation",
        "returns", "trailing_whitespace", "first_line", "empty_lines", "type_parameters",
    }
)  # fmt: skip
_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {}


def fields(node_type: type[cst.CSTNode]) -> tuple[str, ...]:
    """The names of a node type's fields that can hold code, computed once per type."""
    names = _FIELDS.get(node_type)
    if names is None:
        names = tuple(
            f.name
            for f in dataclasses.fields(node_type)
            if f.name not in _TRIVIA and not f.name.startswith("whitespace")
        )
        _FIELDS[node_type] = names
    return names


def dotted(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a chain of names, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def count_args(args: Sequence[cst.Arg]) -> int:
    """Arguments of a call, not counting a literal ``None`` (``localtime(None)`` is ``localtime()``)."""
    return sum(1 for a in args if not (isinstance(a.value, cst.Name) and a.value.value == "None"))


def import_bindings(node: cst.Import | cst.ImportFrom, stars: list[str]) -> Iterator[tuple[str, str | None]]:
    """(bound name, qualified name) of each name an import binds; star imports go to ``stars``."""
    if isinstance(node, cst.Import):
        for alias in node.names:
            full = dotted(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                yield alias.asname.name.value, full
            else:
                top = full.partition(".")[0]
                yield top, top
        return
    module = "." * len(node.relative) + (dotted(node.module) or "" if node.module is not None else "")
    if isinstance(node.names, cst.ImportStar):
        if not node.relative:
            stars.append(module)
        return
    for alias in node.names:
        name = dotted(alias.name) or ""
        bound = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else name
        yield bound, f"{module}.{name}"


def statements(body: cst.BaseSuite) -> Sequence[cst.BaseStatement | cst.BaseSmallStatement]:
    return body.body


def blocks(stmt: cst.CSTNode) -> Iterator[Sequence[cst.BaseStatement | cst.BaseSmallStatement]]:
    """The statement lists nested in a compound statement (if/for/while/try/with/match)."""
    body = getattr(stmt, "body", None)
    if isinstance(body, cst.BaseSuite):
        yield body.body
    orelse = getattr(stmt, "orelse", None)
    if isinstance(orelse, cst.If):
        yield (orelse,)
    elif isinstance(orelse, cst.Else):
        yield orelse.body.body
    for handler in getattr(stmt, "handlers", ()):
        yield handler.body.body
    final = getattr(stmt, "finalbody", None)
    if isinstance(final, cst.Finally):
        yield final.body.body
    for case in getattr(stmt, "cases", ()):
        yield case.body.body


def compound_targets(stmt: cst.CSTNode) -> Iterator[cst.BaseExpression]:
    """The names a ``for`` or ``with`` statement binds at module level."""
    if isinstance(stmt, cst.For):
        yield stmt.target
    elif isinstance(stmt, cst.With):
        for item in stmt.items:
            if item.asname is not None:
                yield item.asname.name


def bound_names(target: cst.BaseExpression) -> Iterator[str]:
    """The plain names an assignment target binds (``a, *b = ...`` binds ``a`` and ``b``)."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from bound_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from bound_names(target.value)
