from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio


async def main():
    live = await asyncio.sleep(0, "live")  # durablec: skip
    journaled = await __dc_ckpt__(('asyncio.sleep', 6, 17), asyncio.sleep, 0, "journaled")
    return live, journaled, await __dc_ckpt__(('connection', 7, 29), connection)


async def connection():  # durablec: skip
    async with asyncio.Lock():
        return await asyncio.sleep(0, "all live")
