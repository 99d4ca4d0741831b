from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio


async def value():
    return 42


async def main():
    return await __dc_ckpt__(('value', 9, 12), value)
