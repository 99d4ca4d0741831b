"""Later versions of ``process_order`` (same task id) that old runs must not replay on."""

from __future__ import annotations

import durablec
from durablec import task
from shop.orders import db, payments, send_email


@task(id="process-order")
async def with_a_step_added(order_id: str) -> dict[str, str]:
    order = await db.fetch_order(order_id)
    await send_email(order.email, "We are charging your card")
    charge = await payments.charge(order.total, idempotency_key=durablec.idempotency_key())
    await send_email(order.email, f"Order {order_id} confirmed")
    return {"order_id": order_id, "charge_id": charge.id}


@task(id="process-order")
async def with_another_total(order_id: str) -> dict[str, str]:
    order = await db.fetch_order(order_id)
    charge = await payments.charge(order.total + 1, idempotency_key=durablec.idempotency_key())
    await send_email(order.email, f"Order {order_id} confirmed")
    return {"order_id": order_id, "charge_id": charge.id}


@task(id="process-order")
async def without_the_email(order_id: str) -> dict[str, str]:
    order = await db.fetch_order(order_id)
    charge = await payments.charge(order.total, idempotency_key=durablec.idempotency_key())
    return {"order_id": order_id, "charge_id": charge.id}
