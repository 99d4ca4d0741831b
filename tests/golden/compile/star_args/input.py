import asyncio


async def collect(*args, **kwargs):
    return args, kwargs


async def main():
    args = (1, 2)
    kwargs = {"site": "not ours", "fn": "not ours either"}
    a = await collect(*args, 3, *args, key=4, **kwargs)
    b = await collect(*[], **{})
    return a, b
