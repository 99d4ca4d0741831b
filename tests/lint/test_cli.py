"""``durablec lint`` end to end through click, on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from durablec._cli_lint import _FORMATS
from durablec.cli import main
from durablec.compiler.lint.emit import FORMATS

CLEAN = "import asyncio\n\n\nasync def task():\n    await asyncio.sleep(1)\n"
DIRTY = "import time\n\n\nasync def task():\n    return time.time()\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "clean.py").write_text(CLEAN)
    (package / "sub" / "dirty.py").write_text(DIRTY)
    (package / "notes.txt").write_text("time.time()")
    return tmp_path


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["lint", *args])
    return result.exit_code, result.stdout, result.stderr


def test_exit_0_when_clean(tree: Path) -> None:
    assert _run(str(tree / "pkg" / "clean.py")) == (0, "", "")


def test_exit_1_with_findings_in_a_directory(tree: Path) -> None:
    code, out, _ = _run(str(tree / "pkg"))
    assert code == 1
    assert out == f"{tree / 'pkg' / 'sub' / 'dirty.py'}:5:12: DC101 `time.time()` reads the wall clock; replay will see another value. Use `await durablec.now()`\n"


def test_exit_2_on_a_syntax_error_with_its_place(tree: Path) -> None:
    bad = tree / "pkg" / "bad.py"
    bad.write_text("async def task(:\n    pass\n")
    code, out, err = _run(str(tree / "pkg"))
    assert code == 2
    assert f"{bad}:1:16: syntax error:" in err
    assert "dirty.py:5:12: DC101" in out  # the other files are still linted


def test_exit_2_on_usage_errors(tree: Path) -> None:
    assert _run(str(tree / "missing.py"))[0] == 2
    assert _run("--format", "xml", str(tree))[0] == 2
    assert _run()[0] == 2


def test_exit_2_on_bad_configuration(tree: Path) -> None:
    (tree / "pyproject.toml").write_text("[tool.durablec]\nignore = ['DC999']\n")
    code, _, err = _run(str(tree / "pkg"))
    assert code == 2 and "pyproject.toml" in err and "DC999" in err


def test_json_format(tree: Path) -> None:
    code, out, _ = _run("--format", "json", str(tree / "pkg"))
    assert code == 1 and [d["code"] for d in json.loads(out)] == ["DC101"]


def test_statistics(tree: Path) -> None:
    assert _run("--statistics", str(tree / "pkg")) == (1, "1  DC101  [*] wall-clock-call\n", "")


def test_diff_changes_nothing_and_fix_rewrites(tree: Path) -> None:
    dirty = tree / "pkg" / "sub" / "dirty.py"
    code, out, _ = _run("--diff", str(dirty))
    assert code == 1 and "+    return (await durablec.now()).timestamp()" in out
    assert dirty.read_text() == DIRTY
    code, out, err = _run("--fix", str(dirty))
    assert (code, out) == (0, "") and "fixed 1 file" in err
    assert dirty.read_text() == (
        "import time\nimport durablec\n\n\nasync def task():\n    return (await durablec.now()).timestamp()\n"
    )
    assert _run("--diff", str(dirty)) == (0, "", "")


def test_command_formats_match_the_emitters() -> None:
    assert _FORMATS == FORMATS
