"""Fixtures for the crash-safety tests: the throwaway PostgreSQL of tests/pg.py, and no process
left behind by a test that failed half-way (one paused, or holding a step)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pg import pg_server, postgres_url  # noqa: E402

__all__ = ["pg_server", "postgres_url"]


@pytest.fixture(autouse=True)
def reap_processes() -> Iterator[None]:
    from .faulty import SPAWNED

    yield
    while SPAWNED:
        proc = SPAWNED.pop()
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
