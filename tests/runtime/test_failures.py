"""Failures: one row per attempt, retries per policy, final exceptions, serialization, signing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update

import durablec
from durablec.errors import (
    RunSuspendedError,
    SerializationError,
    TamperedPayloadError,
)
from durablec.runtime.store.schema import steps
from durablec.runtime.runner import journal_for

from helpers import Loader
from helpers import step_rows

FLAKY = """
import asyncio
import durablec
from durablec import Retry

CALLS = []

class HTTPError(Exception):
    def __init__(self, message, response):
        super().__init__(message)
        self.response = response

class Response:
    status_code = 503
    text = "try later"

async def pay(amount, key, fail_times):
    CALLS.append(key)
    if len(CALLS) <= fail_times:
        raise HTTPError(f"gateway unavailable ({len(CALLS)})", Response())
    return {"paid": amount}

@durablec.task(id="pay-fixed", retry=Retry.fixed(0, max_attempts=3))
async def fixed(fail_times):
    return await pay(5, durablec.idempotency_key(), fail_times)

@durablec.task(id="pay-none", retry=Retry.none(), dead_letter="payments-dlq")
async def dead(fail_times):
    return await pay(5, durablec.idempotency_key(), fail_times)

@durablec.task(id="pay-caught", retry=Retry.none())
async def caught():
    try:
        await pay(5, "k", 99)
    except HTTPError as exc:
        return "handled: " + str(exc)

@durablec.task(id="pay-manual", retry=Retry.manual())
async def manual(fail_times):
    return await pay(5, durablec.idempotency_key(), fail_times)

async def slow():
    CALLS.append("slow")
    await asyncio.sleep(0 if len(CALLS) > 1 else 30)
    return "done"

@durablec.task(id="slow", retry=Retry.fixed(0, max_attempts=2), timeout=0.2)
async def timed():
    return await slow()

class Lock:
    pass

async def make_lock():
    import threading
    return threading.Lock()

@durablec.task(id="unserializable", retry=Retry.none())
async def unserializable():
    return await make_lock()
