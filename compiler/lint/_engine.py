"""The lint engine: one walk over an already-parsed module, never mutating it.

Cost model. LibCST's visitor framework rebuilds every node it passes (as expensive as the parse
itself) and ``PositionProvider`` costs about three parses, so this engine does neither. It walks
the tree by the dataclass fields of each node type (skipping whitespace and punctuation fields),
resolves names with its own import-alias table, records candidate findings per function, and
only when a finding survives computes positions, by one code-generation pass that stops after
the last node it needs.

Scope (SPEC 4): every ``async def``, and the same-module sync functions they call or pass
around, transitively. Module-level code and class bodies run once at import and are not linted.
"""

from __future__ import annotations

import dataclasses
import io
import re
import tokenize
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import libcst as cst

# CodegenState is private to LibCST, but subclassing it is the only way to learn the positions
# of a few nodes without PositionProvider's cost of recording every node of the module.
from libcst._nodes.internal import CodegenState

from durablec.compiler.diagnostics import Diagnostic, Edit, Fix
from durablec.compiler.lint._config import BannedName, LintConfig
from durablec.compiler.lint._rule import display_name
from durablec.compiler.lint.rules import ALL_RULES, RULES_BY_CODE

__all__ = ["lint_tree"]

_SUPPRESSION = re.compile(r"#\s*durablec:\s*allow\[([^\]\n]*)\]")
_UNKNOWN_SUPPRESSION = "DC001"
_SET_ITERATION = "DC403"

# Values the engine recognises by where they came from (see _rule.py).
_FACTORIES: Mapping[str, str] = {
    "asyncio.get_running_loop": "<loop>",
    "asyncio.get_event_loop": "<loop>",
    "asyncio.new_event_loop": "<loop>",
    "asyncio.TaskGroup": "<taskgroup>",
    "pathlib.Path": "<path>",
    "pathlib.PosixPath": "<path>",
    "pathlib.WindowsPath": "<path>",
    "<path>.joinpath": "<path>",
    "<path>.with_name": "<path>",
    "<path>.with_suffix": "<path>",
    "<strset>.union": "<strset>",
    "<strset>.intersection": "<strset>",
    "<strset>.difference": "<strset>",
    "<strset>.symmetric_difference": "<strset>",
    "<strset>.copy": "<strset>",
}
# Compiled output wraps awaited values in these ABI calls: (site, value, ...) stands for value.
_ABI_WRAPPERS = frozenset(f"durablec.runtime.abi.{name}" for name in ("aw", "aiter", "actx"))
_ABI_CHECKPOINT = "durablec.runtime.abi.ckpt"
_SET_TYPES = frozenset({"set", "frozenset", "Set", "FrozenSet", "AbstractSet", "MutableSet"})
_SET_OPS = (cst.BitOr, cst.BitAnd, cst.BitXor, cst.Subtract)
# Builtins whose result depends on the order of the iterable passed to them.
_ORDERED_CONSUMERS = frozenset(
    f"builtins.{n}" for n in ("list", "tuple", "enumerate", "iter", "zip", "map", "filter", "dict")
)
# Builtins whose result does not, so a generator over a set passed to them is fine.
_UNORDERED_CONSUMERS = frozenset(
    f"builtins.{n}" for n in ("sorted", "set", "frozenset", "sum", "min", "max", "any", "all", "len")
)
_STRINGS = (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)

# Fields that hold whitespace, punctuation or annotations: never anything the rules look at.
_TRIVIA = frozenset(
    {
        "lpar", "rpar", "comma", "semicolon", "leading_lines", "lines_after_decorators",
        "header", "footer", "colon", "equal", "dot", "operator", "asynchronous", "annotation",
        "returns", "trailing_whitespace", "first_line", "empty_lines", "type_parameters",
    }
)  # fmt: skip
_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {}


def _fields(node_type: type[cst.CSTNode]) -> tuple[str, ...]:
    names = _FIELDS.get(node_type)
    if names is None:
        names = tuple(
            f.name
            for f in dataclasses.fields(node_type)
            if f.name not in _TRIVIA and not f.name.startswith("whitespace")
        )
        _FIELDS[node_type] = names
    return names


