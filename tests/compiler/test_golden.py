"""Golden files: tests/golden/compile/<case>/input.py must compile to expected.py.

Every case also checks what holds for all compiled code: the output is valid Python with the same
line count, compiling is byte-for-byte deterministic and idempotent, and when the case defines
``async def main()``, the compiled module returns the same value as the source when run outside
any durable run (SPEC 3.6). Regenerate with ``pytest tests/compiler --update-golden`` and read
the diff.
"""

from __future__ import annotations

import ast
import asyncio
import difflib
import types
from pathlib import Path
from typing import Any

import pytest

from durablec.compiler.pipeline import compile_source

CASES = Path(__file__).parent.parent / "golden" / "compile"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "input.py").exists())


def _read(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def _compile(source: str, name: str) -> str:
    return compile_source(source, f"{name}/input.py", lint=False).code


def _run_main(source: str, name: str) -> Any:
    module = types.ModuleType(f"golden_{name}")
    exec(compile(source, f"{name}.py", "exec"), module.__dict__)
    return asyncio.run(module.main())


def test_there_are_cases() -> None:
    assert len(CASE_NAMES) >= 20


@pytest.mark.parametrize("name", CASE_NAMES)
def test_golden(name: str, request: pytest.FixtureRequest) -> None:
    source = _read(CASES / name / "input.py")
    expected_path = CASES / name / "expected.py"
    output = _compile(source, name)
    if request.config.getoption("--update-golden"):
        with open(expected_path, "w", encoding="utf-8", newline="") as f:
            f.write(output)
    expected = _read(expected_path) if expected_path.exists() else ""
    if output != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True), output.splitlines(keepends=True),
                f"{name}/expected.py", f"{name}/compiled",
            )
        )
        pytest.fail(f"compiled output differs from the golden file:\n{diff}", pytrace=False)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_invariants(name: str) -> None:
    source = _read(CASES / name / "input.py")
    output = _compile(source, name)
    compile(output, f"{name}/expected.py", "exec")
    assert output.count("\n") >= source.count("\n")
    source_lines, output_lines = source.splitlines(), output.splitlines()
    # Line fidelity: every line keeps its number (the prelude may only add a final line when
    # the module offers no earlier place for it), and a line changes only where it holds a
    # rewrite or continues a multi-line await.
    assert len(output_lines) in (len(source_lines), len(source_lines) + 1)
    continued = {
        line
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Await) and node.end_lineno
        for line in range(node.lineno + 1, node.end_lineno + 1)
    }
    for number, (before, after) in enumerate(zip(source_lines, output_lines), start=1):
        if before != after:
            assert "__dc" in after or number in continued, f"line {number} changed without a rewrite"
    assert _compile(source, name) == output, "output is not deterministic"
    assert _compile(output, name) == output, "compiling compiled output changed it"


@pytest.mark.parametrize(
    "name", [n for n in CASE_NAMES if "async def main(" in _read(CASES / n / "input.py")]
)
def test_compiled_behaves_like_source(name: str) -> None:
    source = _read(CASES / name / "input.py")
    assert _run_main(_compile(source, name), name) == _run_main(source, name)
