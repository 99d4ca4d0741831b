import asyncio


async def inc(x):
    return x + 1


async def main():
    direct = await (lambda x: inc(x))(1)
    make = lambda xs: (await inc(x) for x in xs)
    collected = [v async for v in make([1, 2])]
    chosen = await (lambda: inc)()(10)
    return direct, collected, chosen
