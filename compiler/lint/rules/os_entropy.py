"""DC203 os-entropy-call."""

from __future__ import annotations

from durablec.compiler.lint._rule import Ban, Rule

__all__ = ["OsEntropyCall"]

_USE = "an awaited helper that generates it, so the value is journaled"
_SECRETS = "SystemRandom choice randbelow randbits token_bytes token_hex token_urlsafe".split()


class OsEntropyCall(Rule):
    """What it does: finds reads of the operating system's entropy: ``os.urandom()``,
    ``os.getrandom()``, ``ssl.RAND_bytes()`` and the generators of the ``secrets`` module.

    Why it breaks replay: these are unpredictable by design; a replay generates another token,
    key or nonce than the one the first run already handed to the outside world.

    Example::

        async def invite(user):
            token = secrets.token_urlsafe()
            await send_invite(user, token)

    Use instead: generate the value in an awaited helper (``token = await make_token()``): the
    helper's result is journaled and the replay gets the same token. Keep in mind that the
    journal then holds the secret.
    """

    CODE = "DC203"
    NAME = "os-entropy-call"
    MESSAGE = "reads fresh entropy; replay will see another value"
    BANNED = {
        "os.urandom": Ban(_USE),
        "os.getrandom": Ban(_USE),
        "ssl.RAND_bytes": Ban(_USE),
        **{f"secrets.{name}": Ban(_USE) for name in _SECRETS},
    }
    VALID = (
        """
        import secrets


        async def task(a, b):
            return secrets.compare_digest(a, b)
        """,
        """
        import asyncio
        import os
        import secrets


        async def make_token():
            return secrets.token_hex()  # durablec: allow[DC203]


        async def task():
            return await make_token(), await asyncio.to_thread(os.urandom, 16)
        """,
    )
    INVALID = (
        """
        import os
        import secrets


        async def task():
            return os.urandom(16), secrets.token_hex(8)  # <-
        """,
        """
        from secrets import token_bytes


        async def task():
            return token_bytes()  # <-
        """,
    )