@dataclass(frozen=True, slots=True)
class _Hit:
    """What a banned name means under one configuration."""

    code: str
    message: str
    replacement: str
    min_args: int
    fix: str | None
    exempt_when_awaited: bool


@lru_cache(maxsize=64)
def _table(select: frozenset[str], banned: tuple[BannedName, ...]) -> Mapping[str, _Hit]:
    table: dict[str, _Hit] = {}
    for rule in ALL_RULES:
        if rule.CODE in select:
            for name, ban in rule.BANNED.items():
                table[name] = _Hit(
                    rule.CODE, rule.MESSAGE, ban.replacement, ban.min_args, ban.fix, rule.CHECKPOINT_EXEMPT
                )
    for entry in banned:
        if entry.code in select:
            table[entry.name] = _Hit(entry.code, entry.message, entry.replacement, 0, None, True)
    return table


@dataclass(slots=True)
class _Candidate:
    code: str
    node: cst.CSTNode
    message: str
    fix: str | None


class _Func:
    """One function of the module: its local names, its candidate findings, what it calls."""

    __slots__ = ("key", "is_async", "parent", "cls", "self_name", "env", "defs", "candidates", "callees")

    def __init__(self, key: str, is_async: bool, parent: _Func | None, cls: str | None) -> None:
        self.key = key
        self.is_async = is_async
        self.parent = parent
        self.cls = cls
        self.self_name: str | None = None
        # Local name -> what it resolves to (a qualified name, a <kind>) or None (a plain local).
        self.env: dict[str, str | None] = {}
        self.defs: dict[str, str] = {}
        self.candidates: list[_Candidate] = []
        self.callees: set[str] = set()


