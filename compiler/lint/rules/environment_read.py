"""DC401 environment-read."""

from __future__ import annotations

from durablec.compiler.lint._rule import Ban, Rule

__all__ = ["EnvironmentRead"]

# Only an awaited call clears the finding: the linter reads every async def of the module (an
# awaited async helper included) and the sync functions they call, so the read itself must be
# the awaited call, a checkpoint whose outcome is journaled.
_USE = (
    'a task argument, or make the read the awaited call: `await asyncio.to_thread(os.getenv, "NAME")`,'
    " so the value is journaled"
)
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

    Use instead: pass the value as a task argument (it is journaled with the run), or make the
    read itself the awaited call, a checkpoint whose outcome is journaled:
    ``dry_run = await asyncio.to_thread(os.getenv, "DRY_RUN")``; a sync function of the module that
    reads it is awaited the same way (``await asyncio.to_thread(load_settings)``). Moving the read
    into an awaited ``async def`` helper does not help: the helper runs inside the run and is
    linted like the task. A read at module level is not reported (it runs once, at import), but
    each worker reads its own value there, so keep it to settings every worker shares.
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
