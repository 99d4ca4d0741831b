import asyncio


async def main():
    live = await asyncio.sleep(0, "live")  # durablec: skip
    journaled = await asyncio.sleep(0, "journaled")
    return live, journaled, await connection()


async def connection():  # durablec: skip
    async with asyncio.Lock():
        return await asyncio.sleep(0, "all live")
