from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio


async def square(x):
    await __dc_ckpt__(('asyncio.sleep', 5, 5), asyncio.sleep, 0)
    return x * x


async def main():
    as_list = [await __dc_ckpt__(('square', 10, 16), square, x) for x in range(3)]
    as_set = {await __dc_ckpt__(('square', 11, 15), square, x) for x in range(3)}
    as_dict = {x: await __dc_ckpt__(('square', 12, 19), square, x) for x in range(3) if await __dc_ckpt__(('square', 12, 56), square, x) > 0}
    nested = [[await __dc_ckpt__(('square', 13, 16), square, x + y) for y in range(2)] for x in range(2)]
    return as_list, sorted(as_set), as_dict, nested
