async def helper():
    return "loaded at import"

from durablec.runtime.abi import ckpt as __dc_ckpt__
async def load():
    return await __dc_ckpt__(('helper', 6, 12), helper)
class Config:
    import asyncio
    value = asyncio.run(load())


def with_default(x=__import__("asyncio").run(load())):
    return x


async def main():
    return Config.value, with_default()
