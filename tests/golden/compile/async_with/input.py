import asyncio

log = []


class Resource:
    def __init__(self, name):
        self.name = name

    async def __aenter__(self):
        log.append(f"enter {self.name}")
        return self.name

    async def __aexit__(self, *exc):
        log.append(f"exit {self.name}")
        return False


async def main():
    async with Resource("a") as a, Resource("b") as b:
        log.append(a + b)
    async with (
        Resource("c") as c,
        Resource("d"),
    ):
        log.append(c)
    async with await opened("e") as e:
        log.append(e)
    return log


async def opened(name):
    return Resource(name)
