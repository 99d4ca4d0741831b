from durablec.runtime.abi import ckpt as __dc_ckpt__, aw as __dc_aw__; import asyncio


async def fetch(name, rounds):
    for _ in range(rounds):
        await __dc_ckpt__(('asyncio.sleep', 6, 9), asyncio.sleep, 0)
    return name.upper()


async def main():
    # created now, awaited later: the create_task calls are not rewritten, the awaits are
    first = asyncio.create_task(fetch("x", 2))
    second = asyncio.create_task(fetch("y", 0))
    tasks = [asyncio.ensure_future(fetch(name, 1)) for name in "pq"]
    loop = asyncio.get_running_loop()
    third = loop.create_task(fetch("z", 1))
    return await __dc_aw__(('first', 17, 12), first) + await __dc_aw__(('second', 17, 26), second), await __dc_ckpt__(('asyncio.gather', 17, 40), asyncio.gather, *tasks), await __dc_aw__(('third', 17, 70), third)
