"""Line fidelity, deterministic output, the no-parse copy path and syntax errors."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import traceback
import types
from pathlib import Path

import asyncio
import pytest

from durablec.compiler.pipeline import compile_source
from durablec.errors import CompileError

FAILING = '''import asyncio


async def charge(amount):
    await asyncio.sleep(0)
    raise RuntimeError(f"card declined for {amount}")


async def main():
    total = await charge(
        12,
    )
    return total
'''


def test_traceback_points_at_the_source_line(tmp_path: Path) -> None:
    compiled = compile_source(FAILING, "orders.py", lint=False).code
    assert "__dc_ckpt__" in compiled
    module = types.ModuleType("orders")
    exec(compile(compiled, "orders.py", "exec"), module.__dict__)
    with pytest.raises(RuntimeError) as caught:
        asyncio.run(module.main())
    frames = {(frame.name, frame.lineno) for frame in traceback.extract_tb(caught.value.__traceback__)}
    source_lines = FAILING.splitlines()
    assert ("charge", 6) in frames and "raise RuntimeError" in source_lines[6 - 1]
    assert ("main", 10) in frames and "await charge(" in source_lines[10 - 1]


def _compile_in_subprocess(path: Path, cwd: Path, seed: str) -> bytes:
    code = (
        "import sys; from durablec.compiler.pipeline import compile_source; "
        "text = open(sys.argv[1], encoding='utf-8').read(); "
        "sys.stdout.buffer.write(compile_source(text, sys.argv[1], lint=False).code.encode())"
    )
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run([sys.executable, "-c", code, str(path)], cwd=cwd, env=env,
                          capture_output=True, check=True).stdout


def test_output_is_byte_identical_across_processes_paths_and_hash_seeds(tmp_path: Path) -> None:
    source = Path(asyncio.__file__).parent / "tasks.py"
    first_copy = tmp_path / "a" / "tasks.py"
    second_copy = tmp_path / "deeper" / "b" / "tasks.py"
    for copy in (first_copy, second_copy):
        copy.parent.mkdir(parents=True)
        copy.write_bytes(source.read_bytes())
    first = _compile_in_subprocess(first_copy, tmp_path, "1")
    second = _compile_in_subprocess(second_copy, tmp_path / "deeper", "4242")
    assert b"__dc_ckpt__" in first
    assert first == second
    assert str(tmp_path).encode() not in first


def test_module_without_async_is_copied_without_parsing() -> None:
    source = "# plain module\r\nx = 1  \r\n\tdef_like = 'no coroutines here'\r\n"
    assert compile_source(source, "plain.py").code is source
    # LibCST is never loaded for such a module.
    code = (
        "import sys; from durablec.compiler.pipeline import compile_source; "
        "compile_source('x = 1\\n', 'x.py'); print('libcst' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_formatting_and_comments_survive_outside_rewritten_expressions() -> None:
    source = (
        "import asyncio\n\n\n"
        "async def main():  # keep me\n"
        "    x   =   await asyncio.sleep( 0 ,  1 )   # and me\n"
        "    # a full-line comment\n"
        "    return    x\n"
    )
    out = compile_source(source, "m.py", lint=False).code.splitlines()
    assert out[3] == "async def main():  # keep me"
    assert out[4].startswith("    x   =   await __dc_ckpt__(") and out[4].endswith("   # and me")
    assert out[5:] == ["    # a full-line comment", "    return    x"]


def test_syntax_error_names_file_line_and_column() -> None:
    with pytest.raises(CompileError) as caught:
        compile_source("async def f():\n    return await (\n", "tasks/bad.py")
    error = caught.value
    assert (error.path, error.line) == ("tasks/bad.py", 2)
    assert str(error).startswith("tasks/bad.py:2:")


def test_every_site_names_its_own_line_across_asyncio() -> None:
    """Across a real corpus, each rewritten await carries the line it stands on in the output."""
    checked = 0
    for path in sorted((Path(asyncio.__file__).parent).glob("*.py")):
        output = compile_source(path.read_text(encoding="utf-8"), str(path), lint=False).code
        for node in ast.walk(ast.parse(output)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id.startswith("__dc_") and node.args):
                site = ast.literal_eval(node.args[0])
                assert site[1] == node.lineno, f"{path.name}:{node.lineno}: site says line {site[1]}"
                checked += 1
    assert checked > 120
