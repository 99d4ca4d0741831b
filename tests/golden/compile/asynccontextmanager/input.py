import asyncio
from contextlib import asynccontextmanager

log = []


@asynccontextmanager
async def session(name):
    await asyncio.sleep(0)
    log.append(f"open {name}")
    try:
        yield name.upper()
    finally:
        await asyncio.sleep(0)
        log.append(f"close {name}")


async def main():
    async with session("db") as s:
        log.append(s)
    return log
