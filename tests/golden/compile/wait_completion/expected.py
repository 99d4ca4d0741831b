from durablec.runtime.abi import ckpt as __dc_ckpt__, aw as __dc_aw__, race as __dc_race__; import asyncio


async def fetch(name, rounds):
    for _ in range(rounds):
        await __dc_ckpt__(('asyncio.sleep', 6, 9), asyncio.sleep, 0)
    return name.upper()


async def main():
    tasks = [asyncio.create_task(fetch(name, rounds)) for name, rounds in (("a", 4), ("b", 0))]
    done, pending = await __dc_race__(('asyncio.wait', 12, 21), asyncio.wait, tasks, return_when=asyncio.FIRST_COMPLETED)
    first = sorted(t.result() for t in done)
    done, pending = await __dc_race__(('asyncio.wait', 14, 21), asyncio.wait,
        pending,
        timeout=5,
    )
    waiting = asyncio.wait(tasks)  # not the awaited call: left as written (DC303)
    done, _ = await __dc_aw__(('waiting', 19, 15), waiting)
    return first, sorted(t.result() for t in done), len(pending)
