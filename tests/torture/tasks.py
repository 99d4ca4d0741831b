"""The task the torture kills: many steps, a 1 MiB payload, a retried step, a durable sleep, a
gather of compiled helpers, and what real async code does: an httpx client held across all of
them (entered live in every execution, through the sleep's suspension too) against the driver's
loopback server (:mod:`tests.torture.server`), a helper whose request the server refuses at first
(``r.raise_for_status()`` in the helper's body: the helper is retried), a poll helper that raises
until the server's counter settles, and a check after an await in the task body that raises
(the body is retried from its last checkpoint), and a TaskGroup whose two children (created
with ``create_task``) run more helpers. The driver copies this file next to each journal and
serves it with `durablec worker`, which compiles it on import.

Every leaf step appends ``start KEY PID`` and ``end KEY PID`` to the side-effect log
($TORTURE_LOG, opened O_APPEND, one ``write`` per line) where KEY is ``RUN/STEP`` from
``durablec.idempotency_key()``; the server writes the same lines for each request it receives
(``client.post`` steps), from the client's headers. The log records what really executed, and
the driver compares it with what the journal committed. :func:`expected` computes a run's result
without durablec.
"""

from __future__ import annotations

import asyncio
import hashlib
import os

import httpx

import durablec

RETRY = durablec.Retry.fixed(0.02, max_attempts=5)
FLAKY_FAILURES = 2
"""The first executions of the flaky step that fail (whichever process runs them)."""
CHECK_FAILURES = 2
"""Requests of the body's checked step that the server answers 503 (the body is retried)."""
POLLS = 3
"""The poll helper settles on the server's third poll of its key (it raises twice before)."""


class Pending(Exception):
    """The poll helper's answer is not settled yet: the policy retries the helper."""


def client(url: str) -> httpx.AsyncClient:
    """The task's HTTP client; its headers tell the server where to log (and as which process).

    Plain HTTP on loopback: ``verify=False`` spares each execution the CA bundle's loading (a
    new client per execution and per body attempt; 2 ms instead of 30 to 130 ms of CPU, which a
    busy machine turned into workers killed before they got anywhere)."""
    return httpx.AsyncClient(base_url=url, timeout=30, verify=False, headers={
        "X-Torture-Log": os.environ["TORTURE_LOG"], "X-Torture-Pid": str(os.getpid())})


