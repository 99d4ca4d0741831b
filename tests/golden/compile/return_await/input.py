import asyncio


async def value():
    return 42


async def main():
    return await value()
