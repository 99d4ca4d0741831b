"""The checkpoint transformer: every ``await`` becomes a call into ``durablec.runtime.abi``.

The rewrite is purely local, so evaluation order, laziness (``and``/``or``/conditional
expressions) and scoping are the source's own::

    await f(a, *b, k=c)      ->  await __dc_ckpt__(SITE, f, a, *b, k=c)
    await expr               ->  await __dc_aw__(SITE, expr)
    async for x in it        ->  async for x in __dc_aiter__(SITE, it)
    async with cm as x       ->  async with __dc_actx__(SITE, cm) as x

and the completion-order calls the linter's name resolution found replayable (see
``durablec.compiler.lint.completion_calls``)::

    asyncio.as_completed(fs)      ->  __dc_race__(SITE, asyncio.as_completed, fs)
    await asyncio.wait(fs, ...)   ->  await __dc_race__(SITE, asyncio.wait, fs, ...)

Positions and callee texts come from CPython's ``ast`` (about 20x cheaper than LibCST's position
metadata): each kind of site is matched between the two trees by source order, which is the order
a pre-order walk of the LibCST tree visits them.

Line fidelity: nothing here adds or removes a newline, except the prelude when a module offers no
line to carry it (then it goes after the last line).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import libcst as cst

from durablec.runtime.abi import ABI_NAMES

__all__ = ["SKIP_MARKER", "GeneratedNames", "is_compiled", "transform"]

SKIP_MARKER = re.compile(r"#\s*durablec:\s*skip\b")
"""A line comment that leaves the awaits of its line (or of an ``async def`` line's whole
function) live on every replay."""

_CODING_COOKIE = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+")
_ABI_MODULE = "durablec.runtime.abi"
# Characters that cannot appear in a string literal inside a Python 3.11 f-string expression
# (besides the enclosing quotes, which are checked per f-string).
_FSTRING_UNSAFE = frozenset("\\#{}\n\r'\"")


@dataclass(frozen=True, slots=True)
class _Site:
    callee: str
    line: int
    column: int  # 1-based, in characters


@dataclass(slots=True)
class _Sites:
    """The sites of one module, by kind, in source order."""

    awaits: list[_Site] = field(default_factory=list)
    fors: list[_Site] = field(default_factory=list)
    withs: list[_Site] = field(default_factory=list)
    comps: list[_Site] = field(default_factory=list)
    skipped_lines: frozenset[int] = frozenset()
    skipped_functions: tuple[tuple[int, int], ...] = ()
    # Per def/class in source order: (holds a site, number of defs/classes nested in it), so the
    # rewriter can skip whole definitions that hold no await without walking them.
    definitions: list[tuple[bool, int]] = field(default_factory=list)

    def is_skipped(self, line: int) -> bool:
        return line in self.skipped_lines or any(a <= line <= b for a, b in self.skipped_functions)


@dataclass(frozen=True, slots=True)
class GeneratedNames:
    """The module-level names the prelude binds, chosen so no user identifier can collide."""

    prefix: str

    def name(self, entry: str) -> str:
        # Dunder-shaped so class bodies never mangle them.
        return f"{self.prefix}{entry}__"

    @classmethod
    def avoiding(cls, identifiers: set[str]) -> GeneratedNames:
        for n in range(len(identifiers) + 1):
            names = cls("__dc_" if n == 0 else f"__dc{n}_")
            if not any(names.name(entry) in identifiers for entry in ABI_NAMES):
                return names
        raise AssertionError("unreachable: one of len+1 prefixes is always free")


def is_compiled(tree: ast.Module) -> bool:
    """True when the module already imports the ABI at module level (compiled output)."""
    return any(
        isinstance(statement, ast.ImportFrom) and statement.module == _ABI_MODULE
        for statement in tree.body
    )


def transform(
    module: cst.Module, tree: ast.Module, source: str,
    races: Mapping[int, tuple[str, int, int]] | None = None,
) -> cst.Module | None:
    """Rewrite every await of ``module``; None when there is nothing to rewrite.

    ``tree`` is CPython's AST of the same ``source``. ``races`` maps the ``id`` of each
    completion-order call of ``module`` to hand to the runtime to its site (callee, line, column).
    """
    sites = _collect_sites(tree, source)
    if not (sites.awaits or sites.fors or sites.withs or sites.comps or races):
        return None
    names = GeneratedNames.avoiding(_identifiers(tree))
    rewriter = _Rewriter(sites, names, races or {})
    rewritten = module.visit(rewriter)
    rewriter.check_exhausted()
    if not rewriter.used:
        return None
    used = [entry for entry in ABI_NAMES if entry in rewriter.used]
    return _insert_prelude(rewritten, _prelude(names, used))


def _dotted(node: cst.BaseExpression | None) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _identifiers(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.alias):
            found.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            found.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            found.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            found.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            found.add(node.rest)
    return found


# --- sites, from CPython's AST ------------------------------------------------------------------


def _collect_sites(tree: ast.Module, source: str) -> _Sites:
    lines = source.splitlines()
    sites = _Sites()

    def site(text_of: ast.AST, at: ast.expr | ast.stmt) -> _Site:
        line = at.lineno
        column = at.col_offset
        text = lines[line - 1] if line <= len(lines) else ""
        if not text.isascii():  # ast columns count UTF-8 bytes
            column = len(text.encode("utf-8")[:column].decode("utf-8", "replace"))
        return _Site(ast.unparse(text_of), line, column + 1)

    skipped_functions: list[tuple[int, int]] = []
    skipped_lines = frozenset(_skip_lines(source))
    for node in ast.walk(tree):
        if isinstance(node, ast.Await):
            callee = node.value.func if isinstance(node.value, ast.Call) else node.value
            sites.awaits.append(site(callee, node))
        elif isinstance(node, ast.AsyncFor):
            sites.fors.append(site(node.iter, node))
        elif isinstance(node, ast.AsyncWith):
            sites.withs.extend(site(item.context_expr, item.context_expr) for item in node.items)
        elif isinstance(node, ast.comprehension) and node.is_async:
            sites.comps.append(site(node.iter, node.iter))
        elif (
            isinstance(node, ast.AsyncFunctionDef)
            and node.lineno in skipped_lines
            and node.end_lineno is not None
        ):
            skipped_functions.append((node.lineno, node.end_lineno))
    for kind in (sites.awaits, sites.fors, sites.withs, sites.comps):
        kind.sort(key=lambda s: (s.line, s.column))
    _plan_definitions(tree, sites.definitions)
    sites.skipped_lines = skipped_lines
    sites.skipped_functions = tuple(skipped_functions)
    return sites


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_SITE_NODES = (ast.Await, ast.AsyncFor, ast.AsyncWith, ast.comprehension)


def _plan_definitions(node: ast.AST, plan: list[tuple[bool, int]]) -> tuple[bool, int]:
    """Append (holds a site, nested definitions) for each definition under ``node`` in source
    order; return the same pair for ``node``'s own subtree."""
    holds = isinstance(node, _SITE_NODES) and (not isinstance(node, ast.comprehension) or bool(node.is_async))
    nested = 0
    for child in ast.iter_child_nodes(node):  # statement lists come in source order
        if isinstance(child, _DEFINITIONS):
            index = len(plan)
            plan.append((False, 0))
            child_holds, child_nested = _plan_definitions(child, plan)
            plan[index] = (child_holds, child_nested)
            nested += 1 + child_nested
        else:
            child_holds, child_nested = _plan_definitions(child, plan)
            nested += child_nested
        holds = holds or child_holds
    return holds, nested


