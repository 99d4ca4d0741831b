from durablec.runtime.abi import ckpt as __dc_ckpt__, actx as __dc_actx__; import asyncio

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
    async with __dc_actx__(("Resource('a')", 20, 16), Resource("a")) as a, __dc_actx__(("Resource('b')", 20, 36), Resource("b")) as b:
        log.append(a + b)
    async with (
        __dc_actx__(("Resource('c')", 23, 9), Resource("c")) as c,
        __dc_actx__(("Resource('d')", 24, 9), Resource("d")),
    ):
        log.append(c)
    async with __dc_actx__(("await opened('e')", 27, 16), await __dc_ckpt__(('opened', 27, 16), opened, "e")) as e:
        log.append(e)
    return log


async def opened(name):
    return Resource(name)
