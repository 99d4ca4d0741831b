import asyncio


async def fetch(name, rounds):
    for _ in range(rounds):
        await asyncio.sleep(0)
    return name.upper()


async def main():
    # created now, awaited later: the create_task calls are not rewritten, the awaits are
    first = asyncio.create_task(fetch("x", 2))
    second = asyncio.create_task(fetch("y", 0))
    tasks = [asyncio.ensure_future(fetch(name, 1)) for name in "pq"]
    loop = asyncio.get_running_loop()
    third = loop.create_task(fetch("z", 1))
    return await first + await second, await asyncio.gather(*tasks), await third
