"""--fix: the safe replacements, through aliases, adding the import once, keeping formatting."""

from __future__ import annotations

import asyncio
import textwrap
import uuid

from durablec.compiler.lint import LintConfig, lint_source
from durablec.compiler.lint.fix import apply_fixes, unified_diff


def _fix(source: str) -> str:
    source = textwrap.dedent(source)
    return apply_fixes(source, lint_source(source, "t.py", LintConfig.default()))


def test_replacements_through_aliases_and_one_import() -> None:
    before = '''\
        """Tasks."""
        from __future__ import annotations

        import time as _t  # the clock
        from random import random as rnd
        import uuid


        async def task(x):
            started = _t.time()   # keep this comment
            roll = rnd() * 6
            ident = str(uuid.uuid4())
            return started, roll, ident
    '''
    after = '''\
        """Tasks."""
        from __future__ import annotations

        import time as _t  # the clock
        from random import random as rnd
        import uuid
        import durablec


        async def task(x):
            started = (await durablec.now()).timestamp()   # keep this comment
            roll = await durablec.random() * 6
            ident = str(await durablec.uuid4())
            return started, roll, ident
    '''
    fixed = _fix(before)
    assert fixed == textwrap.dedent(after)
    assert lint_source(fixed, "t.py", LintConfig.default()) == []


def test_existing_import_alias_is_used() -> None:
    fixed = _fix(
        """
        import durablec as dc
        import time


        async def task():
            return time.time()
        """
    )
    assert "return (await dc.now()).timestamp()" in fixed and fixed.count("import durablec") == 1


def test_no_import_statement_goes_after_the_docstring() -> None:
    fixed = _fix('"""Doc."""\n\n\nasync def task(random):\n    return __import__("uuid").uuid4()\n')
    assert fixed.startswith('"""Doc."""\n')
    source = "async def task():\n    from time import time\n    return time()\n"
    assert _fix(source) == (
        "import durablec\nasync def task():\n    from time import time\n    return (await durablec.now()).timestamp()\n"
    )


def test_not_fixed_where_await_would_change_meaning() -> None:
    source = textwrap.dedent(
        """
        import time


        def sync_helper():
            return time.time()


        async def task(xs):
            b = sum(time.time() for _ in xs)
            c = lambda: time.time()
            d = time.time_ns()
            return sync_helper(), b, c, d
        """
    )
    findings = lint_source(source, "t.py", LintConfig.default())
    assert len(findings) == 4 and all(f.fix is None for f in findings)
    assert apply_fixes(source, findings) == source


def test_a_call_followed_by_a_trailer_is_parenthesized() -> None:
    fixed = _fix("import time, uuid\n\n\nasync def task():\n    return time.time().hex(), uuid.uuid4().hex[:8]\n")
    assert "    return (await durablec.now()).timestamp().hex(), (await durablec.uuid4()).hex[:8]\n" in fixed


def test_diff_shows_the_change() -> None:
    source = "import time\n\n\nasync def task():\n    return time.time()\n"
    diff = unified_diff("t.py", source, _fix(source))
    assert diff.startswith("--- a/t.py\n+++ b/t.py\n")
    assert "-    return time.time()\n+    return (await durablec.now()).timestamp()\n" in diff
    assert "+import durablec\n" in diff


def test_fixed_code_runs_and_keeps_the_types() -> None:
    fixed = _fix(
        """
        import random
        import time
        import uuid


        async def task():
            return time.time(), random.random(), uuid.uuid4()
        """
    )
    namespace: dict[str, object] = {}
    exec(compile(fixed, "fixed.py", "exec"), namespace)
    stamp, roll, ident = asyncio.run(namespace["task"]())  # type: ignore[operator]  # exec'd function
    assert isinstance(stamp, float) and 0 <= roll < 1 and isinstance(ident, uuid.UUID)
