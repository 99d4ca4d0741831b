"""DC202 random-uuid-call."""

from __future__ import annotations

from durablec.compiler.lint._rule import Ban, Rule

__all__ = ["RandomUuidCall"]

_USE = "`await durablec.uuid4()`"


class RandomUuidCall(Rule):
    """What it does: finds ``uuid.uuid4()`` and ``uuid.uuid1()``.

    Why it breaks replay: each call returns a new identifier, so a replay names the order,
    the file or the request differently than the first run did, and the ids recorded by the
    journal's steps no longer match those the code computes.

    Example::

        async def create(order):
            order.id = str(uuid.uuid4())
            await save(order)

    Use instead: ``await durablec.uuid4()``, journaled once per run; or ``uuid.uuid5(namespace,
    name)`` from data the run already has; or ``durablec.idempotency_key()`` for external APIs.
    """

    CODE = "DC202"
    NAME = "random-uuid-call"
    MESSAGE = "returns a new id on every run; replay will see another id"
    BANNED = {
        "uuid.uuid4": Ban(_USE, fix="await {durablec}.uuid4()"),
        "uuid.uuid1": Ban(_USE),
    }
    VALID = (
        """
        import uuid


        async def task(name):
            return uuid.uuid5(uuid.NAMESPACE_URL, name)
        """,
    )
    INVALID = (
        """
        import uuid


        async def task():
            return uuid.uuid4(), uuid.uuid1()  # <-
        """,
        """
        from uuid import uuid4 as new_id


        async def task():
            make = new_id  # <-
            return make
        """,
    )
