"""httpx, as its documentation shows it, against a real payments API on loopback (servers.py).

The server answers 503 to the first request of each idempotency key: the task's
``r.raise_for_status()`` raises in the task body after the step returned, and the body is
retried from its last checkpoint (issue 11, cases 1-3).
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest

import durablec
from durablec.errors import RunSuspendedError

from helpers import finals_per_attempt_scope, force_due, step_rows
from librun import Load, Run
from servers import Payments

REPORT = "".join(f"line {n}\n" for n in range(5))


def _expected(charges: int) -> dict[str, object]:
    amounts = [10, 20][:charges]
    return {"charges": [{"id": f"ch_{n + 1}", "amount": amount, "status": "succeeded"}
                        for n, amount in enumerate(amounts)], "report": REPORT}


def _one_charge_per_key(server: Payments, keys: list[str]) -> None:
    """Each step's key made exactly one charge, and no other key reached the server: a key that
    changed between retries or after a kill would show as a second key (a second charge)."""
    assert sorted(server.seen) == sorted(keys)
    assert dict(server.made) == dict.fromkeys(keys, 1)


@pytest.fixture
def tasks(load_tasks: Load) -> types.ModuleType:
    return load_tasks("httpx_tasks")


def test_async_with_client_and_raise_for_status_retry(
    tasks: types.ModuleType, sqlite_url: str
) -> None:
    """Cases 1 and 2. Before a74e027 the run paused at step ``0<`` (the client "cannot be
    journaled": cannot pickle '_thread.RLock'); and a 503 was journaled as the step's result, so
    ``raise_for_status()`` failed the run without a second request."""
    with Payments() as server:
        result = durablec.run(tasks.charges, server.url, [10, 20], db=sqlite_url, run_id="r1")
        assert result == _expected(2)
        _one_charge_per_key(server, ["r1/1", "r1/2"])
        assert server.seen == {"r1/1": 2, "r1/2": 2} and server.reports == 1
    rows = [(key, outcome, final) for key, _, _, outcome, final in step_rows(sqlite_url, "r1")]
    assert rows[0] == ("0<", "live", True)  # the client: entered live, never journaled
    assert rows.count(("", "error", False)) == 2  # one body retry per 503
    finals_per_attempt_scope(sqlite_url, "r1")
    # A finished run replays whole: no request, the same result.
    with Payments() as again:
        assert durablec.run(tasks.charges, again.url, [10, 20], db=sqlite_url, run_id="r1") \
            == _expected(2)
        assert again.requests == 0


def test_raise_for_status_retries_with_exponential_backoff(
    tasks: types.ModuleType, sqlite_url: str
) -> None:
    """Case 2 alone (the client is closed by hand, no `async with`): before a74e027 the 503 was
    the step's journaled result and `raise_for_status()` failed the run, one request made."""
    with Payments() as server:
        result = durablec.run(tasks.charge_with_backoff, server.url, 7, db=sqlite_url, run_id="b1")
        assert result == {"id": "ch_1", "amount": 7, "status": "succeeded"}
        _one_charge_per_key(server, ["b1/0"])
        assert server.seen == {"b1/0": 2}
    finals_per_attempt_scope(sqlite_url, "b1")


def test_a_helper_that_polls_until_settled(tasks: types.ModuleType, sqlite_url: str) -> None:
    """Case 3, retried in the process: a helper that raises in its own body (after a 503, and
    while the charge is pending) is retried from its last checkpoint."""
    with Payments() as server:
        result = durablec.run(tasks.settle, server.url, 5, db=sqlite_url, run_id="p1")
        assert result == {"id": "ch_1", "status": "succeeded"}
        _one_charge_per_key(server, ["p1/0.0.0"])
        # The 503 retried the charge once; the polls retried the poll only (before a74e027 every
        # retry of the helper charged again, and its journal held a final row per charge).
        assert server.seen == {"p1/0.0.0": 2} and server.polls == {"ch_1": 3}
    finals_per_attempt_scope(sqlite_url, "p1")


def test_a_helper_that_polls_across_suspensions(tasks: types.ModuleType, sqlite_url: str) -> None:
    """Case 3 with a long backoff: the run suspends between the helper's attempts; each resume
    polls again (before a74e027 it replayed the first "pending" on every attempt)."""
    with Payments() as server:
        result: object = None
        for _ in range(4):
            try:
                result = durablec.run(tasks.settle_slowly, server.url, 5, db=sqlite_url,
                                      run_id="s1")
                break
            except RunSuspendedError:
                force_due(sqlite_url, "s1")
        assert result == {"id": "ch_1", "status": "succeeded"}
        _one_charge_per_key(server, ["s1/0.0.0"])
        assert server.seen == {"s1/0.0.0": 2} and server.polls == {"ch_1": 3}
    finals_per_attempt_scope(sqlite_url, "s1")


KILLS = {
    # name: (requests the server holds {ordinal: streamed chunks first}, kill conditions)
    "while-the-503-is-in-flight": ({1: 0}, ["held 1"]),
    "after-the-charge-before-its-response": ({2: 0}, ["held 1"]),
    "between-two-attempts": ({}, ["body rows 1"]),
    "in-the-middle-of-the-stream": ({5: 2}, ["held 1", "item rows 1"]),
    "twice-after-charges": ({2: 0, 5: 0}, ["held 1", "held 2"]),
}


@pytest.mark.parametrize("kill", list(KILLS))
def test_sigkill_and_resume(tmp_path: Path, kill: str) -> None:
    """SIGKILL `durablec run` at each point, resume it with the same command: the same result,
    one charge per idempotency key, one final row per step per attempt scope, and the last
    process exits by itself."""
    hold, conditions = KILLS[kill]
    with Payments() as server:
        run = Run(tmp_path, "httpx_tasks", "charges", [server.url, [10, 20]])
        server.hold_at = dict(hold)
        held = 0
        for condition in conditions:
            if condition.startswith("held"):
                held = int(condition.split()[1])
                stream = conditions[-1] == "item rows 1"
                run.kill_when(
                    lambda: server.holding >= held
                    and (not stream or run.rows("key LIKE '%#0'") >= 1), condition)
            else:
                run.kill_when(lambda: run.rows("kind = 'body'") >= 1, condition)
            server.release()
            if condition == "held 1" and conditions[-1] == "item rows 1":
                break
        assert run.finish() == _expected(2)
        _one_charge_per_key(server, ["R/1", "R/2"])
        assert server.reports == (2 if kill == "in-the-middle-of-the-stream" else 1)


def test_sigkill_while_reading_a_streamed_body_and_resume(tmp_path: Path) -> None:
    """`await response.aread()` of `async with client.stream(...)`, killed halfway through the
    body: the entry (status, headers) is journaled, the read was in flight, so the resume enters
    the stream again and reads it whole."""
    with Payments() as server:
        run = Run(tmp_path, "httpx_tasks", "report", [server.url])
        server.hold_at = {1: 2}
        run.kill_when(lambda: server.holding >= 1 and run.rows("key = '1<'") > 0,
                      "the body half sent")
        server.release()
        assert run.finish() == "200 " + REPORT
        assert server.reports == 2
