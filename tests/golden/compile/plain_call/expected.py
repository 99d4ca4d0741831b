from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio


async def double(x):
    await __dc_ckpt__(('asyncio.sleep', 5, 5), asyncio.sleep, 0)
    return 2 * x


async def main():
    a = await __dc_ckpt__(('double', 10, 9), double, 1)
    b = await __dc_ckpt__(('double', 11, 9), double, x=a)
    return a, b
