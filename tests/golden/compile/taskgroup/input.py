import asyncio


async def fetch(name, rounds):
    for _ in range(rounds):
        await asyncio.sleep(0)
    return name.upper()


async def main():
    # each child is a durable child step keyed by creation order; the group waits for them
    async with asyncio.TaskGroup() as tg:
        slow = tg.create_task(fetch("a", 3))
        fast = tg.create_task(fetch("b", 0))
    group = asyncio.TaskGroup()
    async with group:
        more = [group.create_task(fetch(name, 1)) for name in "cd"]
    return [slow.result(), fast.result(), *(t.result() for t in more)]
