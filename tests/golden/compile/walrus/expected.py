from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio


async def fetch(x):
    return x * 10


async def main():
    if (n := await __dc_ckpt__(('fetch', 9, 14), fetch, 2)) > 5:
        seen = n
    values = [y for x in range(3) if (y := await __dc_ckpt__(('fetch', 11, 44), fetch, x))]
    return seen, values, (z := await __dc_ckpt__(('fetch', 12, 32), fetch, 7)) + z
