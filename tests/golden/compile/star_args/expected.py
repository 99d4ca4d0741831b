from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio


async def collect(*args, **kwargs):
    return args, kwargs


async def main():
    args = (1, 2)
    kwargs = {"site": "not ours", "fn": "not ours either"}
    a = await __dc_ckpt__(('collect', 11, 9), collect, *args, 3, *args, key=4, **kwargs)
    b = await __dc_ckpt__(('collect', 12, 9), collect, *[], **{})
    return a, b
