from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio


async def combine(a, b, *, c):
    return a + b + c


async def main():
    total = await __dc_ckpt__(('combine', 9, 13), combine,
        1,
        2,  # a comment stays
        c=3,
    )
    other = await __dc_ckpt__(('combine', 14, 13), (
        combine
    ), 4, 5, c=6)
    return total, other
