"""The ``durablec`` command: a click group whose commands live in one module per area."""

from __future__ import annotations

import click

from durablec import __version__
from durablec._cli_build import build, diff

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="durablec")
def main() -> None:
    """durablec: durable execution for ordinary async Python."""


main.add_command(build)
main.add_command(diff)
