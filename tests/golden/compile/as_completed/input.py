import asyncio
from asyncio import as_completed as completed


async def fetch(name, rounds):
    for _ in range(rounds):
        await asyncio.sleep(0)
    return name.upper()


async def main():
    tasks = [asyncio.create_task(fetch(name, rounds)) for name, rounds in (("a", 3), ("b", 1), ("c", 2))]
    order = [await fut for fut in asyncio.as_completed(tasks)]
    for fut in completed([fetch("d", 1), fetch("e", 0)]):  # an alias resolves the same
        order.append(await fut)
    late = [fetch("f", 2), fetch("g", 1)]
    for fut in asyncio.as_completed(late, timeout=5):  # a timeout is left as written (DC303)
        order.append(await fut)
    return order


async def not_the_module(asyncio):
    return [await fut for fut in asyncio.as_completed([])]  # a parameter named asyncio
