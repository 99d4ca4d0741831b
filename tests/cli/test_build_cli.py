"""``durablec build`` and ``durablec diff`` through the real click group, and the CLI's error rules."""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from durablec.cli import main
from durablec.compiler.build import decode_source
from durablec.compiler.pipeline import compile_source
from durablec.errors import UsageError
from durablec.exitcodes import ExitCode

TASKS = "async def fetch(x):\n    return x\n\n\nasync def main():\n    y = await fetch(1)\n    return y\n"


def invoke(*args: str, color: bool = False) -> Result:
    return CliRunner().invoke(main, list(args), color=color)


@pytest.fixture
def pkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small package in a temporary working directory, named relatively as a user would."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "shop"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "tasks.py").write_text(TASKS)
    (root / "data.json").write_text("{}\n")
    return Path("shop")


def test_exit_codes_follow_the_spec() -> None:
    assert [(code.name, int(code)) for code in ExitCode] == [
        ("OK", 0),
        ("FINDINGS", 1),
        ("USAGE", 2),
        ("SUSPENDED", 3),
    ]


def test_build_writes_the_default_output_directory(pkg: Path) -> None:
    result = invoke("build", str(pkg))
    assert result.exit_code == ExitCode.OK, result.output
    out = Path("build/durablec/shop")
    text = (pkg / "tasks.py").read_text()
    assert (out / "tasks.py").read_text() == compile_source(text, "x.py", lint=False).code
    assert (out / "data.json").read_text() == "{}\n"
    assert "build/durablec: 3 written, 0 unchanged, 0 removed" in result.stderr


def test_a_built_file_has_its_awaits_rewritten(pkg: Path) -> None:
    assert invoke("build", str(pkg), "-o", "out").exit_code == ExitCode.OK
    built = Path("out/shop/tasks.py").read_text().splitlines()
    assert re.fullmatch(r"    y = await __dc_ckpt__\(\('fetch', 6, \d+\), fetch, 1\)", built[5])
    assert "from durablec.runtime.abi import ckpt as __dc_ckpt__" in built
    assert len(built) == len(TASKS.splitlines())


def test_a_syntax_error_exits_1_naming_the_place_and_other_files_build(pkg: Path) -> None:
    (pkg / "broken.py").write_text("async def f():\n    x = (await g(\n")
    result = invoke("build", str(pkg), "-o", "out")
    assert result.exit_code == ExitCode.FINDINGS
    assert result.stderr.startswith("shop/broken.py:2:")
    assert "1 failed" in result.stderr
    assert Path("out/shop/tasks.py").exists() and not Path("out/shop/broken.py").exists()


def test_lint_findings_refuse_the_file_and_exit_1_unless_no_lint(pkg: Path) -> None:
    (pkg / "clock.py").write_text("import time\n\n\nasync def stamp():\n    return time.time()\n")
    result = invoke("build", str(pkg), "-o", "out")
    assert result.exit_code == ExitCode.FINDINGS
    lines = result.stderr.splitlines()
    assert re.fullmatch(r"shop/clock\.py:5:12: DC101 .*", lines[0])
    assert lines[1] == (
        "shop/clock.py: not built: 1 determinism finding(s); fix them, allow one on its line with "
        "'# durablec: allow[DC101]', or build with --no-lint"
    )
    assert not Path("out/shop/clock.py").exists() and Path("out/shop/tasks.py").exists()
    assert invoke("build", str(pkg), "-o", "out", "--no-lint").exit_code == ExitCode.OK
    assert Path("out/shop/clock.py").exists()


def test_check_exits_1_naming_stale_outputs_and_0_when_up_to_date(pkg: Path) -> None:
    missing = invoke("build", str(pkg), "-o", "out", "--check")
    assert missing.exit_code == ExitCode.FINDINGS
    assert "out/shop/tasks.py: missing (built from shop/tasks.py)" in missing.stdout
    assert not Path("out").exists()
    assert invoke("build", str(pkg), "-o", "out").exit_code == ExitCode.OK
    fresh = invoke("build", str(pkg), "-o", "out", "--check")
    assert (fresh.exit_code, fresh.stdout) == (ExitCode.OK, "")
    (pkg / "tasks.py").write_text(TASKS + "\n")
    stale = invoke("build", str(pkg), "-o", "out", "--check")
    assert stale.exit_code == ExitCode.FINDINGS
    assert stale.stdout == "out/shop/tasks.py: stale (differs from what shop/tasks.py compiles to)\n"


