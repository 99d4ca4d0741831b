"""CPython's own coroutine test suites, compiled, must pass exactly as they do from source.

These suites probe the corners of async Python (async generators' asend/athrow/aclose,
coroutine wrappers, `async with` protocol errors, never-awaited warnings, frames), so they test
the transformer's transparency (SPEC 3.6) on code written by people who know those corners best.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from durablec.compiler.pipeline import compile_source

SUITES = ("test_coroutines", "test_asyncgen", "test_contextlib_async")
STDLIB_TESTS = Path(os.__file__).parent / "test"


def _run(directory: Path, suite: str) -> dict[str, str]:
    """Run one unittest module; map each test id to its outcome."""
    completed = subprocess.run(
        [sys.executable, "-m", "unittest", "-v", suite],
        cwd=directory, capture_output=True, text=True, timeout=600,
    )
    outcomes = dict(re.findall(r"^(\w+ \([\w.]+\)) \.\.\. (ok|FAIL|ERROR|skipped.*|expected failure)$",
                               completed.stderr, re.MULTILINE))
    assert outcomes, completed.stderr[-2000:]
    return outcomes


@pytest.mark.parametrize("suite", SUITES)
def test_compiled_suite_matches_source(suite: str, tmp_path: Path) -> None:
    original = STDLIB_TESTS / f"{suite}.py"
    if not original.exists():
        pytest.skip(f"this Python ships without its test suite ({original} is missing)")
    source_dir, compiled_dir = tmp_path / "source", tmp_path / "compiled"
    source_dir.mkdir()
    compiled_dir.mkdir()
    text = original.read_text(encoding="utf-8")
    compiled = compile_source(text, str(original), lint=False).code
    assert compiled.count("__dc_ckpt__(") > 20, "the suite's awaits were not rewritten"
    (source_dir / original.name).write_text(text, encoding="utf-8")
    (compiled_dir / original.name).write_text(compiled, encoding="utf-8")

    before, after = _run(source_dir, suite), _run(compiled_dir, suite)
    assert set(after) == set(before)
    regressions = {test: after[test] for test, outcome in before.items()
                   if outcome == "ok" and after[test] != "ok"}
    assert not regressions
