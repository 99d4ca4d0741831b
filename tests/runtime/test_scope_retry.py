"""Retry from the last checkpoint: an exception escaping a scope (the task body or a compiled
helper) retries that scope, replaying its steps before the last one and running that one again;
one final row per step per attempt scope however the retry happens (docs/runtime.md)."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select, update

import durablec
from durablec.errors import RunSuspendedError
from durablec.runtime.store.schema import runs, steps
from durablec.runtime.runner import journal_for

from helpers import Loader, finals_per_attempt_scope, force_due, step_rows

TASKS = """
import durablec
from durablec import Retry

CALLS = []
STATUS = {}

async def login():
    CALLS.append("login")
    return "token"

async def post(token):
    CALLS.append("post")
    # 503 the first time, then 200: a response is data, returned as the step's result.
    STATUS["post"] = STATUS.get("post", 0) + 1
    return {"status": 503 if STATUS["post"] == 1 else 200}

@durablec.task(id="check-after-await", retry=Retry.fixed(0, max_attempts=3))
async def check_after_await():
    token = await login()
    r = await post(token)
    if r["status"] != 200:
        raise RuntimeError(f"server said {r['status']}")
    return r

async def charge():
    CALLS.append("charge")
    STATUS["charge"] = STATUS.get("charge", 0) + 1
    return {"status": "pending" if STATUS["charge"] < 3 else "ok"}

async def settle():
    first = await login()
    c = await charge()
    if c["status"] != "ok":
        raise RuntimeError("not settled yet")
    return c

@durablec.task(id="poll-helper", retry=Retry.fixed(0, max_attempts=5))
async def poll_helper():
    c = await settle()
    return c["status"]

@durablec.task(id="poll-helper-slow", retry=Retry.fixed(30, max_attempts=5))
async def poll_helper_slow():
    c = await settle()
    return c["status"]

@durablec.task(id="gives-up", retry=Retry.fixed(0, max_attempts=2))
async def gives_up():
    await login()
    raise ValueError("always")

@durablec.step(retry=Retry.fixed(0, max_attempts=4))
async def unit():
    # Inner awaits are live: not journaled, run again on each attempt of the step.
    await login()
    c = await charge()
    if c["status"] != "ok":
        raise RuntimeError("again")
    return c["status"] + ":" + durablec.idempotency_key()

@durablec.task(id="with-step", retry=Retry.none())
async def with_step():
    return await unit()
"""


def test_a_check_after_the_await_retries_the_last_step(load: Loader, db_url: str) -> None:
    mod = load(TASKS)
    assert durablec.run(mod.check_after_await, db=db_url, run_id="r1") == {"status": 200}
    assert mod.CALLS == ["login", "post", "post"]
    rows = step_rows(db_url, "r1")
    assert [(k, a, o, f) for k, _, a, o, f in rows] == [
        ("0", 1, "ok", True), ("1", 1, "ok", True), ("", 1, "error", False), ("1", 2, "ok", True)]
    finals_per_attempt_scope(db_url, "r1")


def test_a_helper_that_raises_in_its_body_polls_again(load: Loader, db_url: str) -> None:
    mod = load(TASKS)
    assert durablec.run(mod.poll_helper, db=db_url, run_id="p1") == "ok"
    # login once (replayed on each retry of the helper), charge polled until settled
    assert mod.CALLS == ["login", "charge", "charge", "charge"]
    finals_per_attempt_scope(db_url, "p1")
    keys = [(k, o, f) for k, _, _, o, f in step_rows(db_url, "p1")]
    assert keys.count(("0", "error", False)) == 2 and keys[-1] == ("0", "ok", True)


def test_a_suspended_helper_retry_gives_the_same_journal(load: Loader, db_url: str) -> None:
    """With a long backoff the run suspends between attempts; each resume rebuilds the rewind
    from the journal and polls again, as the in-process retry does."""
    mod = load(TASKS)
    with pytest.raises(RunSuspendedError):
        durablec.run(mod.poll_helper_slow, db=db_url, run_id="s1")
    for _ in range(2):
        force_due(db_url, "s1")
        try:
            result = durablec.run(mod.poll_helper_slow, db=db_url, run_id="s1")
        except RunSuspendedError:
            continue
    assert result == "ok"
    assert mod.CALLS == ["login", "charge", "charge", "charge"]
    finals_per_attempt_scope(db_url, "s1")
    fast = load(TASKS)
    durablec.run(fast.poll_helper, db=db_url, run_id="f1")
    shape = [(k, a, o, f) for k, _, a, o, f in step_rows(db_url, "s1")]
    assert shape == [(k, a, o, f) for k, _, a, o, f in step_rows(db_url, "f1")]


def test_the_last_attempt_fails_the_run_and_retry_runs_the_last_step_again(
    load: Loader, db_url: str
) -> None:
    mod = load(TASKS)
    with pytest.raises(ValueError, match="always"):
        durablec.run(mod.gives_up, db=db_url, run_id="g1")
    assert mod.CALLS == ["login", "login"]
    rows = [(k, a, o, f) for k, _, a, o, f in step_rows(db_url, "g1")]
    assert rows[-1] == ("", 2, "error", True)
    client = durablec.Client(db_url)
    client.retry("g1")
    with pytest.raises(ValueError, match="always"):
        durablec.run(mod.gives_up, db=db_url, run_id="g1")
    assert mod.CALLS == ["login", "login", "login", "login"]  # a new budget of two attempts
    finals_per_attempt_scope(db_url, "g1")


def test_a_step_helper_is_one_checkpoint_with_its_own_retries(load: Loader, db_url: str) -> None:
    mod = load(TASKS)
    result = durablec.run(mod.with_step, db=db_url, run_id="w1")
    assert result == "ok:w1/0"
    assert mod.CALLS == ["login", "charge", "login", "charge", "login", "charge"]
    rows = [(k, o, f) for k, _, _, o, f in step_rows(db_url, "w1")]
    assert rows == [("0", "error", False), ("0", "error", False), ("0", "ok", True)]
    mod.CALLS.clear()
    with journal_for(db_url).begin() as conn:
        conn.execute(update(runs).where(runs.c.id == "w1").values(status="pending"))
    assert durablec.run(mod.with_step, db=db_url, run_id="w1") == "ok:w1/0"
    assert mod.CALLS == []


def test_inner_rows_are_not_duplicated_within_an_attempt(load: Loader, db_url: str) -> None:
    mod = load(TASKS)
    durablec.run(mod.poll_helper, db=db_url, run_id="d1")
    with journal_for(db_url).begin() as conn:
        finals = Counter(conn.execute(select(steps.c.key).where(
            steps.c.run_id == "d1", steps.c.final)).scalars())
    assert finals["0.0"] == 1  # login: replayed by every retry of the helper
