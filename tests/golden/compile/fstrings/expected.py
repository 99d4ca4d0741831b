from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio


async def name(key):
    return {"a": "Ada", "b": "Bob"}[key]


async def main():
    d = {"k": name, "a": name}
    plain = f"hello {await __dc_ckpt__(('name', 10, 22), name, 'a')}"
    single = f'hello {await __dc_ckpt__(("name", 11, 23), name, "b")}'
    key = "a"
    nested = f"{f'{await __dc_ckpt__(((100, 91, 107, 101, 121, 93), 13, 20), d[key], key)}'}"
    triple = f"""{await __dc_ckpt__(('name', 14, 19), name, 'a')} and {await __dc_ckpt__(((100, 91, 39, 107, 39, 93), 14, 41), d['k'], 'b')}"""
    spec = f"{await __dc_ckpt__(('asyncio.sleep', 15, 15), asyncio.sleep, 0, 3.14159):.2f}"
    return plain, single, nested, triple, spec
