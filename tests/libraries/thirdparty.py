"""An uncompiled library (imported as is, never compiled): a context manager that enters a new
object holding a lock, neither journalable data nor a known resource (test_resource_errors.py)."""

from __future__ import annotations

import threading
from types import TracebackType


class Channel:
    """What ``Broker.open()`` enters: a live object that does not pickle."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.closed = False

    async def send(self, text: str) -> str:
        return f"sent {text}"


class Opening:
    def __init__(self) -> None:
        self.channel = Channel()

    async def __aenter__(self) -> Channel:
        return self.channel

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.channel.closed = True


EXITS: list[Channel] = []


def open_channel() -> Opening:
    opening = Opening()
    EXITS.append(opening.channel)
    return opening
