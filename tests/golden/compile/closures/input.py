import asyncio


async def main():
    counter = 0

    async def bump(by):
        nonlocal counter
        await asyncio.sleep(0)
        counter += by
        return counter

    def make_adder(n):
        async def add(x):
            return await asyncio.sleep(0, x + n)
        return add

    await bump(2)
    added = await make_adder(10)(5)

    async def outer():
        async def inner():
            return await bump(1)
        return await inner()

    return counter, added, await outer()
