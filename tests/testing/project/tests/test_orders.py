import durablec
from durablec.testing import assert_replays, crash, time_skipping
from myshop import tasks


def test_happy_path(durablec_db, durablec_time):
    assert durablec.run(tasks.process_order, "A1")["order_id"] == "A1"
    assert durablec_time.skipped > 3599  # the hour, less the milliseconds that really passed


def test_crash_at_the_email_then_resume(durablec_db, durablec_client):
    with time_skipping():
        run_id = crash(tasks.process_order, "A1", at="send_email")
        assert durablec_client.get(run_id).status == "running"
        charges = len(tasks.CHARGES)
        assert durablec.run(tasks.process_order, run_id=run_id)["order_id"] == "A1"
        assert len(tasks.CHARGES) == charges  # the charge replayed
    assert_replays(tasks.process_order, run_id)


def test_each_test_has_a_fresh_journal(durablec_client):
    assert durablec_client.runs() == []


def test_assertions_are_still_rewritten_by_pytest():
    try:
        assert [1, 2] == [1, 3]
    except AssertionError as error:
        assert "At index 1 diff" in str(error)
