"""DC401 environment-read."""

from __future__ import annotations

from durablec.compiler.lint._rule import Ban, Rule

__all__ = ["EnvironmentRead"]

_USE = "a task argument, or read it in an awaited helper so the value is journaled"
_NAMES = (
    "os.environ",
    "os.environb",
    "os.getenv",
    "os.getenvb",
    "os.getpid",
    "os.getppid",
    "os.getcwd",
    "os.getlogin",
    "os.cpu_count",
    "os.uname",
    "sys.argv",
    "socket.gethostname",
    "platform.node",
    "platform.uname",
    "getpass.getuser",
    "uuid.getnode",
    "pathlib.Path.cwd",
    "pathlib.Path.home",
)


class EnvironmentRead(Rule):
    """What it does: finds reads of the worker's environment: ``os.environ``, ``os.getenv()``,
    the process id, the working directory, the host name, the user name, ``sys.argv``.

    Why it breaks replay: a run is resumed by whichever worker holds its lease, on any machine,
    after any deploy. Its environment, host and process differ from those of the first run, so
    code that decides by them takes another path on replay.

    Example::

        async def charge(order):
            if os.environ.get("DRY_RUN"):
                return None
            return await payments.charge(order.total)

    Use instead: pass the value as a task argument (it is journaled with the run), or read it in
    an awaited helper (``dry_run = await read_setting("DRY_RUN")``).
    """

    CODE = "DC401"
    NAME = "environment-read"
    MESSAGE = "reads the worker's environment; a replay on another worker may see another value"
    BANNED = {name: Ban(_USE) for name in _NAMES}
    VALID = (
        """
        import os

        DRY_RUN = os.environ.get("DRY_RUN")  # read once at import


        async def task(environ):
            return environ["HOME"], DRY_RUN
        """,
    )
    INVALID = (
        """
        import os


        async def task():
            return os.environ.get("DRY_RUN")  # <-
        """,
        """
        from os import environ, getenv


        def setting(name):
            return environ[name] or getenv(name)  # <-


        def indirect():
            return setting("A")


        async def task():
            return indirect()
        """,
    )
