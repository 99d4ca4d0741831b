"""Checked by mypy --strict in test_api.py: the authoring API as a user writes it."""

from __future__ import annotations

import datetime
import uuid

import durablec
from durablec import Retry, task


async def fetch(order_id: str) -> dict[str, int]:
    return {"total": len(order_id)}


@task(id="typed", retry=Retry.exponential(max_attempts=5), timeout=30, dead_letter="dlq")
async def process(order_id: str, *, rush: bool = False) -> dict[str, str]:
    order = await fetch(order_id)
    when: datetime.datetime = await durablec.now()
    token: uuid.UUID = await durablec.uuid4()
    roll: float = await durablec.random()
    key: str = durablec.idempotency_key()
    await durablec.sleep(1.5)
    approval: object = await durablec.wait_for_event("approval", timeout=60)
    return {"total": str(order["total"]), "at": when.isoformat(), "id": str(token),
            "roll": str(roll), "key": key, "approval": repr(approval), "rush": str(rush)}


@task
async def bare(n: int) -> int:
    return n


reports = durablec.Queue("reports", concurrency=10, per_key=1)


@task(queue=reports, concurrency_key=lambda tenant, day: tenant)
async def report(tenant: str, day: str) -> str:
    return tenant + day


@task(concurrency=1)
async def one_at_a_time() -> None:
    return None


@task(cron=["*/5 * * * *", "0 0 * * * *"], timezone="Europe/Paris", catchup="latest",
      catchup_limit=10, overlap=False)
async def tick() -> None:
    return None


async def main() -> None:
    direct: dict[str, str] = await process("o1", rush=True)
    handle: durablec.Handle[dict[str, str]] = process.trigger("o2")
    result: dict[str, str] = await handle.result(timeout=5)
    assert handle.run_id and direct and result
    client = durablec.Client("sqlite:///typed.db")
    other = client.trigger(process, "o3", idempotency_key="k")
    client.trigger(report, "acme", "2026-01-01", concurrency_key="acme")
    infos: list[durablec.RunInfo] = client.runs(status="completed", task="typed")
    client.send_event(other.run_id, "approval", {"ok": True})
    number: int = await durablec.arun(bare, 3, db="sqlite:///typed.db")
    assert infos is not None and number
    added = client.add_schedule(report, "0 6 * * *", args=["acme", "today"], id="acme",
                                timezone="Europe/Paris", catchup="all", overlap=False)
    upcoming: float = added.next_at
    names: list[str] = [info.id for info in client.schedules(task="report")]
    client.pause_schedule("acme")
    client.resume_schedule("acme")
    started: str = client.trigger_schedule("acme")
    client.delete_schedule("acme")
    assert upcoming and names and started
    for policy in (Retry.fixed(2, 3), Retry.manual(), Retry.none()):
        assert policy.max_attempts >= 1


def sync_entry() -> int:
    return durablec.run(bare, 1, run_id="r")


def a_test_of_the_user(durablec_db: str) -> None:
    """durablec.testing as a test in a user's suite calls it."""
    from pathlib import Path

    from durablec.testing import assert_replays, crash, replay_history, send_event, time_skipping

    run_id: str = crash(process, "o1", at="fetch", db=durablec_db)
    with time_skipping() as clock:
        resumed: dict[str, str] = durablec.run(process, db=durablec_db, run_id=run_id)
        skipped: float = clock.skipped
    assert resumed and skipped >= 0
    send_event(run_id, "approval", {"ok": True}, db=durablec_db)
    assert_replays(process, run_id, db=durablec_db)
    replay_history(Path("histories/o1.json"), process)


async def an_async_test_of_the_user(durablec_db: str) -> str:
    from durablec.testing import acrash

    return await acrash(bare, 1, at="0", db=durablec_db)
