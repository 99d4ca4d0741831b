async def main():
    return await helper()
import asyncio


async def helper():
    return await asyncio.sleep(0, "ok")
