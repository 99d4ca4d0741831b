from durablec.runtime.abi import ckpt as __dc1_ckpt__, aw as __dc1_aw__; import asyncio

__dc_ckpt__ = "a user name that looks generated"


async def main():
    __dc_aw__ = asyncio.sleep(0, "also user")
    return __dc_ckpt__, await __dc1_aw__(('__dc_aw__', 8, 25), __dc_aw__), await __dc1_ckpt__(('asyncio.sleep', 8, 42), asyncio.sleep, 0, 1)