def test_jobs_and_no_lint_are_accepted(pkg: Path) -> None:
    result = invoke("build", str(pkg), "-o", "out", "--jobs", "2", "--no-lint")
    assert result.exit_code == ExitCode.OK, result.output
    assert invoke("build", str(pkg), "-o", "out", "--jobs", "0").exit_code == ExitCode.USAGE


def test_a_durablec_error_is_one_line_on_stderr_and_exit_2(pkg: Path) -> None:
    result = invoke("build", "missing_dir")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == "error: missing_dir: no such file or directory; pass an existing file or package\n"
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback(pkg: Path) -> None:
    result = invoke("--debug", "build", "missing_dir")
    assert isinstance(result.exception, UsageError)


def test_check_and_watch_together_is_a_usage_error(pkg: Path) -> None:
    result = invoke("build", str(pkg), "--check", "--watch")
    assert result.exit_code == ExitCode.USAGE
    assert "--check and --watch cannot be combined" in result.stderr


def test_version() -> None:
    result = invoke("--version")
    assert (result.exit_code, result.stdout) == (0, "durablec, version 0.1.0\n")


def test_diff_is_the_unified_diff_from_source_to_compiled(pkg: Path) -> None:
    text, _ = decode_source((pkg / "tasks.py").read_bytes())
    code = compile_source(text, "shop/tasks.py", lint=False).code
    want = "".join(
        line if line.endswith("\n") else line + "\n"
        for line in difflib.unified_diff(
            text.splitlines(keepends=True),
            code.splitlines(keepends=True),
            fromfile="shop/tasks.py",
            tofile="shop/tasks.py (compiled)",
        )
    )
    result = invoke("diff", str(pkg))
    assert result.exit_code == ExitCode.OK
    assert result.stdout == want
    assert result.stdout.startswith("--- shop/tasks.py\n+++ shop/tasks.py (compiled)\n@@")
    assert "\x1b[" not in result.stdout


def test_diff_is_coloured_on_a_terminal(pkg: Path) -> None:
    result = invoke("diff", str(pkg / "tasks.py"), color=True)
    assert result.exit_code == ExitCode.OK
    assert "\x1b[32m+" in result.stdout and "\x1b[31m-" in result.stdout


def test_diff_reports_a_syntax_error_and_shows_the_other_files(pkg: Path) -> None:
    (pkg / "broken.py").write_text("async def f(:\n")
    result = invoke("diff", str(pkg))
    assert result.exit_code == ExitCode.FINDINGS
    assert result.stderr.startswith("shop/broken.py:1:")
    assert "+++ shop/tasks.py (compiled)" in result.stdout


def test_a_no_op_build_through_the_cli_never_imports_libcst(pkg: Path) -> None:
    """The CLI path stays lazy: an up-to-date build must not pay for importing the compiler."""
    assert invoke("build", str(pkg), "-o", "out").exit_code == ExitCode.OK
    script = (
        "import json, sys\n"
        "from durablec.cli import main\n"
        "try:\n"
        "    main(['build', 'shop', '-o', 'out'])\n"
        "except SystemExit as exit:\n"
        "    print(json.dumps([exit.code, sorted(m for m in sys.modules if m.split('.')[0] == 'libcst')]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [0, []]
    assert "0 written, 3 unchanged" in done.stderr


def run_with_stderr_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``durablec ARGS`` with stderr on a pseudo-terminal; returns its status and what it drew."""
    import pty

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "durablec", *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=terminal
    )
    os.close(terminal)
    drawn = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        drawn += chunk
    os.close(controller)
    return process.wait(), drawn.decode(errors="replace")


def test_a_progress_bar_is_drawn_only_on_a_terminal_for_many_files(tmp_path: Path) -> None:
    many = tmp_path / "many"
    many.mkdir()
    for i in range(30):
        (many / f"m{i:02}.py").write_text(TASKS)
    status, drawn = run_with_stderr_on_a_terminal(["build", "many", "-o", "tty-out", "--jobs", "1"], tmp_path)
    assert status == 0
    assert "compiling" in drawn and "100%" in drawn
    piped = subprocess.run(
        [sys.executable, "-m", "durablec", "build", "many", "-o", "pipe-out", "--jobs", "1"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )
    assert piped.stderr == "pipe-out: 30 written, 0 unchanged, 0 removed\n"
    few_status, few = run_with_stderr_on_a_terminal(["build", "many/m00.py", "-o", "few-out"], tmp_path)
    assert few_status == 0 and "compiling" not in few
