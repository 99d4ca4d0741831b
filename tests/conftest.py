"""Options and fixtures shared by the whole suite: real journal databases (SQLite files and the
throwaway PostgreSQL server of tests/pg.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pg import pg_server, postgres_url  # noqa: E402

__all__ = ["pg_server", "postgres_url"]


@pytest.fixture(autouse=True, scope="session")
def _compile_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the import hook's cache (written outside the tree when Python writes no bytecode)
    out of the user's home directory: every test and its subprocesses use one of the session's."""
    import os

    os.environ.setdefault("DURABLEC_CACHE_DIR", str(tmp_path_factory.mktemp("durablec-cache")))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite the golden expected files from the current compiler output",
    )


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
