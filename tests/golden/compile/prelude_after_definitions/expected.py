async def main():
    return await __dc_ckpt__(('helper', 2, 12), helper)
from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio


async def helper():
    return await __dc_ckpt__(('asyncio.sleep', 7, 12), asyncio.sleep, 0, "ok")
