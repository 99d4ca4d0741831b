"""Tasks written as asyncpg's documentation shows them (tests/libraries/test_asyncpg.py)."""

import asyncpg

import durablec
from durablec import Retry

INSERT = "INSERT INTO orders (key, item) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING"


@durablec.task(id="asyncpg-orders", retry=Retry.fixed(0.1, max_attempts=3))
async def orders(dsn: str, items: list[str]) -> dict[str, object]:
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE IF NOT EXISTS orders (key text PRIMARY KEY, item text)")
    for item in items:
        await conn.execute(INSERT, durablec.idempotency_key(), item)
    rows = await conn.fetch("SELECT key, item FROM orders ORDER BY key")
    first = await conn.fetchrow("SELECT key, item FROM orders ORDER BY key LIMIT 1")
    await conn.close()
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    async with pool.acquire() as connection:
        count = await connection.fetchval("SELECT count(*) FROM orders")
    await pool.close()
    return {"rows": [dict(row) for row in rows], "first": first["item"], "first_key": first[0],
            "count": count}


@durablec.task(id="asyncpg-transfer", retry=Retry.fixed(0.1, max_attempts=3))
async def transfer(dsn: str, key: str) -> list[str]:
    """Two INSERTs in one transaction, as asyncpg's documentation writes a transaction."""
    conn = await asyncpg.connect(dsn)
    async with conn.transaction():
        await conn.execute(INSERT, key + "/debit", "debit")
        await conn.execute(INSERT, key + "/credit", "credit")
    rows = await conn.fetch("SELECT item FROM orders WHERE key LIKE $1 ORDER BY item", key + "/%")
    await conn.close()
    return [row["item"] for row in rows]
