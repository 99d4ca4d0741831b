"""A task module that raises on import: ``durablec run`` and ``durablec worker`` print one line
naming the module's file, line and the cause, and exit 2; the traceback only with ``--debug``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from durablec.exitcodes import ExitCode

TASK = "\n\nasync def job():\n    return 1\n"


def durablec(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DURABLEC_DATABASE_URL=f"sqlite:///{cwd / 'j.db'}")
    return subprocess.run(
        [sys.executable, "-m", "durablec", *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=60,
    )


@pytest.mark.parametrize(
    ("top", "cause"),
    [
        ('import os\nraise RuntimeError("boom")\n', "RuntimeError: boom"),
        ("import os\nimport durablec_missing_dependency\n",
         "ModuleNotFoundError: No module named 'durablec_missing_dependency'"),
    ],
    ids=["raise", "missing-dependency"],
)
@pytest.mark.parametrize("command", ["run", "worker"])
def test_a_module_that_raises_on_import_is_one_line_and_exit_2(
    tmp_path: Path, command: str, top: str, cause: str
) -> None:
    (tmp_path / "tasks.py").write_text(top + TASK)
    done = durablec(tmp_path, command, "tasks.py:job")
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: target 'tasks.py:job': tasks.py:2: ")
    assert cause in done.stderr


def test_the_frame_that_raised_is_named_when_it_is_in_another_module(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("def load():\n    return 1 / 0\n")
    (tmp_path / "tasks.py").write_text("from helpers import load\nSETTINGS = load()\n" + TASK)
    done = durablec(tmp_path, "run", "tasks.py:job")
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert "tasks.py:2: importing the module raised ZeroDivisionError: division by zero (at helpers.py:2)" in done.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text('raise RuntimeError("boom")\n' + TASK)
    done = durablec(tmp_path, "--debug", "run", "tasks.py:job")
    assert "Traceback" in done.stderr and 'raise RuntimeError("boom")' in done.stderr
