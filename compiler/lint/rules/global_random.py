"""DC201 global-random-call."""

from __future__ import annotations

from durablec.compiler.lint._rule import Ban, Rule

__all__ = ["GlobalRandomCall"]

_USE = "`await durablec.random()` or a seeded `random.Random(seed)`"
_FUNCTIONS = (
    "betavariate binomialvariate choice choices expovariate gammavariate gauss getrandbits "
    "lognormvariate normalvariate paretovariate randbytes randint randrange sample shuffle "
    "triangular uniform vonmisesvariate weibullvariate"
).split()


class GlobalRandomCall(Rule):
    """What it does: finds the ``random`` module's global functions (``random.random()``,
    ``random.choice()``, ``random.shuffle()``, ...), ``random.Random()`` created without a seed
    and ``random.SystemRandom``.

    Why it breaks replay: the global generator is seeded from the operating system when the
    process starts, so a replay draws other numbers than the first run and takes other branches.

    Example::

        async def assign(job):
            worker = random.choice(WORKERS)
            await dispatch(job, worker)

    Use instead: ``await durablec.random()`` (a journaled float in [0, 1)), or a generator seeded
    from something the run already fixed: ``random.Random(run_seed)``.
    """

    CODE = "DC201"
    NAME = "global-random-call"
    MESSAGE = "draws from an unseeded generator; replay will draw other numbers"
    BANNED = {
        "random.random": Ban(_USE, fix="await {durablec}.random()"),
        **{f"random.{name}": Ban(_USE) for name in _FUNCTIONS},
        "random.Random": Ban(_USE, min_args=1),
        "random.SystemRandom": Ban(_USE),
    }
    VALID = (
        """
        import random


        async def task(seed):
            rng = random.Random(42)
            return rng.random(), random.Random(seed).choice("ab")
        """,
        """
        class random:
            @staticmethod
            def random():
                return 4


        async def task():
            return random.random()  # a user class that shares the name
        """,
    )
    INVALID = (
        """
        import random as r


        async def task():
            return r.random()  # <-
        """,
        """
        from random import *


        async def task(items):
            shuffle(items)  # <-
            return Random()  # <-
        """,
        """
        import random


        async def task():
            return random.SystemRandom(7).random()  # <-
        """,
    )
