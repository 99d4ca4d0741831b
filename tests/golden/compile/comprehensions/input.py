import asyncio


async def square(x):
    await asyncio.sleep(0)
    return x * x


async def main():
    as_list = [await square(x) for x in range(3)]
    as_set = {await square(x) for x in range(3)}
    as_dict = {x: await square(x) for x in range(3) if await square(x) > 0}
    nested = [[await square(x + y) for y in range(2)] for x in range(2)]
    return as_list, sorted(as_set), as_dict, nested
