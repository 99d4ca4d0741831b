from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio


async def main():
    counter = 0

    async def bump(by):
        nonlocal counter
        await __dc_ckpt__(('asyncio.sleep', 9, 9), asyncio.sleep, 0)
        counter += by
        return counter

    def make_adder(n):
        async def add(x):
            return await __dc_ckpt__(('asyncio.sleep', 15, 20), asyncio.sleep, 0, x + n)
        return add

    await __dc_ckpt__(('bump', 18, 5), bump, 2)
    added = await __dc_ckpt__(('make_adder(10)', 19, 13), make_adder(10), 5)

    async def outer():
        async def inner():
            return await __dc_ckpt__(('bump', 23, 20), bump, 1)
        return await __dc_ckpt__(('inner', 24, 16), inner)

    return counter, added, await __dc_ckpt__(('outer', 26, 28), outer)
