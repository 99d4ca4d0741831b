import asyncio

log = []


async def probe(name, value):
    log.append(name)
    return value


async def main():
    a = await probe("a", 0) and await probe("never-and", 1)
    b = await probe("b", 1) or await probe("never-or", 2)
    c = await probe("yes", 1) if await probe("cond", True) else await probe("never-else", 2)
    d = False and await probe("never-literal", 3)
    return a, b, c, d, log
