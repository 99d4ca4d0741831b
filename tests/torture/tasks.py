"""The task the torture kills: many steps, a 1 MiB payload, a retried step, a durable sleep and a
gather of compiled helpers. The driver copies this file next to each journal and serves it with
`durablec worker`, which compiles it on import.

Every leaf step appends ``start KEY PID`` and ``end KEY PID`` to the side-effect log
($TORTURE_LOG, opened O_APPEND, one ``write`` per line) where KEY is ``RUN/STEP`` from
``durablec.idempotency_key()``: the log records what really executed, and the driver compares
it with what the journal committed. :func:`expected` computes a run's result without durablec.
"""

from __future__ import annotations

import asyncio
import hashlib
import os

import durablec

RETRY = durablec.Retry.fixed(0.02, max_attempts=5)
FLAKY_FAILURES = 2
"""The first executions of the flaky step that fail (whichever process runs them)."""


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


async def helper(label: str, count: int) -> str:
    digest = hashlib.sha256()
    for index in range(count):
        key = durablec.idempotency_key()  # names the step of the await on the next line
        digest.update(await work(f"{label}.{index}", 50 + index, pause(index), key))
    return digest.hexdigest()


@durablec.task(id="torture", retry=RETRY)
async def torture(steps: int, big: int, nap: float) -> dict[str, str]:
    digest = hashlib.sha256()
    for index in range(steps):
        key = durablec.idempotency_key()
        digest.update(await work(f"s{index}", 100 + 997 * index, pause(index), key))
    payload = await work("big", big, 0.005, durablec.idempotency_key())
    measured = await measure(payload, durablec.idempotency_key())
    flakes = await flaky("flaky", durablec.idempotency_key())
    await durablec.sleep(nap)
    left, right = await asyncio.gather(helper("h0", 3), helper("h1", 4))
    tail = await work("tail", 16, 0.005, durablec.idempotency_key())
    return {"digest": digest.hexdigest(), "measured": measured, "flaky": flakes, "left": left,
            "right": right, "tail": tail.hex()}


LEAF_STEPS_BESIDES_LOOP = 3 + 3 + 4 + 1
"""big, measure, flaky; the helpers' 3 + 4 steps; tail."""


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
            "tail": value("tail", 16).hex()}
