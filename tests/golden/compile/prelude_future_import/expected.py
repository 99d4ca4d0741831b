"""A module docstring."""
from __future__ import annotations

from durablec.runtime.abi import ckpt as __dc_ckpt__; import asyncio


async def main() -> str:
    return await __dc_ckpt__(('asyncio.sleep', 8, 12), asyncio.sleep, 0, "ok")
