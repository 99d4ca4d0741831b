"""Fixtures for the crash-safety tests: no process left behind by a test that failed half-way
(one paused, or holding a step)."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest


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
