"""The plugin as an installed user meets it: a separate project under project/, run by a pytest
of its own (a subprocess) that loads durablec.testing through its pytest11 entry point."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).parent / "project"


def pytest_in_project(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    root = tmp_path / "project"
    shutil.copytree(PROJECT, root)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=root, capture_output=True, text=True, timeout=300)


def test_the_project_tests_its_tasks_with_the_plugin(tmp_path: Path) -> None:
    done = pytest_in_project(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


def test_the_same_tests_run_against_postgresql(tmp_path: Path, postgres_url: str) -> None:
    done = pytest_in_project(tmp_path, "--durablec-db", postgres_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


def test_the_plugin_can_be_disabled(tmp_path: Path) -> None:
    done = pytest_in_project(tmp_path, "-p", "no:durablec")
    assert done.returncode == 1
    assert "fixture 'durablec_db' not found" in done.stdout


def test_durablec_db_refuses_a_url_that_is_not_postgresql(tmp_path: Path) -> None:
    done = pytest_in_project(tmp_path, "--durablec-db", "sqlite:///x.db", "-k", "happy")
    assert done.returncode != 0
    assert "--durablec-db sqlite:///x.db: expected a PostgreSQL URL" in done.stdout + done.stderr
