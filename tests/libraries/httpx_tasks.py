"""Tasks written as httpx's documentation shows them (tests/libraries/test_httpx.py)."""

import httpx

import durablec
from durablec import Retry


@durablec.task(id="httpx-charges", retry=Retry.fixed(0.1, max_attempts=5))
async def charges(base_url: str, amounts: list[int]) -> dict[str, object]:
    made = []
    async with httpx.AsyncClient(base_url=base_url) as client:
        for amount in amounts:
            r = await client.post("/charges", json={"amount": amount},
                                  headers={"Idempotency-Key": durablec.idempotency_key()})
            r.raise_for_status()
            made.append(r.json())
        async with client.stream("GET", "/report") as response:
            report = b""
            async for chunk in response.aiter_bytes():
                report += chunk
    return {"charges": made, "report": report.decode()}


@durablec.task(id="httpx-backoff", retry=Retry.exponential(initial=0.05, factor=2, max_attempts=4))
async def charge_with_backoff(base_url: str, amount: int) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=base_url) as client:
        r = await client.post("/charges", json={"amount": amount},
                              headers={"Idempotency-Key": durablec.idempotency_key()})
        r.raise_for_status()
        return r.json()


async def settled(client: httpx.AsyncClient, charge_id: str) -> str:
    """Poll until the charge settles: raising here retries this helper from its last checkpoint."""
    r = await client.get(f"/charges/{charge_id}")
    r.raise_for_status()
    status: str = r.json()["status"]
    if status != "succeeded":
        raise RuntimeError(f"charge {charge_id} is still {status}")
    return status


async def pay_and_settle(base_url: str, amount: int) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=base_url) as client:
        r = await client.post("/charges", json={"amount": amount},
                              headers={"Idempotency-Key": durablec.idempotency_key()})
        r.raise_for_status()
        charge = r.json()
        status = await settled(client, charge["id"])
    return {"id": charge["id"], "status": status}


@durablec.task(id="httpx-settle", retry=Retry.fixed(0.1, max_attempts=5))
async def settle(base_url: str, amount: int) -> dict[str, object]:
    return await pay_and_settle(base_url, amount)


@durablec.task(id="httpx-settle-slow", retry=Retry.fixed(3600, max_attempts=5))
async def settle_slowly(base_url: str, amount: int) -> dict[str, object]:
    return await pay_and_settle(base_url, amount)
