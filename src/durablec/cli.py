"""The ``durablec`` command: a click group whose commands live in one module per area.

Commands raise :class:`~durablec.errors.DurablecError` for anything a person can fix; the group
prints its message on one line to stderr and exits with ``ExitCode.USAGE`` (``--debug`` shows the
traceback instead).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import click

from durablec import __version__
from durablec.errors import DurablecError
from durablec.exitcodes import ExitCode

__all__ = ["main"]

_DEBUG_KEY = "durablec.debug"
VERBOSE_KEY = "durablec.verbose"
"""``ctx.meta`` key: True with ``-v``, when commands say which journal they use."""

# Command name -> its module. Commands load on use, so `durablec build` never pays for the
# database layer and `durablec run` never for the compiler until it compiles.
_COMMANDS = {
    "build": "durablec._cli_build",
    "diff": "durablec._cli_build",
    "lint": "durablec._cli_lint",
    "run": "durablec._cli_runs",
    "trigger": "durablec._cli_runs",
    "worker": "durablec._cli_runs",
    "runs": "durablec._cli_runs",
    "inspect": "durablec._cli_runs",
    "retry": "durablec._cli_runs",
    "cancel": "durablec._cli_runs",
    "fork": "durablec._cli_runs",
    "send-event": "durablec._cli_runs",
    "replay": "durablec._cli_runs",
    "schedule": "durablec._cli_schedule",
    "export": "durablec._cli_runs",
    "ui": "durablec._cli_ui",
}


class _Group(click.Group):
    """Loads commands on use, and turns a DurablecError into one line on stderr and exit 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = _COMMANDS.get(cmd_name)
        if module is None:
            return None
        command = getattr(import_module(module), cmd_name.replace("-", "_"))
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DurablecError as error:
            if ctx.meta.get(_DEBUG_KEY):
                raise
            click.echo(f"error: {error}", err=True)
            ctx.exit(ExitCode.USAGE)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="durablec")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.option("-v", "--verbose", is_flag=True, help="Say which journal a command uses.")
@click.pass_context
def main(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """durablec: durable execution for ordinary async Python."""
    ctx.meta[_DEBUG_KEY] = debug
    ctx.meta[VERBOSE_KEY] = verbose

