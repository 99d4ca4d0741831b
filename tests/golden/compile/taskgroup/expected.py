from durablec.runtime.abi import ckpt as __dc_ckpt__, actx as __dc_actx__; import asyncio


async def fetch(name, rounds):
    for _ in range(rounds):
        await __dc_ckpt__(('asyncio.sleep', 6, 9), asyncio.sleep, 0)
    return name.upper()


async def main():
    # each child is a durable child step keyed by creation order; the group waits for them
    async with __dc_actx__(('asyncio.TaskGroup()', 12, 16), asyncio.TaskGroup()) as tg:
        slow = tg.create_task(fetch("a", 3))
        fast = tg.create_task(fetch("b", 0))
    group = asyncio.TaskGroup()
    async with __dc_actx__(('group', 16, 16), group):
        more = [group.create_task(fetch(name, 1)) for name in "cd"]
    return [slow.result(), fast.result(), *(t.result() for t in more)]
