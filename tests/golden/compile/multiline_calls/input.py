import asyncio


async def combine(a, b, *, c):
    return a + b + c


async def main():
    total = await combine(
        1,
        2,  # a comment stays
        c=3,
    )
    other = await (
        combine
    )(4, 5, c=6)
    return total, other
