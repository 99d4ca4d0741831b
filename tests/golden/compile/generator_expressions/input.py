import asyncio


async def square(x):
    return x * x


async def main():
    squares = (await square(x) for x in range(4))
    total = 0
    async for value in squares:
        total += value
    ordinary = sum(x for x in range(4))
    sole_generator_argument = await asyncio.sleep(0, sum(x for x in range(3)))
    first = await asyncio.sleep(0, list(x for x in range(2)))
    return total, ordinary, sole_generator_argument, first
