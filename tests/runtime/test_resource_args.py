"""A resource handed to a step or helper as an argument (``await fetch(client, ...)``) is compared
on replay by its type, not its state: each execution opens a new client whose pool, cookies and
headers differ, and that must not read as the step being called with other arguments."""

from __future__ import annotations

import asyncio

import httpx

from durablec.runtime.serde import canonical_digest


def test_two_clients_in_different_states_give_one_digest() -> None:
    first = httpx.AsyncClient(base_url="http://127.0.0.1:1", headers={"X-Pid": "1"})
    second = httpx.AsyncClient(base_url="http://127.0.0.1:2", headers={"X-Pid": "2"})
    second.cookies.set("session", "abc")
    assert canonical_digest((first, "s1"), {"n": 1}) == canonical_digest((second, "s1"), {"n": 1})
    # The other arguments still count.
    assert canonical_digest((first, "s1"), {}) != canonical_digest((first, "s2"), {})


def test_a_lock_held_or_not_gives_one_digest() -> None:
    async def both() -> tuple[str, str]:
        lock = asyncio.Lock()
        free = canonical_digest((lock,), {})
        async with lock:
            return free, canonical_digest((lock,), {})

    free, held = asyncio.run(both())
    assert free == held
