"""Fixtures for runtime tests: real journal databases and task modules compiled from text."""

from __future__ import annotations

import sys
import textwrap
import types
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pg import pg_server, postgres_url  # noqa: E402

from durablec.compiler.pipeline import compile_source  # noqa: E402
from helpers import Loader  # noqa: E402

__all__ = ["pg_server", "postgres_url"]

@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'journal.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The journal URL, once for a real SQLite file and once for a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'journal.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


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