class _Linter:
    def __init__(self, table: Mapping[str, _Hit], select: frozenset[str]) -> None:
        self.table = table
        self.check_sets = _SET_ITERATION in select
        self.module_names: dict[str, str | None] = {}
        self.module_defs: dict[str, str] = {}
        self.module_classes: set[str] = set()
        self.stars: list[str] = []
        self.functions: dict[str, list[_Func]] = {}
        self.class_bases: dict[str, list[str]] = {}
        self.deferred: list[tuple[cst.FunctionDef, str | None]] = []
        self.func: _Func | None = None
        self.awaited: set[int] = set()
        self.trailer: set[int] = set()
        self.unordered: set[int] = set()
        self.no_fix = 0
        self.last_import: cst.CSTNode | None = None

    # -- module level: bindings and definitions only -------------------------------------------

    def run(self, module: cst.Module) -> None:
        self._module_block(module.body, None)
        for node, cls in self.deferred:
            self._function(node, None, cls)

    def _module_block(self, body: Sequence[cst.BaseStatement | cst.BaseSmallStatement], cls: str | None) -> None:
        for stmt in body:
            kind = type(stmt)
            if kind is cst.SimpleStatementLine:
                assert isinstance(stmt, cst.SimpleStatementLine)
                if cls is None:
                    for small in stmt.body:
                        if self._module_small(small) and self.func is None:
                            self.last_import = stmt
            elif kind is cst.FunctionDef:
                assert isinstance(stmt, cst.FunctionDef)
                if cls is None:
                    self.module_names[stmt.name.value] = None
                    self.module_defs[stmt.name.value] = stmt.name.value
                self.deferred.append((stmt, cls))
            elif kind is cst.ClassDef:
                assert isinstance(stmt, cst.ClassDef)
                name = stmt.name.value
                qualname = name if cls is None else f"{cls}.{name}"
                if cls is None:
                    self.module_names[name] = None
                    self.module_classes.add(name)
                self.class_bases[qualname] = [_dotted(b.value) or "" for b in stmt.bases]
                self._module_block(_statements(stmt.body), qualname)
            else:
                if cls is None:
                    for target in _compound_targets(stmt):
                        for name in _bound_names(target):
                            self.module_names[name] = None
                for block in _blocks(stmt):
                    self._module_block(block, cls)

    def _module_small(self, small: cst.BaseSmallStatement) -> bool:
        """Record what a module-level statement binds; True for an import."""
        if isinstance(small, (cst.Import, cst.ImportFrom)):
            for name, value in _import_bindings(small, self.stars):
                self.module_names[name] = value
            return True
        if isinstance(small, cst.Assign):
            target = small.targets[0].target if len(small.targets) == 1 else None
            if isinstance(target, cst.Name) and isinstance(small.value, (cst.Name, cst.Attribute)):
                # `now = time.time` at module level makes `now()` in a task a wall-clock call.
                self.module_names[target.value] = self._resolve(small.value)
                return False
            for t in small.targets:
                for name in _bound_names(t.target):
                    self.module_names[name] = None
        elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
            for name in _bound_names(small.target):
                self.module_names[name] = None
        return False

    # -- functions ---------------------------------------------------------------------------------

    def _function(self, node: cst.FunctionDef, parent: _Func | None, cls: str | None) -> None:
        name = node.name.value
        if cls is not None:
            key = f"{cls}.{name}"
        elif parent is not None:
            key = f"{parent.key}.<locals>.{name}"
        else:
            key = name
        func = _Func(key, node.asynchronous is not None, parent, cls)
        self.functions.setdefault(key, []).append(func)
        params = node.params
        ordered = [*params.posonly_params, *params.params]
        if cls is not None and ordered:
            func.self_name = ordered[0].name.value
        for param in (*ordered, *params.kwonly_params, params.star_arg, params.star_kwarg):
            if isinstance(param, cst.Param):
                func.env[param.name.value] = _annotation_kind(param.annotation)
        saved = self.func, self.no_fix
        self.func, self.no_fix = func, 0
        self._walk(node.body)
        self.func, self.no_fix = saved

    def _walk(self, node: cst.CSTNode) -> None:
        handler = _HANDLERS.get(type(node))
        if handler is not None:
            handler(self, node)
            return
        for name in _fields(type(node)):
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                self._walk(value)
            elif isinstance(value, (list, tuple)):
                for child in value:
                    if isinstance(child, cst.CSTNode):
                        self._walk(child)

    def _walk_all(self, nodes: Sequence[cst.CSTNode]) -> None:
        for node in nodes:
            self._walk(node)

    def _bind(self, target: cst.BaseExpression | cst.BaseAssignTargetExpression, value: str | None) -> None:
        """Bind assignment targets in the current function; other targets are walked as loads."""
        assert self.func is not None
        if isinstance(target, cst.Name):
            self.func.env[target.value] = value
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value, None)
        elif isinstance(target, cst.StarredElement):
            self._bind(target.value, None)
        else:
            self._walk(target)

    def _binding_value(self, value: cst.BaseExpression) -> str | None:
        """What a local assigned ``value`` stands for: a kind, a module alias, or nothing."""
        resolved = self._resolve(value)
        if resolved is None or resolved in self.table:
            return None
        return resolved

    # -- handlers ----------------------------------------------------------------------------------

    def _h_function(self, node: cst.FunctionDef) -> None:
        assert self.func is not None
        self._walk_all(node.decorators)
        self._walk_defaults(node.params)
        self.func.env[node.name.value] = None
        key = f"{self.func.key}.<locals>.{node.name.value}"
        self.func.defs[node.name.value] = key
        self._function(node, self.func, None)

    def _walk_defaults(self, params: cst.Parameters) -> None:
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.default is not None:
                self._walk(param.default)

    def _h_class(self, node: cst.ClassDef) -> None:
        # A class defined inside a function: its body runs when the function does.
        assert self.func is not None
        self._walk_all(node.decorators)
        for arg in (*node.bases, *node.keywords):
            self._walk(arg.value)
        self.func.env[node.name.value] = None
        qualname = f"{self.func.key}.<locals>.{node.name.value}"
        for stmt in _statements(node.body):
            if isinstance(stmt, cst.FunctionDef):
                self._walk_all(stmt.decorators)
                self._walk_defaults(stmt.params)
                self._function(stmt, self.func, qualname)
            else:
                self._walk(stmt)

    def _h_lambda(self, node: cst.Lambda) -> None:
        assert self.func is not None
        for param in (*node.params.posonly_params, *node.params.params, *node.params.kwonly_params):
            self.func.env[param.name.value] = None
        self._walk_defaults(node.params)
        self.no_fix += 1
        self._walk(node.body)
        self.no_fix -= 1

    def _h_import(self, node: cst.Import | cst.ImportFrom) -> None:
        assert self.func is not None
        for name, value in _import_bindings(node, self.stars):
            self.func.env[name] = value

    def _h_assign(self, node: cst.Assign) -> None:
        self._walk(node.value)
        value = self._binding_value(node.value)
        for target in node.targets:
            self._bind(target.target, value)

    def _h_ann_assign(self, node: cst.AnnAssign) -> None:
        assert self.func is not None
        if node.value is not None:
            self._walk(node.value)
        kind = _annotation_kind(node.annotation)
        value = kind or (self._binding_value(node.value) if node.value is not None else None)
        self._bind(node.target, value)

    def _h_aug_assign(self, node: cst.AugAssign) -> None:
        self._walk(node.value)
        if not isinstance(node.target, cst.Name):
            self._walk(node.target)

    def _h_named_expr(self, node: cst.NamedExpr) -> None:
        self._walk(node.value)
        self._bind(node.target, self._binding_value(node.value))

    def _h_for(self, node: cst.For) -> None:
        self._walk(node.iter)
        self._check_iteration(node.iter)
        self._bind(node.target, None)
        self._walk(node.body)
        if node.orelse is not None:
            self._walk(node.orelse)

    def _h_comp_for(self, node: cst.CompFor) -> None:
        self._walk(node.iter)
        if id(node) not in self.unordered:
            self._check_iteration(node.iter)
        self._bind(node.target, None)
        self._walk_all(node.ifs)
        if node.inner_for_in is not None:
            if id(node) in self.unordered:
                self.unordered.add(id(node.inner_for_in))
            self._walk(node.inner_for_in)

    def _h_comprehension(self, node: cst.GeneratorExp | cst.ListComp | cst.SetComp | cst.DictComp) -> None:
        if isinstance(node, cst.SetComp):
            # A set built from a set has no order to lose.
            self.unordered.add(id(node.for_in))
        generator = isinstance(node, cst.GeneratorExp)
        self.no_fix += generator
        self._walk(node.for_in)
        if isinstance(node, cst.DictComp):
            self._walk(node.key)
            self._walk(node.value)
        else:
            self._walk(node.elt)
        self.no_fix -= generator

    def _h_with(self, node: cst.With) -> None:
        for item in node.items:
            self._walk(item.item)
            if item.asname is not None:
                self._bind(item.asname.name, self._binding_value(item.item))
        self._walk(node.body)

    def _h_except(self, node: cst.ExceptHandler | cst.ExceptStarHandler) -> None:
        if node.type is not None:
            self._walk(node.type)
        if node.name is not None:
            self._bind(node.name.name, None)
        self._walk(node.body)

    def _h_skip(self, node: cst.CSTNode) -> None:
        """Statements that only name things (global, nonlocal)."""

    def _h_await(self, node: cst.Await) -> None:
        if isinstance(node.expression, cst.Call):
            self.awaited.add(id(node.expression))
        self._walk(node.expression)

    def _h_arg(self, node: cst.Arg) -> None:
        if node.star == "*":
            self._check_iteration(node.value)
        self._walk(node.value)

    def _h_starred(self, node: cst.StarredElement) -> None:
        self._check_iteration(node.value)
        self._walk(node.value)

    def _h_subscript(self, node: cst.Subscript) -> None:
        self.trailer.add(id(node.value))
        self._walk(node.value)
        self._walk_all(node.slice)

    def _h_name(self, node: cst.Name) -> None:
        resolved = self._resolve_name(node.value)
        if resolved is not None:
            hit = self.table.get(resolved)
            if hit is not None and hit.min_args == 0:
                self._report(hit, node, node.value, resolved, None)
        self._edge(node)

    def _h_attribute(self, node: cst.Attribute) -> None:
        resolved = self._resolve(node)
        if resolved is not None:
            hit = self.table.get(resolved)
            if hit is not None and hit.min_args == 0:
                self._report(hit, node, _dotted(node), resolved, None)
                if isinstance(node.value, (cst.Name, cst.Attribute)):
                    return
        self._edge(node)
        value = node.value
        if resolved is None and isinstance(value, (cst.Name, cst.Attribute)):
            # Nothing inside an unresolvable dotted chain can resolve either.
            if isinstance(value, cst.Name):
                self._edge(value)
            return
        self.trailer.add(id(value))
        self._walk(value)

    def _h_call(self, node: cst.Call) -> None:
        func = node.func
        awaited = id(node) in self.awaited
        resolved = self._resolve(func)
        reported = False
        if resolved is not None:
            hit = self.table.get(resolved)
            if hit is not None and not (awaited and hit.exempt_when_awaited):
                if hit.min_args == 0 or _count_args(node.args) < hit.min_args:
                    fix = hit.fix if not node.args else None
                    if fix is not None and id(node) in self.trailer and fix.startswith("await "):
                        fix = f"({fix})"  # `uuid4().hex` -> `(await durablec.uuid4()).hex`
                    shown = _dotted(func)
                    self._report(hit, node, f"{shown}()" if shown else None, resolved, fix)
                    reported = True
            if resolved == _ABI_CHECKPOINT and len(node.args) >= 2:
                self._check_compiled_checkpoint(node, node.args[1].value)
            if self.check_sets:
                self._check_consumer(node, resolved)
        # The callee itself: its call was judged above, so only what is inside it is walked. The
        # callee of an awaited call runs inside its checkpoint (async callees are in scope anyway).
        if isinstance(func, cst.Name):
            if not awaited:
                self._edge(func)
        elif isinstance(func, cst.Attribute):
            if not awaited:
                self._edge(func)
            if not (reported and isinstance(func.value, (cst.Name, cst.Attribute))):
                self.trailer.add(id(func.value))
                self._walk(func.value)
        else:
            self.trailer.add(id(func))
            self._walk(func)
        if awaited:
            # Arguments that are only referenced (not called) here run inside the checkpoint:
            # `await loop.run_in_executor(None, time.time)` is journaled like any awaited call.
            for arg in node.args:
                if not isinstance(arg.value, (cst.Name, cst.Attribute, cst.Lambda)):
                    self._walk(arg)
        else:
            self._walk_all(node.args)

    # -- resolution --------------------------------------------------------------------------------

    def _resolve_name(self, name: str) -> str | None:
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
            if candidate in self.table or candidate in _FACTORIES:
                return candidate
        return f"builtins.{name}"

    def _resolve(self, node: cst.BaseExpression) -> str | None:
        """The qualified name or <kind> an expression stands for, when the imports say so."""
        kind = type(node)
        if kind is cst.Name:
            assert isinstance(node, cst.Name)
            return self._resolve_name(node.value)
        if kind is cst.Attribute:
            assert isinstance(node, cst.Attribute)
            base = self._resolve(node.value)
            return None if base is None else f"{base}.{node.attr.value}"
        if kind is cst.Call:
            assert isinstance(node, cst.Call)
            callee = self._resolve(node.func)
            if callee is None:
                return None
            if callee in _ABI_WRAPPERS and len(node.args) >= 2:
                return self._resolve(node.args[1].value)
            if callee in ("builtins.set", "builtins.frozenset"):
                return "<strset>" if node.args and self._stringy(node.args[0].value) else None
            return _FACTORIES.get(callee)
        if kind is cst.Set:
            assert isinstance(node, cst.Set)
            return "<strset>" if any(self._stringy(e.value) for e in node.elements) else None
        if kind is cst.SetComp:
            assert isinstance(node, cst.SetComp)
            return "<strset>" if self._stringy(node.elt) else None
        if kind is cst.BinaryOperation:
            assert isinstance(node, cst.BinaryOperation)
            left = self._resolve(node.left)
            if isinstance(node.operator, cst.Divide):
                return "<path>" if left == "<path>" else None
            if isinstance(node.operator, _SET_OPS) and "<strset>" in (left, self._resolve(node.right)):
                return "<strset>"
        return None

    def _stringy(self, node: cst.BaseExpression) -> bool:
        """Whether an expression is visibly a string, or a collection or set of strings."""
        if isinstance(node, _STRINGS):
            return True
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            return any(self._stringy(e.value) for e in node.elements)
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "split":
                return True
            return self._resolve(func) == "builtins.str"
        return self._resolve(node) == "<strset>"

    def _edge(self, node: cst.Name | cst.Attribute) -> None:
        """Record a same-module function this function calls or hands out."""
        func = self.func
        assert func is not None
        if isinstance(node, cst.Name):
            name = node.value
            scope: _Func | None = func
            while scope is not None:
                if name in scope.defs:
                    func.callees.add(scope.defs[name])
                    return
                if name in scope.env:
                    return
                scope = scope.parent
            if name in self.module_classes:
                func.callees.add(f"{name}.__init__")
            elif name in self.module_defs and self.module_names.get(name, "") is None:
                func.callees.add(self.module_defs[name])
            return
        value = node.value
        if not isinstance(value, cst.Name):
            return
        owner: _Func | None = func
        while owner is not None and owner.cls is None:
            owner = owner.parent
        if owner is not None and value.value == owner.self_name:
            func.callees.add(f"{owner.cls}.{node.attr.value}")
        elif value.value in self.module_classes and self._resolve_name(value.value) is None:
            func.callees.add(f"{value.value}.{node.attr.value}")

    # -- findings ----------------------------------------------------------------------------------

    def _report(self, hit: _Hit, node: cst.CSTNode, shown: str | None, resolved: str, fix: str | None) -> None:
        func = self.func
        assert func is not None
        qualified = display_name(resolved)
        if isinstance(node, cst.Call):
            qualified += "()"
        if shown is None or shown == qualified or resolved.startswith("<"):
            construct = f"`{shown or qualified}`"
        else:
            construct = f"`{shown}` (`{qualified}`)"
        message = f"{construct} {hit.message}. Use {hit.replacement}"
        usable_fix = fix if func.is_async and self.no_fix == 0 else None
        func.candidates.append(_Candidate(hit.code, node, message, usable_fix))

    def _check_compiled_checkpoint(self, node: cst.Call, callee: cst.BaseExpression) -> None:
        """``__dc_ckpt__(site, asyncio.wait, ...)`` is ``await asyncio.wait(...)`` compiled: report
        what the source's awaited call would have been reported for."""
        resolved = self._resolve(callee)
        hit = self.table.get(resolved) if resolved is not None else None
        if resolved is not None and hit is not None and not hit.exempt_when_awaited:
            self._report(hit, node, f"{_dotted(callee)}()", resolved, None)

    def _check_iteration(self, node: cst.BaseExpression) -> None:
        if self.check_sets and self._resolve(node) == "<strset>":
            hit = self.table["<strset>.pop"]
            assert self.func is not None
            shown = _dotted(node) or ("{...}" if isinstance(node, (cst.Set, cst.SetComp)) else "set(...)")
            message = f"`{shown}` is a set of strings, iterated in hash-seed order; replay may take another order. Use {hit.replacement}"
            self.func.candidates.append(_Candidate(hit.code, node, message, None))

    def _check_consumer(self, node: cst.Call, callee: str) -> None:
        args = node.args
        if callee in _ORDERED_CONSUMERS:
            for arg in args[1:] if callee in ("builtins.map", "builtins.filter") else args:
                if not arg.keyword and not arg.star:
                    self._check_iteration(arg.value)
        elif callee in _UNORDERED_CONSUMERS and args and isinstance(args[0].value, cst.GeneratorExp):
            self.unordered.add(id(args[0].value.for_in))
        elif callee.endswith(".join") and len(args) == 1:
            self._check_iteration(args[0].value)

    def in_scope(self) -> list[_Func]:
        """Every async function and what they reach, transitively, through calls and references."""
        reached = [f for funcs in self.functions.values() for f in funcs if f.is_async]
        seen = {id(f) for f in reached}
        index = 0
        while index < len(reached):
            for key in reached[index].callees:
                for callee in self._lookup(key, 0):
                    if id(callee) not in seen:
                        seen.add(id(callee))
                        reached.append(callee)
            index += 1
        return reached

    def _lookup(self, key: str, depth: int) -> list[_Func]:
        found = self.functions.get(key)
        if found is not None or depth > 8 or "." not in key:
            return found or []
        cls, _, method = key.rpartition(".")
        for base in self.class_bases.get(cls, ()):
            found = self._lookup(f"{base}.{method}", depth + 1)
            if found:
                return found
        return []


