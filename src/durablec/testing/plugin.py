"""The durablec pytest plugin (entry point ``pytest11``; disable with ``-p no:durablec``).

Fixtures: ``durablec_db`` (a fresh journal per test: a temp SQLite file, or a new database on the
PostgreSQL server given with ``--durablec-db URL``), ``durablec_client`` and ``durablec_time``.
Task modules under the ``durablec_compile`` paths (default: the rootdir) are compiled when a test
imports them; test modules and conftest files are left to pytest's assertion rewriting.
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from durablec.compiler.importhook import ImportHook
    from durablec.runtime.client import Client
    from durablec.testing import SkippingClock

__all__ = ["durablec_client", "durablec_db", "durablec_time"]

_HOOK = pytest.StashKey["ImportHook"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("durablec")
    group.addoption(
        "--durablec-db", metavar="URL", default=None,
        help="run tests that use durablec_db against this PostgreSQL server: each test gets a "
             "new database on it, dropped afterwards (default: a temp SQLite file per test)",
    )
    parser.addini("durablec_compile", type="paths", default=[],
                  help="directories whose modules durablec compiles on import (default: rootdir)")


def pytest_configure(config: pytest.Config) -> None:
    # Imported here, not at module level: pytest loads the plugin in every session of the
    # environment, and most never touch durablec.
    from durablec.compiler.importhook import ImportHook

    tests = [*config.getini("python_files"), "conftest.py"]
    roots = config.getini("durablec_compile") or [config.rootpath]

    def is_test_module(path: Path) -> bool:
        return any(fnmatch.fnmatch(path.name, pattern) for pattern in tests)

    # lint=False: a test imports the code as it is; `durablec lint` is the place for findings.
    config.stash[_HOOK] = ImportHook(roots, lint=False, exclude=is_test_module).install()


def pytest_unconfigure(config: pytest.Config) -> None:
    hook = config.stash.get(_HOOK, None)
    if hook is not None:
        hook.uninstall()


@pytest.fixture
def durablec_db(request: pytest.FixtureRequest, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The URL of a fresh, empty journal for this test; also DURABLEC_DATABASE_URL meanwhile, so
    ``durablec.run(task)`` and ``Client()`` use it without ``db=``."""
    server: str | None = request.config.getoption("durablec_db")
    with _fresh_database(server, tmp_path) as url:
        monkeypatch.setenv("DURABLEC_DATABASE_URL", url)
        yield url


@contextmanager
def _fresh_database(server: str | None, tmp_path: Path) -> Iterator[str]:
    if server is None:
        yield f"sqlite:///{tmp_path / 'durablec.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from durablec.runtime.store import database_url
    from durablec.runtime.runner import journal_for

    base = make_url(database_url(server))
    if base.get_backend_name() != "postgresql":
        raise pytest.UsageError(f"--durablec-db {server}: expected a PostgreSQL URL "
                                "(postgresql://user@host/dbname); SQLite is the default")
    name = f"durablec_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        try:
            yield url
        finally:
            journal_for(url).close()
            with admin.connect() as conn:
                # FORCE: a run abandoned by crash() keeps its connection open for good.
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def durablec_client(durablec_db: str) -> Client:
    """A Client on this test's journal."""
    from durablec.runtime.client import Client

    return Client(durablec_db)


@pytest.fixture
def durablec_time() -> Iterator[SkippingClock]:
    """Time skipping for the whole test (see ``durablec.testing.time_skipping``)."""
    from durablec.testing import time_skipping

    with time_skipping() as clock:
        yield clock
