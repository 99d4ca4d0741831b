import asyncio


class Both:
    def __init__(self, *items):
        self.items = items

    def __aiter__(self):
        return self._gen()

    async def _gen(self):
        for item in self.items:
            yield item


async def main():
    out = []
    async for item in Both(1, 2):
        out.append(item)
    return out, [x async for x in Both(*(3, 4))]
