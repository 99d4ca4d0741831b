"""Fixtures for scale-out tests: real SQLite files, a real PostgreSQL, real worker processes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pg import pg_server, postgres_url  # noqa: E402

__all__ = ["pg_server", "postgres_url"]


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The journal URL, once for a real SQLite file and once for a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'journal.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
