"""crash/acrash and the durablec_db fixture: a run abandoned at a step resumes by replay."""

from __future__ import annotations

import asyncio

import pytest

import durablec
from durablec.errors import NotCompiledError, UsageError
from durablec.runtime.client import Client
from durablec.testing import acrash, crash
from shop import orders


@pytest.fixture(autouse=True)
def fresh_effects() -> None:
    orders.SIDE_EFFECTS.clear()


def test_happy_path_on_the_fixture_journal(durablec_db: str, durablec_client: Client) -> None:
    result = durablec.run(orders.process_order, "A1")  # DURABLEC_DATABASE_URL is the fixture's
    assert result["order_id"] == "A1"
    [info] = durablec_client.runs()
    assert info.status == "completed"
    assert durablec_db.startswith("sqlite:///")


def test_crash_at_the_charge_by_callee_then_resume(durablec_db: str) -> None:
    run_id = crash(orders.process_order, "A1", at="payments.charge", db=durablec_db)
    # Killed as the charge's attempt began: before its code ran, and nothing of it recorded.
    assert orders.SIDE_EFFECTS == ["fetch A1"]
    steps = Client(durablec_db).timeline(run_id).steps
    assert [(s.key, s.callee) for s in steps] == [("0", "db.fetch_order")]  # nothing of step 1
    assert Client(durablec_db).get(run_id).status == "running"

    result = durablec.run(orders.process_order, db=durablec_db, run_id=run_id)
    assert result["order_id"] == "A1"
    # The fetch replays; the charge, which has no outcome, runs live.
    assert orders.SIDE_EFFECTS == ["fetch A1", "charge 42", "email A1@example.com: Order A1 confirmed"]


def test_crash_by_step_key_runs_no_cleanup_and_writes_nothing_more(durablec_db: str) -> None:
    run_id = crash(orders.with_cleanup, at="1", db=durablec_db)
    before = Client(durablec_db).get(run_id)
    assert orders.SIDE_EFFECTS == ["email ops@example.com: started"]  # no `finally` ran
    assert [s.key for s in Client(durablec_db).timeline(run_id).steps] == ["0"]
    assert Client(durablec_db).get(run_id) == before  # the abandoned execution writes no more

    assert durablec.run(orders.with_cleanup, db=durablec_db, run_id=run_id) == "done"
    assert orders.SIDE_EFFECTS[1:] == ["email ops@example.com: half way", "cleanup"]
    assert [s.key for s in Client(durablec_db).timeline(run_id).steps] == ["0", "1"]


def test_a_crashed_run_can_be_crashed_again_further_on(durablec_db: str) -> None:
    run_id = crash(orders.process_order, "E5", at="1")
    assert crash(orders.process_order, at="2", run_id=run_id) == run_id  # resumed, then killed
    assert [s.key for s in Client(durablec_db).timeline(run_id).steps] == ["0", "1"]
    assert durablec.run(orders.process_order, run_id=run_id)["order_id"] == "E5"
    assert orders.SIDE_EFFECTS == ["fetch E5", "charge 42", "email E5@example.com: Order E5 confirmed"]


def test_crash_with_an_unknown_step_names_the_steps_reached(durablec_db: str) -> None:
    with pytest.raises(UsageError) as caught:
        crash(orders.process_order, "C3", at="payments.refund", db=durablec_db)
    message = str(caught.value)
    assert "never started a step 'payments.refund'" in message
    assert "0 `db.fetch_order`, 1 `payments.charge`, 2 `send_email`" in message
    assert "completed" in message and "durablec inspect" in message


def test_acrash_from_async_code(durablec_db: str) -> None:
    async def scenario() -> dict[str, str]:
        run_id = await acrash(orders.process_order, "D4", at="1", db=durablec_db)
        return await durablec.arun(orders.process_order, db=durablec_db, run_id=run_id)

    assert asyncio.run(scenario())["order_id"] == "D4"


async def not_compiled() -> None:
    """Defined in a test module, which pytest (not durablec) imports."""
    await asyncio.sleep(0)


def test_crash_of_a_task_that_was_not_compiled_says_so(durablec_db: str) -> None:
    with pytest.raises(NotCompiledError, match="did not compile.* In tests, define tasks in a "
                                               "module of your package"):
        crash(not_compiled, at="0")
    assert durablec.Client().runs() == []


def test_the_public_names_are_pinned() -> None:
    import durablec.testing

    assert sorted(durablec.testing.__all__) == [
        "SkippingClock", "acrash", "assert_replays", "crash", "replay_history", "send_event",
        "time_skipping"]
