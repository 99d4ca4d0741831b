import asyncio


async def double(x):
    await asyncio.sleep(0)
    return 2 * x


async def main():
    a = await double(1)
    b = await double(x=a)
    return a, b
