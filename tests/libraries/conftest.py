"""Fixtures for the library tests: task modules of this directory compiled and imported fresh."""

from __future__ import annotations

import os
import sys
import types
import uuid
from pathlib import Path

import pytest

from durablec.compiler.pipeline import compile_source

HERE = Path(__file__).resolve().parent
# The journal helpers (kill_when, step_rows, finals_per_attempt_scope) live with the runtime tests.
sys.path.insert(0, str(HERE.parent / "runtime"))

from librun import Load  # noqa: E402

@pytest.fixture
def load_tasks() -> Load:
    """Compile ``tests/libraries/<name>.py`` as ``durablec run`` would (linted) and import it."""

    def loader(name: str) -> types.ModuleType:
        path = HERE / f"{name}.py"
        result = compile_source(path.read_text(), str(path), lint=True)
        assert not result.diagnostics, result.diagnostics
        module = types.ModuleType(f"{name}_{uuid.uuid4().hex[:8]}")
        module.__file__ = str(path)
        sys.modules[module.__name__] = module
        exec(compile(result.code, str(path), "exec"), module.__dict__)
        return module

    return loader


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """A fresh database on the test PostgreSQL (tests/pg.py). Where its binaries are missing the
    tests that need it skip, saying so, except under CI=true, where they fail."""
    try:
        url: str = request.getfixturevalue("postgres_url")
    except pytest.skip.Exception as skipped:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true, and the PostgreSQL tests cannot run: {skipped}")
        raise
    return url
