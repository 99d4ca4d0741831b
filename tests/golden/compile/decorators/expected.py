from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio
import functools


def traced(fn):
    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        return ("traced", await __dc_ckpt__(('fn', 8, 27), fn, *args, **kwargs))
    return wrapper


async def make_decorator(tag):
    await __dc_ckpt__(('asyncio.sleep', 13, 5), asyncio.sleep, 0)

    def decorate(fn):
        fn.tag = tag
        return fn
    return decorate


@traced
async def work(x):
    return await __dc_ckpt__(('asyncio.sleep', 23, 12), asyncio.sleep, 0, x)


async def main():
    @(await __dc_ckpt__(('make_decorator', 27, 7), make_decorator, "late"))
    async def tagged():
        return await __dc_ckpt__(('asyncio.sleep', 29, 16), asyncio.sleep, 0, "tagged")

    return await __dc_ckpt__(('work', 31, 12), work, 3), tagged.tag, await __dc_ckpt__(('tagged', 31, 39), tagged)