def _skip_lines(source: str) -> list[int]:
    """Lines whose comment carries the skip marker (tokenizing only when the marker occurs)."""
    if not SKIP_MARKER.search(source):
        return []
    import io
    import tokenize

    return [
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT and SKIP_MARKER.match(token.string)
    ]


# --- the rewrite ---------------------------------------------------------------------------------


class _Rewriter(cst.CSTTransformer):
    def __init__(self, sites: _Sites, names: GeneratedNames, races: Mapping[int, tuple[str, int, int]]) -> None:
        super().__init__()
        self._sites = sites
        self._names = names
        self._races = races
        self._next = {"await": 0, "for": 0, "with": 0, "comp": 0}
        self._pending_awaits: list[_Site] = []
        self._awaited: list[cst.BaseExpression] = []  # the expression of each enclosing await
        self._pending_fors: list[_Site] = []
        self._pending_withs: list[list[_Site]] = []
        self._pending_comps: list[_Site] = []
        self._fstring_quotes: list[str] = []
        self._definition = 0
        self.used: set[str] = set()

    def _take(self, kind: str, pool: list[_Site]) -> _Site:
        index = self._next[kind]
        if index >= len(pool):
            raise _SiteMismatch(kind)
        self._next[kind] = index + 1
        return pool[index]

    def _enter_definition(self) -> bool:
        holds, nested = self._sites.definitions[self._definition]
        self._definition += 1 if holds else 1 + nested
        return holds

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return self._enter_definition()

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return self._enter_definition()

    def check_exhausted(self) -> None:
        if self._definition != len(self._sites.definitions):
            raise _SiteMismatch("definition")
        pools = {"await": self._sites.awaits, "for": self._sites.fors,
                 "with": self._sites.withs, "comp": self._sites.comps}
        for kind, pool in pools.items():
            if self._next[kind] != len(pool):
                raise _SiteMismatch(kind)

    # f-string context: which quote characters a site literal must avoid
    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self._fstring_quotes.append(node.quote)

    def leave_FormattedString(
        self, original_node: cst.FormattedString, updated_node: cst.FormattedString
    ) -> cst.FormattedString:
        self._fstring_quotes.pop()
        return updated_node

    def leave_Await(self, original_node: cst.Await, updated_node: cst.Await) -> cst.Await:
        site = self._pending_awaits.pop()
        self._awaited.pop()
        if self._sites.is_skipped(site.line):
            return updated_node
        expression = updated_node.expression
        if isinstance(expression, cst.Call):
            entry = "race" if id(original_node.expression) in self._races else "ckpt"
            return updated_node.with_changes(expression=self._routed(entry, site, expression))
        return updated_node.with_changes(
            expression=cst.Call(self._entry("aw"), [self._arg(self._site(site)), self._arg(expression)])
        )

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        race = self._races.get(id(original_node))
        if race is None or (self._awaited and self._awaited[-1] is original_node):
            return updated_node  # an awaited one is routed by leave_Await
        site = _Site(*race)
        if self._sites.is_skipped(site.line):
            return updated_node
        return self._routed("race", site, updated_node)

    def visit_Await(self, node: cst.Await) -> None:
        self._pending_awaits.append(self._take("await", self._sites.awaits))
        self._awaited.append(node.expression)

    def _routed(self, entry: str, site: _Site, expression: cst.Call) -> cst.Call:
        """``f(args)`` as ``entry(SITE, f, args)``."""
        # Site and callee go right after the paren, on the call's own line; the whitespace
        # that preceded the first argument (perhaps a newline) follows them.
        gap = expression.whitespace_before_args
        if isinstance(gap, cst.SimpleWhitespace) and not gap.value:
            gap = cst.SimpleWhitespace(" ")
        callee = (
            cst.Arg(expression.func, comma=cst.Comma(whitespace_after=gap))
            if expression.args
            else cst.Arg(expression.func, whitespace_after_arg=expression.whitespace_before_args)
        )
        return expression.with_changes(
            func=self._entry(entry),
            whitespace_before_args=cst.SimpleWhitespace(""),
            args=[self._arg(self._site(site)), callee,
                  *(_parenthesize_bare_generator(a) for a in expression.args)],
        )

    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is not None:
            self._pending_fors.append(self._take("for", self._sites.fors))

    def leave_For(self, original_node: cst.For, updated_node: cst.For) -> cst.For:
        if updated_node.asynchronous is None:
            return updated_node
        site = self._pending_fors.pop()
        if self._sites.is_skipped(site.line):
            return updated_node
        return updated_node.with_changes(iter=self._wrap("aiter", site, updated_node.iter))

    def visit_With(self, node: cst.With) -> None:
        if node.asynchronous is not None:
            self._pending_withs.append([self._take("with", self._sites.withs) for _ in node.items])

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        if updated_node.asynchronous is None:
            return updated_node
        items = [
            item if self._sites.is_skipped(site.line)
            else item.with_changes(item=self._wrap("actx", site, item.item))
            for item, site in zip(updated_node.items, self._pending_withs.pop(), strict=True)
        ]
        return updated_node.with_changes(items=items)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if node.asynchronous is not None:
            self._pending_comps.append(self._take("comp", self._sites.comps))

    def leave_CompFor(self, original_node: cst.CompFor, updated_node: cst.CompFor) -> cst.CompFor:
        if updated_node.asynchronous is None:
            return updated_node
        site = self._pending_comps.pop()
        if self._sites.is_skipped(site.line):
            return updated_node
        return updated_node.with_changes(iter=self._wrap("aiter", site, updated_node.iter))

    # building blocks

    def _entry(self, entry: str) -> cst.Name:
        self.used.add(entry)
        return cst.Name(self._names.name(entry))

    def _wrap(self, entry: str, site: _Site, value: cst.BaseExpression) -> cst.Call:
        if isinstance(value, cst.Tuple) and not value.lpar:  # `async for x in a, b:`
            value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return cst.Call(self._entry(entry), [self._arg(self._site(site)), self._arg(value)])

    @staticmethod
    def _arg(value: cst.BaseExpression) -> cst.Arg:
        return cst.Arg(value=value)

    def _site(self, site: _Site) -> cst.Tuple:
        return cst.Tuple(
            [
                cst.Element(self._callee_literal(site.callee)),
                cst.Element(cst.Integer(str(site.line))),
                cst.Element(cst.Integer(str(site.column))),
            ]
        )

    def _callee_literal(self, text: str) -> cst.BaseExpression:
        if not self._fstring_quotes:
            return cst.SimpleString(repr(text))
        # Python 3.11 f-string expressions forbid backslashes, comments and their own quotes.
        if not (_FSTRING_UNSAFE & set(text)):
            for quote in ("'", '"'):
                if not any(quote in enclosing for enclosing in self._fstring_quotes):
                    return cst.SimpleString(f"{quote}{text}{quote}")
        return cst.Tuple([cst.Element(cst.Integer(str(ord(ch)))) for ch in text])


