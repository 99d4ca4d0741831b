async def helper():
    return "loaded at import"


async def load():
    return await helper()
class Config:
    import asyncio
    value = asyncio.run(load())


def with_default(x=__import__("asyncio").run(load())):
    return x


async def main():
    return Config.value, with_default()
