import asyncio

log = []


async def fail(message):
    await asyncio.sleep(0)
    raise ValueError(message)


async def main():
    try:
        await fail("boom")
    except ValueError as error:
        log.append(await asyncio.sleep(0, str(error)))
    else:
        log.append("no error")
    finally:
        log.append(await asyncio.sleep(0, "finally"))
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(fail("one"))
            group.create_task(fail("two"))
    except* ValueError as errors:
        log.append(sorted(str(e) for e in errors.exceptions))
        log.append(await asyncio.sleep(0, "handled group"))
    return log
