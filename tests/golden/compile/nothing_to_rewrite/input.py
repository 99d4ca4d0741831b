"""Mentions async and await only in text and has an async def without awaits."""


async def main():
    return "no awaits here"
