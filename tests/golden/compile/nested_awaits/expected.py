from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio

log = []


async def step(name, value=None):
    log.append(name)
    await __dc_ckpt__(('asyncio.sleep', 8, 5), asyncio.sleep, 0)
    return value if value is not None else name


def pick(name):
    log.append(f"pick {name}")
    return step


async def main():
    result = await __dc_ckpt__(("pick('outer')", 18, 14), pick("outer"), await __dc_ckpt__(('step', 18, 34), step, "inner", 3), await __dc_ckpt__(('step', 18, 58), step, "second", 4))
    return result, log
