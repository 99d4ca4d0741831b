from durablec.runtime.abi import ckpt as __dc_ckpt__, aiter as __dc_aiter__; import asyncio


async def ticks(n):
    for i in range(n):
        await __dc_ckpt__(('asyncio.sleep', 6, 9), asyncio.sleep, 0)
        yield i


async def main():
    total = 0
    async for i in __dc_aiter__(('ticks(3)', 12, 5), ticks(3)):
        total += i
    else:
        total += 100
    pairs = []
    async for a, b in __dc_aiter__(('pair_stream()', 17, 5), pair_stream()):
        pairs.append(a + b)
    return total, pairs


async def pair_stream():
    for pair in [(1, 2), (3, 4)]:
        yield pair
