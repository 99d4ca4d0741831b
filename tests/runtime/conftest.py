"""Fixtures for runtime tests: task modules compiled from text (journal fixtures: tests/conftest.py)."""

from __future__ import annotations

import sys
import textwrap
import types
import uuid
from pathlib import Path

import pytest

from durablec.compiler.pipeline import compile_source
from helpers import Loader


@pytest.fixture
def load(tmp_path: Path) -> Loader:
    """Compile task source text with durablec's compiler and import it as a fresh module."""

    def loader(source: str) -> types.ModuleType:
        name = f"dc_tasks_{uuid.uuid4().hex[:10]}"
        path = tmp_path / f"{name}.py"
        text = textwrap.dedent(source)
        path.write_text(text)
        result = compile_source(text, str(path), lint=False)
        module = types.ModuleType(name)
        module.__file__ = str(path)
        sys.modules[name] = module
        exec(compile(result.code, str(path), "exec"), module.__dict__)
        return module

    return loader
