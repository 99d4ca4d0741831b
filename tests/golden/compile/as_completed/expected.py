from durablec.runtime.abi import ckpt as __dc_ckpt__, aw as __dc_aw__, race as __dc_race__; import asyncio
from asyncio import as_completed as completed


async def fetch(name, rounds):
    for _ in range(rounds):
        await __dc_ckpt__(('asyncio.sleep', 7, 9), asyncio.sleep, 0)
    return name.upper()


async def main():
    tasks = [asyncio.create_task(fetch(name, rounds)) for name, rounds in (("a", 3), ("b", 1), ("c", 2))]
    order = [await __dc_aw__(('fut', 13, 14), fut) for fut in __dc_race__(('asyncio.as_completed', 13, 35), asyncio.as_completed, tasks)]
    for fut in __dc_race__(('completed', 14, 16), completed, [fetch("d", 1), fetch("e", 0)]):  # an alias resolves the same
        order.append(await __dc_aw__(('fut', 15, 22), fut))
    late = [fetch("f", 2), fetch("g", 1)]
    for fut in asyncio.as_completed(late, timeout=5):  # a timeout is left as written (DC303)
        order.append(await __dc_aw__(('fut', 18, 22), fut))
    return order


async def not_the_module(asyncio):
    return [await __dc_aw__(('fut', 23, 13), fut) for fut in asyncio.as_completed([])]  # a parameter named asyncio
