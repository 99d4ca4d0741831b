from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio


async def main():
    café = "naïve"; résumé = await __dc_ckpt__(('asyncio.sleep', 5, 30), asyncio.sleep, 0, café)
    return résumé
