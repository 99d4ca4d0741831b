import asyncio


async def main():
    café = "naïve"; résumé = await asyncio.sleep(0, café)
    return résumé
