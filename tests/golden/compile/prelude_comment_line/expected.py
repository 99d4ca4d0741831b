from durablec.runtime.abi import ckpt as __dc_ckpt__  # Copyright notice stays on its line.
async def main():
    return await __dc_ckpt__(('helper', 3, 12), helper)


async def helper():
    return "ok"
