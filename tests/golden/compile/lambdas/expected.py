from durablec.runtime.abi import ckpt as __dc_ckpt__, aiter as __dc_aiter__; import asyncio


async def inc(x):
    return x + 1


async def main():
    direct = await __dc_ckpt__(('lambda x: inc(x)', 9, 14), (lambda x: inc(x)), 1)
    make = lambda xs: (await __dc_ckpt__(('inc', 10, 24), inc, x) for x in xs)
    collected = [v async for v in __dc_aiter__(('make([1, 2])', 11, 35), make([1, 2]))]
    chosen = await __dc_ckpt__(('(lambda: inc)()', 12, 14), (lambda: inc)(), 10)
    return direct, collected, chosen
