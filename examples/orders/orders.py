"""The seed article's order task against a fake payment API that fails transiently.

Run it:  durablec run examples/orders/orders.py:process_order --args '["o-1"]'
Set ORDERS_STEP_DELAY (seconds) to slow each step down, e.g. to kill it mid-way.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

import durablec
from durablec import Retry, task

_DELAY = float(os.environ.get("ORDERS_STEP_DELAY", "0"))


@dataclass
class Order:
    id: str
    email: str
    total: int


@dataclass
class Charge:
    id: str
    amount: int


class PaymentGatewayError(Exception):
    """The fake gateway's transient failure."""


class FakePayments:
    """Charges are idempotent by key, like Stripe's: the same key never charges twice."""

    def __init__(self) -> None:
        self.charges: dict[str, Charge] = {}
        self.calls = 0

    async def charge(self, amount: int, idempotency_key: str) -> Charge:
        self.calls += 1
        await asyncio.sleep(_DELAY)
        if self.calls % 3 == 1:
            raise PaymentGatewayError(f"gateway timeout (call {self.calls})")
        charge = self.charges.setdefault(
            idempotency_key, Charge(f"ch_{len(self.charges) + 1}", amount))
        return charge


payments = FakePayments()


async def fetch_order(order_id: str) -> Order:
    await asyncio.sleep(_DELAY)
    return Order(order_id, f"{order_id}@example.com", 4200)


async def send_email(to: str, subject: str) -> str:
    await asyncio.sleep(_DELAY)
    return f"sent to {to}: {subject}"


@task(id="process-order", retry=Retry.exponential(initial=0.1, max_attempts=5), timeout=30)
async def process_order(order_id: str) -> dict[str, str]:
    order = await fetch_order(order_id)
    charge = await payments.charge(order.total, idempotency_key=durablec.idempotency_key())
    await send_email(order.email, f"Order {order_id} confirmed")
    return {"order_id": order_id, "charge_id": charge.id}
