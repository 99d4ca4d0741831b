from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio

log = []


async def probe(name, value):
    log.append(name)
    return value


async def main():
    a = await __dc_ckpt__(('probe', 12, 9), probe, "a", 0) and await __dc_ckpt__(('probe', 12, 33), probe, "never-and", 1)
    b = await __dc_ckpt__(('probe', 13, 9), probe, "b", 1) or await __dc_ckpt__(('probe', 13, 32), probe, "never-or", 2)
    c = await __dc_ckpt__(('probe', 14, 9), probe, "yes", 1) if await __dc_ckpt__(('probe', 14, 34), probe, "cond", True) else await __dc_ckpt__(('probe', 14, 65), probe, "never-else", 2)
    d = False and await __dc_ckpt__(('probe', 15, 19), probe, "never-literal", 3)
    return a, b, c, d, log
