"""The ``durablec`` command: a click group whose commands live in one module per area.

Commands raise :class:`~durablec.errors.DurablecError` for anything a person can fix; the group
prints its message on one line to stderr and exits with ``ExitCode.USAGE`` (``--debug`` shows the
traceback instead).
"""

from __future__ import annotations

from typing import Any

import click

from durablec import __version__
from durablec._cli_build import build, diff
from durablec._cli_runs import cancel, inspect, replay, retry, run, runs, send_event, trigger, worker
from durablec._cli_lint import lint
from durablec.errors import DurablecError
from durablec.exitcodes import ExitCode

__all__ = ["main"]

_DEBUG_KEY = "durablec.debug"


class _Group(click.Group):
    """A click group that turns a DurablecError into one line on stderr and exit status 2."""

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
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """durablec: durable execution for ordinary async Python."""
    ctx.meta[_DEBUG_KEY] = debug


main.add_command(build)
main.add_command(diff)
main.add_command(lint)
main.add_command(run)
main.add_command(trigger)
main.add_command(worker)
main.add_command(runs)
main.add_command(inspect)
main.add_command(retry)
main.add_command(cancel)
main.add_command(send_event)
main.add_command(replay)
