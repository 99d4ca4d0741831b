"""``durablec build`` and ``durablec diff``."""

from __future__ import annotations

import click

__all__ = ["build", "diff"]


@click.command()
def build() -> None:
    """Compile task files or package trees."""


@click.command()
def diff() -> None:
    """Show the unified diff from source to compiled output."""
