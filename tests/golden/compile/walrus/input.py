import asyncio


async def fetch(x):
    return x * 10


async def main():
    if (n := await fetch(2)) > 5:
        seen = n
    values = [y for x in range(3) if (y := await fetch(x))]
    return seen, values, (z := await fetch(7)) + z
