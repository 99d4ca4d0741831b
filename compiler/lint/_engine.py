"""The lint engine: resolves, walks and dispatches over an already-parsed module, never
mutating it, and turns the candidate findings of functions in scope into diagnostics.

The work is split by job: ``_names`` resolves names through imports and aliases, ``_dispatch``
walks function bodies and hands sites to the rules, ``_callgraph`` draws the scope (SPEC 4:
every ``async def`` and the same-module functions they reach; module-level code and class
bodies run once at import and are not linted), ``_suppress`` reads suppression comments and
``_positions`` places the few nodes that end up in findings.
"""

from __future__ import annotations

import libcst as cst

from durablec.compiler.diagnostics import Diagnostic, Edit, Fix
from durablec.compiler.lint._callgraph import in_scope
from durablec.compiler.lint._config import LintConfig
from durablec.compiler.lint._dispatch import Walker
from durablec.compiler.lint._ruleset import ruleset
from durablec.compiler.lint._positions import Positions
from durablec.compiler.lint._rule import SuppressionSite
from durablec.compiler.lint._suppress import suppressions
from durablec.compiler.lint._syntax import STRINGS

__all__ = ["lint_tree"]


def lint_tree(module: cst.Module, path: str, config: LintConfig, source: str | None) -> list[Diagnostic]:
    """Lint one parsed module under a configuration already resolved for its path."""
    rules = ruleset(config.select, config.extend_banned)
    walker = Walker(rules)
    walker.run(module)
    candidates = [c for func in in_scope(walker.functions, walker.class_bases) for c in func.candidates]
    allowed: dict[int, set[str]] = {}
    diagnostics: list[Diagnostic] = []
    known = config.known_codes()
    for suppression in suppressions(source if source is not None else module.code):
        allowed.setdefault(suppression.line, set()).add(suppression.code)
        site = SuppressionSite(suppression.code, suppression.comment, known)
        for rule in rules.suppression_hooks:
            message = rule.visit_suppression(site)
            if message is not None:
                line, column = suppression.line, suppression.column
                end = column + len(suppression.comment)
                diagnostics.append(Diagnostic(rule.CODE, path, line, column, line, end, message))
    if not candidates:
        return diagnostics
    import_edit_anchor = None
    durablec_name = next((n for n, v in walker.module_names.items() if v == "durablec"), None)
    if durablec_name is None and any(c.fix for c in candidates):
        import_edit_anchor = _import_anchor(module, walker.last_import)
    targets: list[cst.CSTNode] = [c.node for c in candidates]
    if import_edit_anchor is not None:
        targets.append(import_edit_anchor[0])
    positions = Positions(module, targets)
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
        and isinstance(first.body[0].value, STRINGS)
    ):
        return first, True
    return first, False
