"""Fixtures for the library tests: task modules of this directory compiled and imported fresh."""

from __future__ import annotations

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
