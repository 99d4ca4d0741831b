"""The README's ``process_order``, with in-memory stand-ins for its database, payment API and mail
that log each side effect in ``SIDE_EFFECTS``, and tasks that sleep, retry and wait for events."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import durablec
from durablec import Retry, task

SIDE_EFFECTS: list[str] = []


@dataclass(frozen=True)
class Order:
    id: str
    total: int
    email: str


@dataclass(frozen=True)
class Charge:
    id: str


class Database:
    async def fetch_order(self, order_id: str) -> Order:
        SIDE_EFFECTS.append(f"fetch {order_id}")
        return Order(order_id, 42, f"{order_id}@example.com")


class Payments:
    def __init__(self) -> None:
        self.failures = 0

    async def charge(self, total: int, idempotency_key: str) -> Charge:
        SIDE_EFFECTS.append(f"charge {total}")
        if self.failures:
            self.failures -= 1
            raise ConnectionError("payment API unavailable")
        return Charge(f"ch_{idempotency_key[-6:]}")


db = Database()
payments = Payments()


async def send_email(to: str, text: str) -> None:
    SIDE_EFFECTS.append(f"email {to}: {text}")


@task(id="process-order", retry=Retry.exponential(max_attempts=5), timeout=30)
async def process_order(order_id: str) -> dict[str, str]:
    order = await db.fetch_order(order_id)
    charge = await payments.charge(order.total, idempotency_key=durablec.idempotency_key())
    await send_email(order.email, f"Order {order_id} confirmed")
    return {"order_id": order_id, "charge_id": charge.id}


@task(id="follow-up")
async def follow_up(order_id: str) -> str:
    sent = await durablec.now()
    await durablec.sleep(3600)
    await send_email(f"{order_id}@example.com", "How was your order?")
    later = await durablec.now()
    return f"{(later - sent).total_seconds():.0f}"


@task(id="charge-with-backoff", retry=Retry.fixed(30, max_attempts=3))
async def charge_with_backoff(total: int) -> str:
    charge = await payments.charge(total, idempotency_key=durablec.idempotency_key())
    return charge.id


@task(id="await-approval")
async def await_approval(order_id: str) -> str:
    try:
        decision = await durablec.wait_for_event("approval", timeout=86400)
    except TimeoutError:
        return "expired"
    return f"{order_id}: {decision}"


@task(id="with-cleanup")
async def with_cleanup() -> str:
    try:
        await send_email("ops@example.com", "started")
        await send_email("ops@example.com", "half way")
    finally:
        SIDE_EFFECTS.append("cleanup")
    return "done"


async def _nap(seconds: int, woke: list[int]) -> None:
    await durablec.sleep(seconds)
    woke.append(seconds)


@task(id="race")
async def race(naps: list[int]) -> list[int]:
    woke: list[int] = []
    await asyncio.gather(*(_nap(seconds, woke) for seconds in naps))
    return woke
