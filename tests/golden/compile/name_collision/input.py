import asyncio

__dc_ckpt__ = "a user name that looks generated"


async def main():
    __dc_aw__ = asyncio.sleep(0, "also user")
    return __dc_ckpt__, await __dc_aw__, await asyncio.sleep(0, 1)
