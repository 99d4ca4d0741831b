import asyncio


async def name(key):
    return {"a": "Ada", "b": "Bob"}[key]


async def main():
    d = {"k": name, "a": name}
    plain = f"hello {await name('a')}"
    single = f'hello {await name("b")}'
    key = "a"
    nested = f"{f'{await d[key](key)}'}"
    triple = f"""{await name('a')} and {await d['k']('b')}"""
    spec = f"{await asyncio.sleep(0, 3.14159):.2f}"
    return plain, single, nested, triple, spec
