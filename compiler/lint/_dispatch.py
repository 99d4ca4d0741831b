"""The walk over function bodies that hands each site to the rules.

Cost model. LibCST's visitor framework rebuilds every node it passes (as expensive as the parse
itself), so the walk goes by the dataclass fields of each node type (skipping whitespace and
punctuation fields) and a handler per node type that matters. Banned names of every selected
rule are one table looked up once per name, attribute and call; a rule's hook is called only
if the rule overrides it and is selected. Findings are recorded per function as candidates, and
the engine keeps those of functions in scope.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import libcst as cst

from durablec.compiler.lint._callgraph import add_edge
from durablec.compiler.lint._names import ENTERED_TASKGROUP, TASKGROUP, Names, annotation_kind
from durablec.compiler.lint._rule import CallSite, IterationSite, display_name
from durablec.compiler.lint._ruleset import Hit, Ruleset
from durablec.compiler.lint._scope import Candidate, Function
from durablec.compiler.lint._syntax import count_args, dotted, fields, import_bindings, statements

__all__ = ["Walker"]

_ABI_CHECKPOINT = "durablec.runtime.abi.ckpt"
_ABI_RACE = "durablec.runtime.abi.race"
_ABI_CONTEXT = "durablec.runtime.abi.actx"


class Walker(Names):
    """Walks every function of a module once; implements the ``Scope`` hooks report through."""

    def __init__(self, rules: Ruleset, watch: Collection[str] = ()) -> None:
        super().__init__(rules.banned)
        # Calls the compiler asks about (completion-order calls it rewrites): (call, callee, awaited).
        self.watch = watch
        self.watched: list[tuple[cst.Call, str, bool]] = []
        # The same table as `banned`, typed for what a banned name means.
        self.table = rules.banned
        self.call_hooks = rules.call_hooks
        self.iteration_hooks = rules.iteration_hooks
        self.functions: dict[str, list[Function]] = {}
        # ids of calls that are the awaited expression, and of expressions followed by `.attr`,
        # `[...]` or `(...)` (a fix that inserts an `await` there needs parentheses).
        self.awaited: set[int] = set()
        self.discarded: set[int] = set()
        self.trailer: set[int] = set()
        # A comprehension's for-clause -> the resolved callee or type its values go to.
        self.consumers: dict[int, str] = {}
        # Inside a lambda or generator expression a fix cannot insert an `await`.
        self.no_fix = 0

    def run(self, module: cst.Module) -> None:
        for node, cls in self.bind_module(module):
            self._function(node, None, cls)

    # -- Scope, for the rules' hooks ---------------------------------------------------------------

    def report(self, code: str, node: cst.CSTNode, message: str) -> None:
        assert self.func is not None
        self.func.candidates.append(Candidate(code, node, message, None))

    # -- functions ---------------------------------------------------------------------------------

    def _function(self, node: cst.FunctionDef, parent: Function | None, cls: str | None) -> None:
        name = node.name.value
        if cls is not None:
            key = f"{cls}.{name}"
        elif parent is not None:
            key = f"{parent.key}.<locals>.{name}"
        else:
            key = name
        func = Function(key, node.asynchronous is not None, parent, cls)
        self.functions.setdefault(key, []).append(func)
        params = node.params
        ordered = [*params.posonly_params, *params.params]
        if cls is not None and ordered:
            func.self_name = ordered[0].name.value
        for param in (*ordered, *params.kwonly_params, params.star_arg, params.star_kwarg):
            if isinstance(param, cst.Param):
                func.env[param.name.value] = annotation_kind(param.annotation)
        saved = self.func, self.no_fix
        self.func, self.no_fix = func, 0
        self._walk(node.body)
        self.func, self.no_fix = saved

    def _walk(self, node: cst.CSTNode) -> None:
        handler = _HANDLERS.get(type(node))
        if handler is not None:
            handler(self, node)
            return
        for name in fields(type(node)):
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
        for stmt in statements(node.body):
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
        for name, value in import_bindings(node, self.stars):
            self.func.env[name] = value

    def _h_assign(self, node: cst.Assign) -> None:
        self._walk(node.value)
        value = self.binding_value(node.value)
        for target in node.targets:
            self._bind(target.target, value)

    def _h_ann_assign(self, node: cst.AnnAssign) -> None:
        assert self.func is not None
        if node.value is not None:
            self._walk(node.value)
        kind = annotation_kind(node.annotation)
        value = kind or (self.binding_value(node.value) if node.value is not None else None)
        self._bind(node.target, value)

    def _h_aug_assign(self, node: cst.AugAssign) -> None:
        self._walk(node.value)
        if not isinstance(node.target, cst.Name):
            self._walk(node.target)

    def _h_named_expr(self, node: cst.NamedExpr) -> None:
        self._walk(node.value)
        self._bind(node.target, self.binding_value(node.value))

    def _h_for(self, node: cst.For) -> None:
        self._walk(node.iter)
        self._iteration(node.iter, None)
        self._bind(node.target, None)
        self._walk(node.body)
        if node.orelse is not None:
            self._walk(node.orelse)

    def _h_comp_for(self, node: cst.CompFor) -> None:
        self._walk(node.iter)
        consumer = self.consumers.get(id(node))
        self._iteration(node.iter, consumer)
        self._bind(node.target, None)
        self._walk_all(node.ifs)
        if node.inner_for_in is not None:
            if consumer is not None:
                self.consumers[id(node.inner_for_in)] = consumer
            self._walk(node.inner_for_in)

    def _h_comprehension(self, node: cst.GeneratorExp | cst.ListComp | cst.SetComp | cst.DictComp) -> None:
        if isinstance(node, cst.SetComp):
            self.consumers[id(node.for_in)] = "builtins.set"
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
            value = self.binding_value(item.item)
            if value == TASKGROUP and node.asynchronous is not None:
                # The block waits for the group's children, so its create_task is grouped (DC302).
                value = ENTERED_TASKGROUP
                entered = self._context_value(item.item)
                if isinstance(entered, cst.Name):  # `async with group:`
                    self._bind(entered, value)
            if item.asname is not None:
                self._bind(item.asname.name, value)
        self._walk(node.body)

    def _context_value(self, item: cst.BaseExpression) -> cst.BaseExpression:
        """The context manager itself, also when compiled output wraps it in the ABI's ``actx``."""
        if isinstance(item, cst.Call) and len(item.args) >= 2 and self.resolve(item.func) == _ABI_CONTEXT:
            return item.args[1].value
        return item

    def _h_expr(self, node: cst.Expr) -> None:
        self.discarded.add(id(node.value))
        self._walk(node.value)

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
            self._iteration(node.value, None)
        self._walk(node.value)

    def _h_starred(self, node: cst.StarredElement) -> None:
        self._iteration(node.value, None)
        self._walk(node.value)

    def _h_subscript(self, node: cst.Subscript) -> None:
        self.trailer.add(id(node.value))
        self._walk(node.value)
        self._walk_all(node.slice)

    def _h_name(self, node: cst.Name) -> None:
        resolved = self.resolve_name(node.value)
        if resolved is not None:
            hit = self.table.get(resolved)
            if hit is not None and hit.min_args == 0:
                self._report(hit, node, node.value, resolved, None)
        add_edge(self, node)

    def _h_attribute(self, node: cst.Attribute) -> None:
        resolved = self.resolve(node)
        if resolved is not None:
            hit = self.table.get(resolved)
            if hit is not None and hit.min_args == 0:
                self._report(hit, node, dotted(node), resolved, None)
                if isinstance(node.value, (cst.Name, cst.Attribute)):
                    return
        add_edge(self, node)
        value = node.value
        if resolved is None and isinstance(value, (cst.Name, cst.Attribute)):
            # Nothing inside an unresolvable dotted chain can resolve either.
            if isinstance(value, cst.Name):
                add_edge(self, value)
            return
        self.trailer.add(id(value))
        self._walk(value)

    def _h_call(self, node: cst.Call) -> None:
        func = node.func
        awaited = id(node) in self.awaited
        resolved = self.resolve(func)
        reported = False
        if resolved == _ABI_RACE:
            # `__dc_race__(site, asyncio.as_completed, fs)`: compiled output of a completion-order
            # call the compiler rewrote because the runtime replays it (completion_order.py); its
            # arguments are judged as the source call's were.
            self._walk_args(node.args[2:], awaited)
            return
        if resolved is not None:
            if resolved in self.watch:
                self.watched.append((node, resolved, awaited))
            hit = self.table.get(resolved)
            if hit is not None and hit.calls and not (awaited and hit.exempt_when_awaited):
                if hit.min_args == 0 or count_args(node.args) < hit.min_args:
                    fix = hit.fix if not node.args else None
                    if fix is not None and id(node) in self.trailer and fix.startswith("await "):
                        fix = f"({fix})"  # `uuid4().hex` -> `(await durablec.uuid4()).hex`
                    shown = dotted(func)
                    self._report(hit, node, f"{shown}()" if shown else None, resolved, fix)
                    reported = True
            if resolved == _ABI_CHECKPOINT and len(node.args) >= 2:
                self._check_compiled_checkpoint(node, node.args[1].value)
            if self.call_hooks:
                site = CallSite(node, resolved, awaited, id(node) in self.discarded)
                for rule in self.call_hooks:
                    rule.visit_call(site, self)
            if self.iteration_hooks and node.args and type(node.args[0].value) is cst.GeneratorExp:
                generator = node.args[0].value
                assert isinstance(generator, cst.GeneratorExp)
                self.consumers[id(generator.for_in)] = resolved
        # The callee itself: its call was judged above, so only what is inside it is walked. The
        # callee of an awaited call runs inside its checkpoint (async callees are in scope anyway).
        if isinstance(func, cst.Name):
            if not awaited:
                add_edge(self, func)
        elif isinstance(func, cst.Attribute):
            if not awaited:
                add_edge(self, func)
            if not (reported and isinstance(func.value, (cst.Name, cst.Attribute))):
                self.trailer.add(id(func.value))
                self._walk(func.value)
        else:
            self.trailer.add(id(func))
            self._walk(func)
        self._walk_args(node.args, awaited)

    def _walk_args(self, args: Sequence[cst.Arg], awaited: bool) -> None:
        if awaited:
            # Arguments that are only referenced (not called) here run inside the checkpoint:
            # `await loop.run_in_executor(None, time.time)` is journaled like any awaited call.
            for arg in args:
                if not isinstance(arg.value, (cst.Name, cst.Attribute, cst.Lambda)):
                    self._walk(arg)
        else:
            self._walk_all(args)

    # -- findings ----------------------------------------------------------------------------------

    def _report(self, hit: Hit, node: cst.CSTNode, shown: str | None, resolved: str, fix: str | None) -> None:
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
        func.candidates.append(Candidate(hit.code, node, message, usable_fix))

    def _check_compiled_checkpoint(self, node: cst.Call, callee: cst.BaseExpression) -> None:
        """``__dc_ckpt__(site, asyncio.wait, ...)`` is ``await asyncio.wait(...)`` compiled: report
        what the source's awaited call would have been reported for."""
        resolved = self.resolve(callee)
        hit = self.table.get(resolved) if resolved is not None else None
        if resolved is not None and hit is not None and hit.calls and not hit.exempt_when_awaited:
            self._report(hit, node, f"{dotted(callee)}()", resolved, None)

    def _iteration(self, node: cst.BaseExpression, consumer: str | None) -> None:
        if self.iteration_hooks:
            site = IterationSite(node, self.resolve(node), consumer)
            for rule in self.iteration_hooks:
                rule.visit_iteration(site, self)


