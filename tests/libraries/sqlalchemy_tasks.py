"""Tasks written as SQLAlchemy's asyncio documentation shows them (tests/libraries/test_sqlalchemy.py)."""

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import durablec
from durablec import Retry


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"

    key: Mapped[str] = mapped_column(primary_key=True)
    item: Mapped[str]


@durablec.task(id="sqlalchemy-orders", retry=Retry.fixed(0.1, max_attempts=3))
async def orders(url: str, items: list[str]) -> list[list[str]]:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with AsyncSession(engine) as session:
        for item in items:
            session.add(Order(key=durablec.idempotency_key(), item=item))
            await session.commit()
    async with AsyncSession(engine) as session:
        result = await session.execute(select(Order).order_by(Order.key))
        found = [[order.key, order.item] for order in result.scalars().all()]
    await engine.dispose()
    return found


@durablec.task(id="sqlalchemy-core-transfer", retry=Retry.fixed(0.1, max_attempts=3))
async def core_transfer(url: str, key: str) -> list[str]:
    """Two Core INSERTs in one session transaction, then commit."""
    engine = create_async_engine(url)
    async with AsyncSession(engine) as session:
        await session.execute(insert(Order).values(key=key + "/debit", item="debit"))
        await session.execute(insert(Order).values(key=key + "/credit", item="credit"))
        await session.commit()
    async with engine.begin() as conn:
        result = await conn.execute(select(Order.item).where(Order.key.like(key + "/%"))
                                    .order_by(Order.item))
        items = list(result.scalars())
    await engine.dispose()
    return items
