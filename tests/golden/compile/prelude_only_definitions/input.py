async def main():
    return await helper()


async def helper():
    return "ok"
