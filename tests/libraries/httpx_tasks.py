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
    client = httpx.AsyncClient(base_url=base_url)  # closed by hand: case 2 without case 1
    r = await client.post("/charges", json={"amount": amount},
                          headers={"Idempotency-Key": durablec.idempotency_key()})
    r.raise_for_status()
    await client.aclose()
    return r.json()


async def charge_and_settle(client: httpx.AsyncClient, amount: int) -> dict[str, object]:
    """Charge, then poll until the charge settles: raising here retries this helper from its
    last checkpoint (the charge is not made again once it succeeded; the poll is)."""
    r = await client.post("/charges", json={"amount": amount},
                          headers={"Idempotency-Key": durablec.idempotency_key()})
    r.raise_for_status()
    charge = r.json()
    r = await client.get(f"/charges/{charge['id']}")
    r.raise_for_status()
    status = r.json()["status"]
    if status != "succeeded":
        raise RuntimeError(f"charge {charge['id']} is still {status}")
    return {"id": charge["id"], "status": status}


async def pay_and_settle(base_url: str, amount: int) -> dict[str, object]:
    # A client closed by hand (no `async with`): the test isolates case 3 from case 1.
    client = httpx.AsyncClient(base_url=base_url)
    charge = await charge_and_settle(client, amount)
    await client.aclose()
    return charge


@durablec.task(id="httpx-settle", retry=Retry.fixed(0.1, max_attempts=5))
async def settle(base_url: str, amount: int) -> dict[str, object]:
    return await pay_and_settle(base_url, amount)


@durablec.task(id="httpx-settle-slow", retry=Retry.fixed(3600, max_attempts=5))
async def settle_slowly(base_url: str, amount: int) -> dict[str, object]:
    return await pay_and_settle(base_url, amount)


@durablec.task(id="httpx-report", retry=Retry.fixed(0.1, max_attempts=3))
async def report(base_url: str) -> str:
    async with httpx.AsyncClient(base_url=base_url) as client:
        async with client.stream("GET", "/report") as response:
            status = response.status_code
            body = await response.aread()
    return f"{status} {body.decode()}"