def _log(event: str, key: str) -> None:
    fd = os.open(os.environ["TORTURE_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{event} {key} {os.getpid()}\n".encode())
    finally:
        os.close(fd)


def _starts(key: str) -> int:
    with open(os.environ["TORTURE_LOG"], "rb") as log:
        return sum(1 for line in log if line.startswith(f"start {key} ".encode()))


def value(label: str, size: int) -> bytes:
    return hashlib.shake_256(label.encode()).digest(size)


def pause(index: int) -> float:
    """Steps take 2 to 29 ms, so that kills land inside them as well as between them."""
    return 0.002 + (index * 7 % 10) * 0.003


async def work(label: str, size: int, seconds: float, key: str) -> bytes:
    _log("start", key)
    await asyncio.sleep(seconds)
    result = value(label, size)
    _log("end", key)
    return result


async def measure(payload: bytes, key: str) -> str:
    """A step whose argument is the big payload (journaled as the step's arguments)."""
    _log("start", key)
    result = f"{len(payload)}:{hashlib.sha256(payload).hexdigest()}"
    _log("end", key)
    return result


async def flaky(label: str, key: str) -> str:
    _log("start", key)
    if _starts(key) <= FLAKY_FAILURES:
        _log("fail", key)
        raise ConnectionError(f"{label}: transient failure")
    _log("end", key)
    return label


async def remote(http: httpx.AsyncClient, label: str, size: int, fail: int, key: str) -> bytes:
    """A step through the client: the server refuses its first ``fail`` requests with 503, and
    ``raise_for_status`` fails the helper, which the policy retries (its request runs again)."""
    _log("start", key)
    r = await http.post("/value", json={"label": label, "size": size, "fail": fail},
                        headers={"Idempotency-Key": durablec.idempotency_key()})
    if r.status_code != 200:
        _log("fail", key)
    r.raise_for_status()
    _log("end", key)
    return r.content


async def settle(http: httpx.AsyncClient, label: str, key: str) -> str:
    """Poll until the server's counter settles: the helper raises in its own body until then."""
    _log("start", key)
    r = await http.post("/poll", headers={"Idempotency-Key": durablec.idempotency_key()})
    r.raise_for_status()
    if r.json()["polls"] < POLLS:
        _log("fail", key)
        raise Pending(f"{label}: poll {r.json()['polls']} of {POLLS}")
    _log("end", key)
    return label


def remote_fails(index: int) -> int | None:
    """Which loop steps go through the client (every third), and how many requests fail."""
    return index % 2 if index % 3 == 2 else None


async def helper(label: str, count: int, http: httpx.AsyncClient) -> str:
    digest = hashlib.sha256()
    for index in range(count):
        key = durablec.idempotency_key()  # names the step of the await on the next line
        if index == 1:
            digest.update(await remote(http, f"{label}.{index}", 50 + index, 1, key))
        else:
            digest.update(await work(f"{label}.{index}", 50 + index, pause(index), key))
    return digest.hexdigest()


@durablec.task(id="torture", retry=RETRY)
async def torture(steps: int, big: int, nap: float, url: str) -> dict[str, str]:
    digest = hashlib.sha256()
    async with client(url) as http:
        for index in range(steps):
            key = durablec.idempotency_key()
            fail = remote_fails(index)
            if fail is None:
                digest.update(await work(f"s{index}", 100 + 997 * index, pause(index), key))
            else:
                digest.update(await remote(http, f"s{index}", 100 + 997 * index, fail, key))
        payload = await work("big", big, 0.005, durablec.idempotency_key())
        measured = await measure(payload, durablec.idempotency_key())
        flakes = await flaky("flaky", durablec.idempotency_key())
        # A check after the await that raises in the body: the body is retried from here.
        r = await http.post("/value", json={"label": "check", "size": 8, "fail": CHECK_FAILURES},
                            headers={"Idempotency-Key": durablec.idempotency_key()})
        r.raise_for_status()
        checked = r.content
        settled = await settle(http, "settled", durablec.idempotency_key())
        await durablec.sleep(nap)
        left, right = await asyncio.gather(helper("h0", 3, http), helper("h1", 4, http))
        # Children created in a TaskGroup: keyed by creation order, whichever finishes first.
        async with asyncio.TaskGroup() as group:
            first = group.create_task(helper("g0", 2, http))
            second = group.create_task(helper("g1", 3, http))
        grouped = first.result() + second.result()
        tail = await work("tail", 16, 0.005, durablec.idempotency_key())
    return {"digest": digest.hexdigest(), "measured": measured, "flaky": flakes, "left": left,
            "right": right, "tail": tail.hex(), "checked": checked.hex(), "settled": settled,
            "grouped": grouped}


def leaf_steps(steps: int) -> int:
    """The leaf steps of a run (callees in the driver's LEAF_CALLEES): the loop's, each remote
    step's request too; big, measure, flaky, the checked request, settle and its request; the
    helpers' 3 + 4 steps and their remote steps' requests; the task group's 2 + 3 and theirs;
    tail."""
    remotes = sum(1 for index in range(steps) if remote_fails(index) is not None)
    return steps + remotes + 3 + 1 + 2 + (3 + 1) + (4 + 1) + (2 + 1) + (3 + 1) + 1


def expected(steps: int, big: int) -> dict[str, str]:
    """What a run of ``torture(steps, big, nap)`` must return, computed without durablec."""
    digest = hashlib.sha256()
    for index in range(steps):
        digest.update(value(f"s{index}", 100 + 997 * index))
    payload = value("big", big)

    def helped(label: str, count: int) -> str:
        inner = hashlib.sha256()
        for index in range(count):
            inner.update(value(f"{label}.{index}", 50 + index))
        return inner.hexdigest()

    return {"digest": digest.hexdigest(),
            "measured": f"{len(payload)}:{hashlib.sha256(payload).hexdigest()}",
            "flaky": "flaky", "left": helped("h0", 3), "right": helped("h1", 4),
            "tail": value("tail", 16).hex(), "checked": value("check", 8).hex(),
            "settled": "settled", "grouped": helped("g0", 2) + helped("g1", 3)}
