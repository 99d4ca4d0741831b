from durablec.runtime.abi import ckpt as __dc_ckpt__, actx as __dc_actx__; import asyncio

log = []


async def fail(message):
    await __dc_ckpt__(('asyncio.sleep', 7, 5), asyncio.sleep, 0)
    raise ValueError(message)


async def main():
    try:
        await __dc_ckpt__(('fail', 13, 9), fail, "boom")
    except ValueError as error:
        log.append(await __dc_ckpt__(('asyncio.sleep', 15, 20), asyncio.sleep, 0, str(error)))
    else:
        log.append("no error")
    finally:
        log.append(await __dc_ckpt__(('asyncio.sleep', 19, 20), asyncio.sleep, 0, "finally"))
    try:
        async with __dc_actx__(('asyncio.TaskGroup()', 21, 20), asyncio.TaskGroup()) as group:
            group.create_task(fail("one"))
            group.create_task(fail("two"))
    except* ValueError as errors:
        log.append(sorted(str(e) for e in errors.exceptions))
        log.append(await __dc_ckpt__(('asyncio.sleep', 26, 20), asyncio.sleep, 0, "handled group"))
    return log
