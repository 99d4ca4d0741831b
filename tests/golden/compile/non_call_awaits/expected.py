from durablec.runtime.abi import ckpt as __dc_ckpt__, aw as __dc_aw__; import asyncio


async def main():
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    loop.call_soon(future.set_result, "from future")
    got = await __dc_aw__(('future', 8, 11), future)
    coroutine = asyncio.sleep(0, "coro")
    from_coroutine = await __dc_aw__(('coroutine', 10, 22), coroutine)
    parenthesized = await (__dc_ckpt__(('asyncio.sleep', 11, 21), asyncio.sleep, 0, "parens"))
    subscripted = await __dc_aw__(("[asyncio.sleep(0, 'item')][0]", 12, 19), [asyncio.sleep(0, "item")][0])
    return got, from_coroutine, parenthesized, subscripted