# Any: each handler takes the one node type it is registered for.
_HANDLERS: dict[type[cst.CSTNode], Callable[[_Linter, Any], None]] = {
    cst.FunctionDef: _Linter._h_function,
    cst.ClassDef: _Linter._h_class,
    cst.Lambda: _Linter._h_lambda,
    cst.Import: _Linter._h_import,
    cst.ImportFrom: _Linter._h_import,
    cst.Assign: _Linter._h_assign,
    cst.AnnAssign: _Linter._h_ann_assign,
    cst.AugAssign: _Linter._h_aug_assign,
    cst.NamedExpr: _Linter._h_named_expr,
    cst.For: _Linter._h_for,
    cst.CompFor: _Linter._h_comp_for,
    cst.GeneratorExp: _Linter._h_comprehension,
    cst.ListComp: _Linter._h_comprehension,
    cst.SetComp: _Linter._h_comprehension,
    cst.DictComp: _Linter._h_comprehension,
    cst.With: _Linter._h_with,
    cst.ExceptHandler: _Linter._h_except,
    cst.ExceptStarHandler: _Linter._h_except,
    cst.Global: _Linter._h_skip,
    cst.Nonlocal: _Linter._h_skip,
    cst.Await: _Linter._h_await,
    cst.Arg: _Linter._h_arg,
    cst.StarredElement: _Linter._h_starred,
    cst.Subscript: _Linter._h_subscript,
    cst.Name: _Linter._h_name,
    cst.Attribute: _Linter._h_attribute,
    cst.Call: _Linter._h_call,
}


