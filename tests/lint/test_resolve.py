"""Meaning, not spelling: imports and aliases resolve; look-alike names do not."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from durablec.compiler.lint import LintConfig, lint_module, lint_source
from durablec.errors import CompileError

from lint_helpers import codes, lint


@pytest.mark.parametrize(
    "source",
    [
        "import time\n\nasync def t():\n    return time.time()\n",
        "import time as _t\n\nasync def t():\n    return _t.time()\n",
        "from time import time as now\n\nasync def t():\n    return now()\n",
        "from datetime import datetime\n\nasync def t():\n    return datetime.now()\n",
        "import datetime\n\nasync def t():\n    return datetime.datetime.now()\n",
        "import datetime as dt\n\nasync def t():\n    return dt.date.today()\n",
        "from time import *\n\nasync def t():\n    return time()\n",
        "import time\n\nclock = time.time\n\nasync def t():\n    return clock()\n",
        "async def t():\n    import time\n    return time.time()\n",
        "import time\n\nasync def t():\n    f = time.time\n    return f\n",
    ],
)
def test_aliases_resolve_to_the_wall_clock(source: str) -> None:
    assert [d.code for d in lint(source)] == ["DC101"]


@pytest.mark.parametrize(
    "source",
    [
        # a parameter named like the module
        "async def t(time):\n    return time.time()\n",
        # a local assigned something else
        "async def t(clock):\n    time = clock\n    return time.time()\n",
        # an attribute that merely shares the name
        "async def t(self):\n    return self.random.random(), self.time()\n",
        # a user class named like the stdlib one
        "class datetime:\n    @staticmethod\n    def now():\n        return 0\n\nasync def t():\n    return datetime.now()\n",
        # a user function shadowing an import
        "from time import time\n\ndef time():\n    return 0\n\nasync def t():\n    return time()\n",
        # a name of another module
        "from mylib import time\n\nasync def t():\n    return time.time()\n",
        # for-loop target and comprehension variable
        "async def t(xs):\n    for random in xs:\n        random.random()\n    return [uuid.uuid4() for uuid in xs]\n",
    ],
)
def test_look_alike_names_are_not_findings(source: str) -> None:
    assert lint(source) == []


def test_scope_is_async_defs_and_the_sync_functions_they_reach() -> None:
    source = """
        import time

        started = time.time()


        def unused():
            return time.time()


        def leaf():
            return time.time()


        def middle():
            return leaf()


        class Job:
            def stamp(self):
                return time.time()

            async def run(self):
                return self.stamp(), middle()


        def callback_target():
            return time.monotonic()


        async def task(items):
            return sorted(items, key=callback_target)
    """
    assert codes(source) == [(12, "DC101"), (21, "DC101"), (28, "DC102")]


def test_nested_functions_and_lambdas_inside_async_defs() -> None:
    source = """
        import random


        async def task(items):
            def pick():
                return random.choice(items)

            def never_called():
                return random.choice(items)

            key = lambda _: random.random()
            return pick(), sorted(items, key=key)
    """
    assert codes(source) == [(7, "DC201"), (12, "DC201")]


def test_an_awaited_call_is_a_checkpoint_but_its_evaluated_arguments_are_not() -> None:
    source = """
        import asyncio
        import time


        def make_request():
            return send({"at": time.time()})  # runs inside the checkpoint below


        async def task(loop):
            a = await asyncio.to_thread(time.time)
            b = await asyncio.to_thread(lambda: time.time())
            c = await send(time.time())
            d = await asyncio.create_task(send(1))
            return a, b, c, d, await make_request()
    """
    assert codes(source) == [(13, "DC101")]


def test_seeded_random_is_allowed_and_unseeded_is_not() -> None:
    source = """
        import random


        async def task(seed):
            return random.Random(42), random.Random(seed), random.Random(x=seed), random.Random(None), random.Random()
    """
    line = textwrap.dedent(source).strip().splitlines()[-1]
    flagged = [line.index("random.Random(None)") + 1, line.index("random.Random()") + 1]
    assert [d.column for d in lint(source)] == flagged


def test_compiled_output_is_linted_without_crashing() -> None:
    source = """
        from durablec.runtime.abi import ckpt as __dc_ckpt__, aw as __dc_aw__
        import asyncio
        import time


        async def task(x):
            a = await __dc_ckpt__(("asyncio.to_thread", 7, 8), asyncio.to_thread, time.time)
            b = await __dc_aw__(("x", 8, 8), x)
            return await __dc_ckpt__(("send", 9, 17), send, time.time())
    """
    assert codes(source) == [(10, "DC101")]


def test_lint_module_does_not_mutate_the_tree() -> None:
    source = "import time\nimport durablec\n\n\nasync def t():\n    return time.time()  # hi\n"
    module = cst.parse_module(source)
    before = cst.parse_module(source)
    found = lint_module(module, "t.py", LintConfig.default())
    assert [d.code for d in found] == ["DC101"]
    assert module.deep_equals(before) and module.code == source
    # without the source text the findings are the same
    assert lint_module(module, "t.py", LintConfig.default(), source=source) == found


def test_positions_are_one_based_and_cover_the_call_with_its_parentheses() -> None:
    (finding,) = lint("import uuid\n\n\nasync def t():\n    x = (uuid.uuid4()) + 1\n")
    assert (finding.line, finding.column, finding.end_line, finding.end_column) == (5, 9, 5, 23)


def test_syntax_error_is_a_compile_error_with_its_place() -> None:
    with pytest.raises(CompileError) as caught:
        lint_source("async def t(:\n    pass\n", "bad.py", LintConfig.default())
    assert str(caught.value).startswith("bad.py:1:13: syntax error: ")


def test_string_sets_by_annotation_operation_and_literal() -> None:
    source = """
        from typing import AbstractSet


        async def task(a: AbstractSet[str], b: frozenset[int], words: str):
            for x in a:
                pass
            for y in b:
                pass
            found = {w for w in set(words.split())}
            return list(found), sorted(a), {"x", "y"} - {"x"}, tuple({"p", "q"} - a)
    """
    assert codes(source) == [(6, "DC403"), (11, "DC403")]


def test_compiled_output_has_the_same_findings_as_its_source() -> None:
    from durablec.compiler.pipeline import compile_source

    source = textwrap.dedent(
        """
        import asyncio
        import os
        import time


        def stamp():
            return time.time()


        async def task(loop, xs):
            a = await asyncio.to_thread(stamp)
            b = await loop.run_in_executor(None, os.getenv, "A")
            async with asyncio.TaskGroup() as tg:
                tg.create_task(asyncio.sleep(stamp()))
            return a, b, [await asyncio.sleep(0) for _ in xs], os.environ["B"]
        """
    )
    compiled = compile_source(source, "t.py", lint=False).code
    found = [(d.line, d.code) for d in lint_source(source, "t.py", LintConfig.default())]
    # `tg.create_task` on a group entered with `async with` is a durable child: no DC302
    assert found == [(8, "DC101"), (16, "DC401")]
    assert [(d.line, d.code) for d in lint_source(compiled, "t.py", LintConfig.default())] == found


def test_compiled_completion_order_calls_keep_their_findings() -> None:
    from durablec.compiler.pipeline import compile_source

    source = textwrap.dedent(
        """
        import asyncio


        async def task(aws):
            done, _ = await asyncio.wait(aws)
            for fut in asyncio.as_completed(aws):
                await fut
            for fut in asyncio.as_completed(aws, timeout=1):
                await fut
            return done, await asyncio.wait_for(asyncio.wait(aws), 1)
        """
    )
    compiled = compile_source(source, "t.py", lint=False).code
    found = [(d.line, d.code) for d in lint_source(source, "t.py", LintConfig.default())]
    assert found == [(9, "DC303"), (11, "DC303")]
    assert [(d.line, d.code) for d in lint_source(compiled, "t.py", LintConfig.default())] == found


def test_a_task_group_entered_with_async_with_is_seen_in_compiled_output_too() -> None:
    from durablec.compiler.pipeline import compile_source

    source = textwrap.dedent(
        """
        import asyncio


        async def task(urls):
            group = asyncio.TaskGroup()
            async with group:
                group.create_task(fetch(urls[0]))
            lonely = asyncio.TaskGroup()
            lonely.create_task(fetch(urls[1]))
            asyncio.create_task(fetch(urls[2]))
        """
    )
    compiled = compile_source(source, "t.py", lint=False).code
    found = [(d.line, d.code) for d in lint_source(source, "t.py", LintConfig.default())]
    assert found == [(10, "DC302"), (11, "DC301")]
    assert [(d.line, d.code) for d in lint_source(compiled, "t.py", LintConfig.default())] == found
