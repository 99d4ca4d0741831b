import asyncio


async def ticks(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield i


async def main():
    total = 0
    async for i in ticks(3):
        total += i
    else:
        total += 100
    pairs = []
    async for a, b in pair_stream():
        pairs.append(a + b)
    return total, pairs


async def pair_stream():
    for pair in [(1, 2), (3, 4)]:
        yield pair
