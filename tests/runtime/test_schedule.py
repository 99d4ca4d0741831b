"""Slot computation of cron schedules (runtime/schedule.py), with a controlled clock: every time
is passed in, so catch-up, overlap and daylight-saving changes are tested at chosen instants."""

from __future__ import annotations

from datetime import datetime
from itertools import islice
from zoneinfo import ZoneInfo

import pytest

from durablec.errors import UsageError
from durablec.runtime.schedule import GRACE_SECONDS, Catchup, Cron, utc

PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, *,
       zone: ZoneInfo = UTC, fold: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=zone, fold=fold).timestamp()


def paris(slot: float) -> str:
    return utc(slot).astimezone(PARIS).strftime("%m-%d %H:%M:%S%z")


def test_five_fields_step_minutes_and_six_fields_step_seconds() -> None:
    start = at(2026, 1, 1, 12, 0, 0)
    assert list(islice(Cron.of("*/5 * * * *").slots_after(start), 3)) == [
        start + 300, start + 600, start + 900]
    # Six fields: seconds come first.
    assert list(islice(Cron.of("*/2 * * * * *").slots_after(start), 3)) == [
        start + 2, start + 4, start + 6]
    assert next(Cron.of("@hourly").slots_after(start)) == start + 3600


def test_several_expressions_fire_at_the_union_of_their_slots_once() -> None:
    cron = Cron.of(["0 * * * *", "30 * * * *", "0 */2 * * *"])
    start = at(2026, 1, 1, 0, 0)
    assert list(islice(cron.slots_after(start), 4)) == [
        start + 1800, start + 3600, start + 5400, start + 7200]


def test_the_time_zone_decides_local_times() -> None:
    cron = Cron.of("0 9 * * *", timezone="Europe/Paris")
    assert paris(cron.next_slot(at(2026, 1, 1))) == "01-01 09:00:00+0100"
    assert cron.next_slot(at(2026, 1, 1)) == at(2026, 1, 1, 8, 0)


def test_a_local_time_skipped_by_the_spring_change_fires_once_when_clocks_jump() -> None:
    # 2026-03-29 in Paris: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that day.
    daily = Cron.of("30 2 * * *", timezone="Europe/Paris")
    slots = list(islice(daily.slots_after(at(2026, 3, 27, 12, 0, zone=PARIS)), 3))
    assert [paris(s) for s in slots] == [
        "03-28 02:30:00+0100", "03-29 03:00:00+0200", "03-30 02:30:00+0200"]
    # Every slot in the missing hour and 03:00 itself meet on the jump: one slot, not four.
    frequent = Cron.of("*/20 * * * *", timezone="Europe/Paris")
    slots = list(islice(frequent.slots_after(at(2026, 3, 29, 1, 30, zone=PARIS)), 4))
    assert [paris(s) for s in slots] == [
        "03-29 01:40:00+0100", "03-29 03:00:00+0200", "03-29 03:20:00+0200",
        "03-29 03:40:00+0200"]
    # Stepping back meets the same slots.
    back = list(islice(frequent.slots_until(at(2026, 3, 29, 3, 40, zone=PARIS)), 4))
    assert back == slots[::-1]


def test_a_local_time_that_happens_twice_in_autumn_fires_once() -> None:
    # 2026-10-25 in Paris: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
    daily = Cron.of("30 2 * * *", timezone="Europe/Paris")
    slots = list(islice(daily.slots_after(at(2026, 10, 24, 12, 0, zone=PARIS)), 3))
    assert [paris(s) for s in slots] == [
        "10-25 02:30:00+0200", "10-26 02:30:00+0100", "10-27 02:30:00+0100"]
    # A look taken during the second 02:30 hour fires nothing more for 02:30.
    second_pass = at(2026, 10, 25, 2, 10, zone=PARIS, fold=1)
    assert paris(daily.next_slot(second_pass)) == "10-26 02:30:00+0100"
    plan = daily.plan(at(2026, 10, 25, 2, 31, zone=PARIS), second_pass + 1800, busy=False)
    assert plan.fire == ()


def test_on_time_slots_fire_whatever_the_policy() -> None:
    cron = Cron.of("* * * * * *", catchup="skip")
    start = at(2026, 1, 1)
    # A worker that looks 3 s late fires the three slots it passed over: they are within grace.
    plan = cron.plan(start, start + 3.5, busy=False)
    assert plan.fire == (start + 1, start + 2, start + 3)
    assert plan.last_slot == start + 3 and plan.next_at == start + 4


@pytest.mark.parametrize(
    ("catchup", "fired_missed"),
    [("skip", []), ("latest", [9]), ("all", [5, 6, 7, 8, 9])],
)
def test_missed_slots_follow_the_catch_up_policy(catchup: Catchup, fired_missed: list[int]) -> None:
    # Hourly; no worker ran from 00:30 until 10:00:30. 10:00 is on time; 01:00-09:00 are missed.
    cron = Cron.of("0 * * * *", catchup=catchup, catchup_limit=5)
    midnight = at(2026, 1, 1)
    plan = cron.plan(midnight + 1800, midnight + 10 * 3600 + 30, busy=False)
    assert plan.fire == tuple(midnight + h * 3600 for h in [*fired_missed, 10])
    assert plan.last_slot == midnight + 10 * 3600
    assert plan.next_at == midnight + 11 * 3600
    # Decided once: a second look at the same time fires nothing again.
    assert cron.plan(plan.last_slot, midnight + 10 * 3600 + 31, busy=False).fire == ()


def test_a_slot_older_than_the_grace_is_missed() -> None:
    cron = Cron.of("0 * * * *", catchup="skip")
    midnight = at(2026, 1, 1)
    assert cron.plan(midnight - 1, midnight + GRACE_SECONDS - 0.5, busy=False).fire == (midnight,)
    late = cron.plan(midnight - 1, midnight + GRACE_SECONDS, busy=False)
    assert late.fire == () and late.last_slot == midnight


def test_without_overlap_a_busy_schedule_skips_and_a_free_one_fires_only_the_newest() -> None:
    cron = Cron.of("* * * * * *", overlap=False, catchup="all")
    start = at(2026, 1, 1)
    busy = cron.plan(start, start + 3, busy=True)
    assert busy.fire == () and busy.last_slot == start + 3
    assert cron.plan(start, start + 3, busy=False).fire == (start + 3,)
    # Overlap allowed: a busy schedule fires anyway.
    assert Cron.of("* * * * * *").plan(start, start + 2, busy=True).fire == (start + 1, start + 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cron": "* * * *"}, "has 4 fields"),
        ({"cron": "61 * * * *"}, "is not valid"),
        ({"cron": "0 0 31 2 *"}, "is not valid"),
        ({"cron": []}, "at least one"),
        ({"cron": "* * * * *", "timezone": "Mars/Olympus"}, "time zone 'Mars/Olympus'"),
        ({"cron": "* * * * *", "catchup": "some"}, "catchup='some'"),
        ({"cron": "* * * * *", "catchup_limit": 0}, "catchup_limit=0"),
    ],
)
def test_a_bad_schedule_is_refused_with_the_reason(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Cron.of(**kwargs)  # type: ignore[arg-type]  # each case's values are of the right types
