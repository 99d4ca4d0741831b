"""time_skipping and durablec_time: waits complete at once, in order, and durablec.now() moves."""

from __future__ import annotations

import time

import pytest

import durablec
from durablec.errors import RunSuspendedError
from durablec.runtime.client import Client
from durablec.runtime.clock import now
from durablec.testing import SkippingClock, time_skipping
from shop import orders


@pytest.fixture(autouse=True)
def fresh_effects() -> None:
    orders.SIDE_EFFECTS.clear()
    orders.payments.failures = 0


def _shape(client: Client, run_id: str) -> list[tuple[str, str, int, str, bool]]:
    return [(s.key, s.callee, s.attempt, s.outcome, bool(s.final)) for s in client.timeline(run_id).steps]


def test_an_hour_sleep_returns_at_once_with_the_journal_of_a_real_run(
    durablec_db: str, durablec_client: Client,
) -> None:
    started = time.monotonic()
    with time_skipping() as clock:
        assert durablec.run(orders.follow_up, "A1") == "3600"  # durablec.now() moved an hour
    assert time.monotonic() - started < 2
    assert clock.skipped == pytest.approx(3600, abs=1)
    [skipped] = durablec_client.runs()

    # Without skipping the run suspends at the sleep; resumed when due, it ends the same way.
    with pytest.raises(RunSuspendedError) as suspended:
        durablec.run(orders.follow_up, "A1")
    run_id = suspended.value.run_id
    assert durablec_client.get(run_id).status == "sleeping"
    with time_skipping():
        assert durablec.run(orders.follow_up, run_id=run_id) == "3600"
    assert _shape(durablec_client, run_id) == _shape(durablec_client, skipped.id)
    assert orders.SIDE_EFFECTS == ["email A1@example.com: How was your order?"] * 2


def test_retry_backoffs_are_skipped(durablec_db: str, durablec_client: Client,
                                    durablec_time: SkippingClock) -> None:
    orders.payments.failures = 2
    charge_id = durablec.run(orders.charge_with_backoff, 10)
    assert charge_id.startswith("ch_")
    assert durablec_time.skipped == pytest.approx(60, abs=1)  # two backoffs of 30 s
    [run] = durablec_client.runs()
    assert [(s.attempt, s.outcome, bool(s.final)) for s in durablec_client.timeline(run.id).steps] == [
        (1, "error", False), (2, "error", False), (3, "ok", True)]


def test_an_event_timeout_passes_at_once(durablec_db: str, durablec_time: SkippingClock) -> None:
    assert durablec.run(orders.await_approval, "A1") == "expired"
    assert durablec_time.skipped == pytest.approx(86400, abs=1)


def test_sleeps_started_together_complete_in_the_order_they_are_due(
    durablec_db: str, durablec_time: SkippingClock,
) -> None:
    assert durablec.run(orders.race, [300, 100, 200]) == [100, 200, 300]
    assert durablec_time.skipped == pytest.approx(300, abs=1)


def test_the_clock_is_real_again_after_the_block() -> None:
    with time_skipping() as clock:
        clock.skipped = 7200
    assert abs(time.time() - now()) < 1
