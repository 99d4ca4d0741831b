import asyncio

log = []


async def step(name, value=None):
    log.append(name)
    await asyncio.sleep(0)
    return value if value is not None else name


def pick(name):
    log.append(f"pick {name}")
    return step


async def main():
    result = await pick("outer")(await step("inner", 3), await step("second", 4))
    return result, log