"""


def test_each_attempt_is_a_row_linked_to_the_previous(load: Loader, db_url: str) -> None:
    mod = load(FLAKY)
    assert durablec.run(mod.fixed, 2, db=db_url, run_id="f1") == {"paid": 5}
    assert len(set(mod.CALLS)) == 1  # one idempotency key for all attempts
    journal = journal_for(db_url)
    with journal.begin() as conn:
        rows = list(conn.execute(select(steps).where(steps.c.run_id == "f1").order_by(steps.c.id)))
    assert [(r.attempt, r.outcome, r.final) for r in rows] == [
        (1, "error", False), (2, "error", False), (3, "ok", True)]
    assert rows[0].retry_of is None and rows[1].retry_of == rows[0].id
    assert rows[2].retry_of == rows[1].id
    assert rows[0].error_type.endswith("HTTPError") and "gateway unavailable (1)" in rows[0].error_message
    assert rows[0].http_status == 503 and rows[0].http_body == "try later"
    assert "Traceback" in rows[0].traceback and "raise HTTPError" in rows[0].traceback


def test_final_exception_is_raised_and_run_dead_lettered(load: Loader, db_url: str) -> None:
    mod = load(FLAKY)
    with pytest.raises(mod.HTTPError, match="gateway unavailable"):
        durablec.run(mod.dead, 5, db=db_url, run_id="d1")
    info = durablec.Client(db_url).get("d1")
    assert info.status == "dead_lettered" and info.error_type.endswith("HTTPError")
    # Running it again reports the same outcome, executing nothing.
    mod.CALLS.clear()
    with pytest.raises(mod.HTTPError):
        durablec.run(mod.dead, 5, db=db_url, run_id="d1")
    assert mod.CALLS == []


def test_final_exception_can_be_handled_by_the_task(load: Loader, db_url: str) -> None:
    mod = load(FLAKY)
    assert durablec.run(mod.caught, db=db_url, run_id="h1").startswith("handled: gateway")
    # Replaying the recorded failure raises it again into the same except clause.
    with journal_for(db_url).begin() as conn:
        conn.exec_driver_sql("UPDATE durablec_runs SET status = 'pending' WHERE id = 'h1'")
    mod.CALLS.clear()
    assert durablec.run(mod.caught, db=db_url, run_id="h1").startswith("handled: gateway")
    assert mod.CALLS == []


def test_manual_policy_pauses_until_retried(load: Loader, db_url: str) -> None:
    mod = load(FLAKY)
    with pytest.raises(RunSuspendedError) as info:
        durablec.run(mod.manual, 1, db=db_url, run_id="p1")
    assert info.value.status == "paused"
    client = durablec.Client(db_url)
    assert client.get("p1").status == "paused"
    client.retry("p1")
    assert durablec.run(mod.manual, 1, db=db_url, run_id="p1") == {"paid": 5}
    rows = step_rows(db_url, "p1")
    assert [(r[2], r[3], r[4]) for r in rows] == [(1, "error", False), (2, "ok", True)]


def test_timeout_counts_as_a_failed_attempt(load: Loader, db_url: str) -> None:
    mod = load(FLAKY)
    assert durablec.run(mod.timed, db=db_url, run_id="t1") == "done"
    rows = step_rows(db_url, "t1")
    assert [(r[2], r[3]) for r in rows if r[0] == "0"] == [(1, "error"), (2, "ok")]
    with journal_for(db_url).begin() as conn:
        kind = conn.execute(select(steps.c.error_type).where(steps.c.run_id == "t1")).first()
    assert kind is not None and kind[0].endswith("TimeoutError")


def test_unserializable_result_fails_at_record_time(load: Loader, db_url: str) -> None:
    mod = load(FLAKY)
    with pytest.raises(SerializationError) as info:
        durablec.run(mod.unserializable, db=db_url, run_id="u1")
    message = str(info.value)
    assert "make_lock" in message and "lock" in message and "durablec.resource" in message and "@durablec.step" in message
    assert f"{mod.__file__}:" in message
    assert durablec.Client(db_url).get("u1").status == "paused"


def test_signed_payloads_refuse_tampering(
    load: Loader, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DURABLEC_SECRET", "s3cret")
    mod = load(FLAKY)
    assert durablec.run(mod.fixed, 0, db=db_url, run_id="s1") == {"paid": 5}
    journal = journal_for(db_url)
    with journal.begin() as conn:
        payload = conn.execute(select(steps.c.result).where(steps.c.run_id == "s1")).scalar_one()
        forged = payload[:-3] + bytes(3)
        conn.execute(update(steps).where(steps.c.run_id == "s1").values(result=forged))
        conn.exec_driver_sql("UPDATE durablec_runs SET status = 'pending' WHERE id = 's1'")
    with pytest.raises(TamperedPayloadError, match="HMAC"):
        durablec.run(mod.fixed, 0, db=db_url, run_id="s1")
    monkeypatch.delenv("DURABLEC_SECRET")
    with journal.begin() as conn:
        conn.execute(update(steps).where(steps.c.run_id == "s1").values(result=payload))
    with pytest.raises(TamperedPayloadError, match="DURABLEC_SECRET is not set"):
        durablec.run(mod.fixed, 0, db=db_url, run_id="s1")


def test_unpicklable_arguments_are_recorded_as_repr(load: Loader, db_url: str) -> None:
    mod = load("""
    import threading
    import durablec

    async def use(lock, n):
        return n

    @durablec.task(id="lockarg")
    async def flow():
        return await use(threading.Lock(), 3)
    """)
    assert durablec.run(mod.flow, db=db_url, run_id="a1") == 3
    with journal_for(db_url).begin() as conn:
        row = conn.execute(select(steps.c.args, steps.c.args_repr).where(steps.c.run_id == "a1")).one()
    assert row.args is None and "lock" in row.args_repr and "3" in row.args_repr


def test_retry_suspends_for_long_backoff(load: Loader, db_url: str) -> None:
    mod = load(FLAKY.replace("Retry.fixed(0, max_attempts=3)", "Retry.fixed(60, max_attempts=3)"))
    with pytest.raises(RunSuspendedError) as info:
        durablec.run(mod.fixed, 1, db=db_url, run_id="b1")
    assert info.value.status == "retrying"
    assert asyncio.iscoroutinefunction(mod.pay)
