"""A task that enters an unknown library's context manager (tests/libraries/test_resource_errors.py)."""

import thirdparty

import durablec
from durablec import Retry


@durablec.task(id="unknown-channel", retry=Retry.none())
async def send(text: str) -> str:
    async with thirdparty.open_channel() as channel:
        return await channel.send(text)