class _SiteMismatch(Exception):
    """The AST and LibCST trees disagree on the sites of one kind: a compiler bug."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"internal compiler error: {kind} sites of the two parse trees disagree")


def _parenthesize_bare_generator(arg: cst.Arg) -> cst.Arg:
    # `f(x for x in y)` is only valid as a sole argument; after the site and callee it needs parens.
    value = arg.value
    if isinstance(value, cst.GeneratorExp) and not value.lpar:
        return arg.with_changes(value=value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]))
    return arg


# --- the prelude ---------------------------------------------------------------------------------


def _prelude(names: GeneratedNames, used: Sequence[str]) -> cst.ImportFrom:
    return cst.ImportFrom(
        module=cst.Attribute(cst.Attribute(cst.Name("durablec"), cst.Name("runtime")), cst.Name("abi")),
        names=[
            cst.ImportAlias(cst.Name(entry), asname=cst.AsName(cst.Name(names.name(entry))))
            for entry in used
        ],
    )


def _insert_prelude(module: cst.Module, prelude: cst.ImportFrom) -> cst.Module:
    """Bind the ABI names on an existing line, before any code that could run a compiled await.

    In order of preference: prefix the first statement after the docstring and ``__future__``
    imports when it is a simple statement; append to the docstring or future-import line; take a
    blank (else a comment) line before the first statement; skip over leading plain ``def``
    statements, which run no code when they execute, to the next such place; else add a line
    after the last.
    """
    body = list(module.body)
    first = 0
    while first < len(body) and _is_docstring_or_future(body[first], first):
        first += 1
    joined = prelude.with_changes(semicolon=cst.Semicolon(whitespace_after=cst.SimpleWhitespace(" ")))

    if first < len(body) and isinstance(body[first], cst.SimpleStatementLine):
        statement = body[first]
        assert isinstance(statement, cst.SimpleStatementLine)
        body[first] = statement.with_changes(body=[joined, *statement.body])
        return module.with_changes(body=body)

    if first > 0:
        statement = body[first - 1]
        assert isinstance(statement, cst.SimpleStatementLine)
        *rest, last = statement.body
        if isinstance(last.semicolon, cst.MaybeSentinel):
            last = last.with_changes(semicolon=cst.Semicolon(whitespace_after=cst.SimpleWhitespace(" ")))
        body[first - 1] = statement.with_changes(body=[*rest, last, prelude])
        return module.with_changes(body=body)

    header = list(module.header)
    for index in range(first, len(body)):
        statement = body[index]
        if isinstance(statement, cst.SimpleStatementLine):
            body[index] = statement.with_changes(body=[joined, *statement.body])
            return module.with_changes(body=body, header=header)
        leading = (header if index == 0 else []) + list(statement.leading_lines)
        spare = _spare_line(leading, starts_file=index == 0)
        if spare is not None:
            line = leading[spare]
            new_statement = cst.SimpleStatementLine(
                body=[prelude],
                leading_lines=leading[:spare] if index > 0 else [],
                trailing_whitespace=cst.TrailingWhitespace(
                    whitespace=cst.SimpleWhitespace("  " if line.comment else ""),
                    comment=line.comment,
                ),
            )
            if index == 0:
                header = leading[:spare]
            body[index] = statement.with_changes(leading_lines=leading[spare + 1 :])
            body.insert(index, new_statement)
            return module.with_changes(body=body, header=header)
        if not _runs_no_code(statement):
            break
    # Nothing offers a line before the first code that runs: bind the names after the last line.
    tail = cst.SimpleStatementLine(body=[prelude], leading_lines=module.footer)
    return module.with_changes(body=[*body, tail], footer=[])


class _CallFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def visit_Call(self, node: cst.Call) -> bool:
        self.found = True
        return False


def _runs_no_code(statement: cst.BaseStatement) -> bool:
    """A ``def`` without decorators and without calls in its defaults or annotations: executing
    it cannot drive a coroutine. Class bodies, decorators and defaults can, so they are not."""
    if not isinstance(statement, cst.FunctionDef) or statement.decorators:
        return False
    finder = _CallFinder()
    statement.params.visit(finder)
    if statement.returns is not None:
        statement.returns.visit(finder)
    return not finder.found


def _is_docstring_or_future(statement: cst.BaseStatement, index: int) -> bool:
    # Judged by the line's first small statement: the prelude is appended after the whole line.
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    small = statement.body[0]
    if index == 0 and isinstance(small, cst.Expr):
        return isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString))
    return isinstance(small, cst.ImportFrom) and _dotted(small.module) == "__future__"


def _spare_line(lines: Sequence[cst.EmptyLine], *, starts_file: bool) -> int | None:
    """Index of a blank line (else a comment line) that can carry the prelude; never a shebang
    or an encoding cookie, which must stay first."""
    usable = [
        i for i, line in enumerate(lines)
        if not (starts_file and i < 2 and line.comment is not None
                and (line.comment.value.startswith("#!") or _CODING_COOKIE.match(line.comment.value)))
    ]
    blank = [i for i in usable if lines[i].comment is None and lines[i].indent]
    if blank:
        return blank[-1]
    return usable[-1] if usable else None