# Any: each handler takes the one node type it is registered for.
_HANDLERS: dict[type[cst.CSTNode], Callable[[Walker, Any], None]] = {
    cst.FunctionDef: Walker._h_function,
    cst.ClassDef: Walker._h_class,
    cst.Lambda: Walker._h_lambda,
    cst.Import: Walker._h_import,
    cst.ImportFrom: Walker._h_import,
    cst.Assign: Walker._h_assign,
    cst.AnnAssign: Walker._h_ann_assign,
    cst.AugAssign: Walker._h_aug_assign,
    cst.NamedExpr: Walker._h_named_expr,
    cst.For: Walker._h_for,
    cst.CompFor: Walker._h_comp_for,
    cst.GeneratorExp: Walker._h_comprehension,
    cst.ListComp: Walker._h_comprehension,
    cst.SetComp: Walker._h_comprehension,
    cst.DictComp: Walker._h_comprehension,
    cst.With: Walker._h_with,
    cst.Expr: Walker._h_expr,
    cst.ExceptHandler: Walker._h_except,
    cst.ExceptStarHandler: Walker._h_except,
    cst.Global: Walker._h_skip,
    cst.Nonlocal: Walker._h_skip,
    cst.Await: Walker._h_await,
    cst.Arg: Walker._h_arg,
    cst.StarredElement: Walker._h_starred,
    cst.Subscript: Walker._h_subscript,
    cst.Name: Walker._h_name,
    cst.Attribute: Walker._h_attribute,
    cst.Call: Walker._h_call,
}
