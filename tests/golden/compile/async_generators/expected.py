from durablec.runtime.abi import ckpt as __dc_ckpt__, aiter as __dc_aiter__; import asyncio


async def countdown(n):
    while n:
        await __dc_ckpt__(('asyncio.sleep', 6, 9), asyncio.sleep, 0)
        yield n
        n -= 1


async def echo():
    received = []
    value = yield "ready"
    while value is not None:
        received.append(await __dc_ckpt__(('asyncio.sleep', 15, 25), asyncio.sleep, 0, value))
        value = yield len(received)


async def main():
    counted = [n async for n in __dc_aiter__(('countdown(3)', 20, 33), countdown(3))]
    gen = echo()
    first = await __dc_ckpt__(('gen.asend', 22, 13), gen.asend, None)
    second = await __dc_ckpt__(('gen.asend', 23, 14), gen.asend, "x")
    await __dc_ckpt__(('gen.aclose', 24, 5), gen.aclose)
    return counted, first, second
