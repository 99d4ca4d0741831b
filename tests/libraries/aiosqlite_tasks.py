"""Tasks written as aiosqlite's documentation shows them (tests/libraries/test_aiosqlite.py)."""

import aiosqlite

import durablec
from durablec import Retry

INSERT = "INSERT INTO orders (key, item) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"


@durablec.task(id="aiosqlite-orders", retry=Retry.fixed(0.1, max_attempts=3))
async def orders(path: str, items: list[str]) -> dict[str, object]:
    ids = []
    async with aiosqlite.connect(path) as db:
        await db.execute("CREATE TABLE IF NOT EXISTS orders (key TEXT PRIMARY KEY, item TEXT)")
        for item in items:
            cursor = await db.execute(INSERT, (durablec.idempotency_key(), item))
            ids.append(cursor.lastrowid)
            await db.commit()
        found = []
        async with db.execute("SELECT key, item FROM orders ORDER BY rowid") as cursor:
            async for row in cursor:
                found.append(list(row))
    return {"ids": ids, "rows": found}


@durablec.step
async def insert_order(db: aiosqlite.Connection, key: str, item: str) -> None:
    """One transaction as one live step: the INSERT runs again with its commit after a kill."""
    await db.execute(INSERT, (key, item))
    await db.commit()


@durablec.task(id="aiosqlite-orders-in-steps", retry=Retry.fixed(0.1, max_attempts=3))
async def orders_in_steps(path: str, items: list[str]) -> list[list[str]]:
    async with aiosqlite.connect(path) as db:
        await db.execute("CREATE TABLE IF NOT EXISTS orders (key TEXT PRIMARY KEY, item TEXT)")
        for item in items:
            await insert_order(db, durablec.idempotency_key(), item)
        found = []
        async with db.execute("SELECT key, item FROM orders ORDER BY rowid") as cursor:
            async for row in cursor:
                found.append(list(row))
    return found


@durablec.task(id="aiosqlite-count")
async def count(path: str) -> int:
    db = await aiosqlite.connect(path)
    cursor = await db.execute("SELECT count(*) FROM orders")
    row = await cursor.fetchone()
    await cursor.close()
    await db.close()
    return int(row[0])
