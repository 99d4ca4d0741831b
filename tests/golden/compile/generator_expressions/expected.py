from durablec.runtime.abi import ckpt as __dc_ckpt__, aiter as __dc_aiter__; import asyncio


async def square(x):
    return x * x


async def main():
    squares = (await __dc_ckpt__(('square', 9, 16), square, x) for x in range(4))
    total = 0
    async for value in __dc_aiter__(('squares', 11, 5), squares):
        total += value
    ordinary = sum(x for x in range(4))
    sole_generator_argument = await __dc_ckpt__(('asyncio.sleep', 14, 31), asyncio.sleep, 0, sum(x for x in range(3)))
    first = await __dc_ckpt__(('asyncio.sleep', 15, 13), asyncio.sleep, 0, list(x for x in range(2)))
    return total, ordinary, sole_generator_argument, first
