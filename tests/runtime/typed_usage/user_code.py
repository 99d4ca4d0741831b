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
