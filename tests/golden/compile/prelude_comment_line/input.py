# Copyright notice stays on its line.
async def main():
    return await helper()


async def helper():
    return "ok"