# -- helpers over syntax ---------------------------------------------------------------------------


def _dotted(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a chain of names, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def _count_args(args: Sequence[cst.Arg]) -> int:
    return sum(1 for a in args if not (isinstance(a.value, cst.Name) and a.value.value == "None"))


def _annotation_kind(annotation: cst.Annotation | None) -> str | None:
    """``<strset>`` for ``set[str]``, ``frozenset[str]``, ``AbstractSet[str]``, ...; else None."""
    if annotation is None:
        return None
    node = annotation.annotation
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        name = _dotted(node.value)
        index = node.slice[0].slice
        if (
            name is not None
            and name.rpartition(".")[2] in _SET_TYPES
            and isinstance(index, cst.Index)
            and isinstance(index.value, cst.Name)
            and index.value.value in ("str", "bytes")
        ):
            return "<strset>"
    return None


def _import_bindings(node: cst.Import | cst.ImportFrom, stars: list[str]) -> Iterator[tuple[str, str | None]]:
    if isinstance(node, cst.Import):
        for alias in node.names:
            full = _dotted(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                yield alias.asname.name.value, full
            else:
                top = full.partition(".")[0]
                yield top, top
        return
    module = "." * len(node.relative) + (_dotted(node.module) or "" if node.module is not None else "")
    if isinstance(node.names, cst.ImportStar):
        if not node.relative:
            stars.append(module)
        return
    for alias in node.names:
        name = _dotted(alias.name) or ""
        bound = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else name
        yield bound, f"{module}.{name}"


def _statements(body: cst.BaseSuite) -> Sequence[cst.BaseStatement | cst.BaseSmallStatement]:
    return body.body


def _blocks(stmt: cst.CSTNode) -> Iterator[Sequence[cst.BaseStatement | cst.BaseSmallStatement]]:
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


def _compound_targets(stmt: cst.CSTNode) -> Iterator[cst.BaseExpression]:
    if isinstance(stmt, cst.For):
        yield stmt.target
    elif isinstance(stmt, cst.With):
        for item in stmt.items:
            if item.asname is not None:
                yield item.asname.name


def _bound_names(target: cst.BaseExpression) -> Iterator[str]:
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _bound_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _bound_names(target.value)


# -- positions -------------------------------------------------------------------------------------


class _Found(Exception):
    """Raised to stop code generation once every wanted position is known."""


class _Positions(CodegenState):
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


# -- the whole pass --------------------------------------------------------------------------------


def lint_tree(module: cst.Module, path: str, config: LintConfig, source: str | None) -> list[Diagnostic]:
    """Lint one parsed module under a configuration already resolved for its path."""
    select = config.select
    linter = _Linter(_table(select, config.extend_banned), select)
    linter.run(module)
    candidates = [c for func in linter.in_scope() for c in func.candidates]
    allowed: dict[int, set[str]] = {}
    diagnostics: list[Diagnostic] = []
    text = source if source is not None else module.code
    # Tokenizing is slow, so only files that mention a suppression at all pay for it.
    if "durablec:" in text:
        diagnostics.extend(_suppressions(text, path, allowed, config, _UNKNOWN_SUPPRESSION in select))
    if not candidates:
        return diagnostics
    import_edit_anchor = None
    durablec_name = next((n for n, v in linter.module_names.items() if v == "durablec"), None)
    if durablec_name is None and any(c.fix for c in candidates):
        import_edit_anchor = _import_anchor(module, linter.last_import)
    targets: list[cst.CSTNode] = [c.node for c in candidates]
    if import_edit_anchor is not None:
        targets.append(import_edit_anchor[0])
    positions = _Positions(module, targets)
    import_edit = None
    if import_edit_anchor is not None:
        anchor, after = import_edit_anchor
        line, column = (positions.ends if after else positions.starts)[id(anchor)]
        if column:
            line, column = line + 1, 0
        import_edit = Edit(line, 1, line, 1, "import durablec\n")
    seen: set[tuple[int, str]] = set()
    for candidate in candidates:
        key = (id(candidate.node), candidate.code)
        if key in seen:
            continue
        seen.add(key)
        line, column = positions.starts[id(candidate.node)]
        end_line, end_column = positions.ends[id(candidate.node)]
        if candidate.code in allowed.get(line, ()):
            continue
        fix = None
        if candidate.fix is not None:
            replacement = candidate.fix.format(durablec=durablec_name or "durablec")
            edits = [Edit(line, column + 1, end_line, end_column + 1, replacement)]
            if import_edit is not None:
                edits.insert(0, import_edit)
            fix = Fix(f"Replace with `{replacement}`", tuple(edits))
        diagnostics.append(
            Diagnostic(candidate.code, path, line, column + 1, end_line, end_column + 1, candidate.message, fix)
        )
    diagnostics.sort(key=lambda d: (d.line, d.column, d.code))
    return diagnostics


def _import_anchor(module: cst.Module, last_import: cst.CSTNode | None) -> tuple[cst.CSTNode, bool] | None:
    """Where ``import durablec`` goes: after the last top-level import, else after the module
    docstring, else before the first statement."""
    if last_import is not None:
        return last_import, True
    if not module.body:
        return None
    first = module.body[0]
    if (
        isinstance(first, cst.SimpleStatementLine)
        and isinstance(first.body[0], cst.Expr)
        and isinstance(first.body[0].value, _STRINGS)
    ):
        return first, True
    return first, False


def _comments(text: str) -> Iterator[tuple[int, int, str]]:
    """(line, 0-based column, text) of every comment; strings that look like comments are not."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                yield token.start[0], token.start[1], token.string
    except (tokenize.TokenError, SyntaxError):
        return


def _suppressions(
    text: str, path: str, allowed: dict[int, set[str]], config: LintConfig, report_unknown: bool
) -> Iterator[Diagnostic]:
    known = config.known_codes()
    for line, start, comment in _comments(text):
        for match in _SUPPRESSION.finditer(comment):
            column = start + match.start() + 1
            codes = allowed.setdefault(line, set())
            for code in (c.strip() for c in match.group(1).split(",")):
                codes.add(code)
                if report_unknown and code not in known:
                    rule = RULES_BY_CODE[_UNKNOWN_SUPPRESSION]
                    yield Diagnostic(
                        rule.CODE,
                        path,
                        line,
                        column,
                        line,
                        column + len(match.group(0)),
                        f"`{code or '(empty)'}` in `{match.group(0)}` {rule.MESSAGE}. Use the code of the finding",
                    )
