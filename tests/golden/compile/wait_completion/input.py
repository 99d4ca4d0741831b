import asyncio


async def fetch(name, rounds):
    for _ in range(rounds):
        await asyncio.sleep(0)
    return name.upper()


async def main():
    tasks = [asyncio.create_task(fetch(name, rounds)) for name, rounds in (("a", 4), ("b", 0))]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    first = sorted(t.result() for t in done)
    done, pending = await asyncio.wait(
        pending,
        timeout=5,
    )
    waiting = asyncio.wait(tasks)  # not the awaited call: left as written (DC303)
    done, _ = await waiting
    return first, sorted(t.result() for t in done), len(pending)
