import asyncio


async def countdown(n):
    while n:
        await asyncio.sleep(0)
        yield n
        n -= 1


async def echo():
    received = []
    value = yield "ready"
    while value is not None:
        received.append(await asyncio.sleep(0, value))
        value = yield len(received)


async def main():
    counted = [n async for n in countdown(3)]
    gen = echo()
    first = await gen.asend(None)
    second = await gen.asend("x")
    await gen.aclose()
    return counted, first, second
