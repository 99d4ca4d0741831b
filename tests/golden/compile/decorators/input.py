import asyncio
import functools


def traced(fn):
    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        return ("traced", await fn(*args, **kwargs))
    return wrapper


async def make_decorator(tag):
    await asyncio.sleep(0)

    def decorate(fn):
        fn.tag = tag
        return fn
    return decorate


@traced
async def work(x):
    return await asyncio.sleep(0, x)


async def main():
    @(await make_decorator("late"))
    async def tagged():
        return await asyncio.sleep(0, "tagged")

    return await work(3), tagged.tag, await tagged()
