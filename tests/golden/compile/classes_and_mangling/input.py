import asyncio


class Base:
    async def __secret(self):
        return "base"

    async def reveal(self):
        return await self.__secret()


class Child(Base):
    async def __secret(self):
        return "child"

    async def both(self):
        return await self.__secret(), await super().reveal()

    @classmethod
    async def make(cls):
        return await asyncio.sleep(0, cls.__name__)

    @staticmethod
    async def static():
        return await asyncio.sleep(0, "static")


async def main():
    child = Child()
    return await child.both(), await Child.make(), await Child.static()
