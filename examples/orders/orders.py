"""The seed article's order task, charging through a real payments API over HTTP with httpx.

The API (examples/payments_server.py) fails transiently: it answers 503 to the first requests of
each idempotency key. `r.raise_for_status()` raises out of the task body, and the task's retry
policy retries it from its last checkpoint: `fetch_order` replays, the POST runs again with the
same `Idempotency-Key`.

Run it:  python examples/payments_server.py 8000 &
         PAYMENTS_URL=http://127.0.0.1:8000 durablec run examples/orders/orders.py:process_order --args '["o-1"]'
Set ORDERS_STEP_DELAY (seconds) to slow each step down, e.g. to kill it mid-way.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass

import httpx

import durablec
from durablec import Retry, task

_DELAY = float(os.environ.get("ORDERS_STEP_DELAY", "0"))
PAYMENTS_URL = os.environ.get("PAYMENTS_URL", "http://127.0.0.1:8000")
log = logging.getLogger("orders")


@dataclass
class Order:
    id: str
    email: str
    total: int


async def fetch_order(order_id: str) -> Order:
    await asyncio.sleep(_DELAY)
    return Order(order_id, f"{order_id}@example.com", 4200)


async def send_email(to: str, subject: str) -> str:
    await asyncio.sleep(_DELAY)
    return f"sent to {to}: {subject}"


@task(id="process-order", retry=Retry.exponential(initial=0.1, max_attempts=5), timeout=30)
async def process_order(order_id: str) -> dict[str, str]:
    order = await fetch_order(order_id)
    log.info("charging %d for order %s", order.total, order_id)
    async with httpx.AsyncClient(base_url=PAYMENTS_URL) as client:
        r = await client.post("/charges", json={"amount": order.total},
                              headers={"Idempotency-Key": durablec.idempotency_key()})
        r.raise_for_status()
        charge = r.json()
    log.info("charged: %s", charge["id"])
    await send_email(order.email, f"Order {order_id} confirmed")
    return {"order_id": order_id, "charge_id": charge["id"]}
