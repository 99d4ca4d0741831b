from durablec.runtime.abi import ckpt as __dc_ckpt__, actx as __dc_actx__; import asyncio
from contextlib import asynccontextmanager

log = []


@asynccontextmanager
async def session(name):
    await __dc_ckpt__(('asyncio.sleep', 9, 5), asyncio.sleep, 0)
    log.append(f"open {name}")
    try:
        yield name.upper()
    finally:
        await __dc_ckpt__(('asyncio.sleep', 14, 9), asyncio.sleep, 0)
        log.append(f"close {name}")


async def main():
    async with __dc_actx__(("session('db')", 19, 16), session("db")) as s:
        log.append(s)
    return log
