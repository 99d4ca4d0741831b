import asyncio


async def main():
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    loop.call_soon(future.set_result, "from future")
    got = await future
    coroutine = asyncio.sleep(0, "coro")
    from_coroutine = await coroutine
    parenthesized = await (asyncio.sleep(0, "parens"))
    subscripted = await [asyncio.sleep(0, "item")][0]
    return got, from_coroutine, parenthesized, subscripted
