from durablec.runtime.abi import aiter as __dc_aiter__; import asyncio


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
    async for item in __dc_aiter__(('Both(1, 2)', 18, 5), Both(1, 2)):
        out.append(item)
    return out, [x async for x in __dc_aiter__(('Both(*(3, 4))', 20, 35), Both(*(3, 4)))]
