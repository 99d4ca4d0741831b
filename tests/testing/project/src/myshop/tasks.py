import durablec
from durablec import task

CHARGES: list[int] = []


class Payments:
    async def charge(self, total: int, idempotency_key: str) -> str:
        CHARGES.append(total)
        return f"ch_{len(CHARGES)}"


payments = Payments()


async def send_email(to: str, text: str) -> None:
    pass


@task(id="process-order")
async def process_order(order_id: str) -> dict:
    charge = await payments.charge(42, idempotency_key=durablec.idempotency_key())
    await durablec.sleep(3600)
    await send_email(f"{order_id}@example.com", "How was your order?")
    return {"order_id": order_id, "charge_id": charge}
