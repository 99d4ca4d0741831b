"""durablec.testing.send_event: an event for a run suspended in the test; durablec.run continues it."""

from __future__ import annotations

import pytest

import durablec
from durablec.errors import RunNotFoundError, RunSuspendedError, UsageError
from durablec.runtime.client import Client
from durablec.testing import send_event
from shop import orders


def test_an_event_wakes_a_run_suspended_in_the_test(durablec_db: str,
                                                     durablec_client: Client) -> None:
    with pytest.raises(RunSuspendedError) as waiting:
        durablec.run(orders.await_approval, "A1")
    run_id = waiting.value.run_id
    assert durablec_client.get(run_id).waiting_for == "approval"

    send_event(run_id, "approval", "approved")
    assert durablec_client.get(run_id).status == "pending"
    assert durablec.run(orders.await_approval, run_id=run_id) == "A1: approved"


def test_an_event_sent_before_the_wait_is_received_at_once(durablec_db: str,
                                                           durablec_client: Client) -> None:
    with pytest.raises(RunSuspendedError) as waiting:
        durablec.run(orders.await_approval, "A1")
    send_event(waiting.value.run_id, "approval", "yes", db=durablec_db)
    send_event(waiting.value.run_id, "approval", "ignored: only the first is received")
    assert durablec.run(orders.await_approval, run_id=waiting.value.run_id) == "A1: yes"


def test_events_for_a_finished_or_unknown_run_are_refused(durablec_db: str) -> None:
    durablec.run(orders.process_order, "A1")
    [done] = durablec.Client().runs()
    with pytest.raises(UsageError, match=f"run {done.id} is completed; it can no longer receive events"):
        send_event(done.id, "approval", "late")
    with pytest.raises(RunNotFoundError, match="no run 'nope' in the journal"):
        send_event("nope", "approval")
