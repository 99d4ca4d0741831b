"""A module docstring."""
from __future__ import annotations

import asyncio


async def main() -> str:
    return await asyncio.sleep(0, "ok")
