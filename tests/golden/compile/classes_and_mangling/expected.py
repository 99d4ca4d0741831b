from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio


class Base:
    async def __secret(self):
        return "base"

    async def reveal(self):
        return await __dc_ckpt__(('self.__secret', 9, 16), self.__secret)


class Child(Base):
    async def __secret(self):
        return "child"

    async def both(self):
        return await __dc_ckpt__(('self.__secret', 17, 16), self.__secret), await __dc_ckpt__(('super().reveal', 17, 39), super().reveal)

    @classmethod
    async def make(cls):
        return await __dc_ckpt__(('asyncio.sleep', 21, 16), asyncio.sleep, 0, cls.__name__)

    @staticmethod
    async def static():
        return await __dc_ckpt__(('asyncio.sleep', 25, 16), asyncio.sleep, 0, "static")


async def main():
    child = Child()
    return await __dc_ckpt__(('child.both', 30, 12), child.both), await __dc_ckpt__(('Child.make', 30, 32), Child.make), await __dc_ckpt__(('Child.static', 30, 52), Child.static)
