"""``durablec schedule add|list|pause|resume|delete|trigger-now``: cron schedules."""

from __future__ import annotations

import dataclasses
import json

import click

from durablec._cli_common import db_option, json_arg, lint_option, load_task
from durablec.runtime.client import Client
from durablec.runtime.scheduler import ScheduleInfo
from durablec.runtime.schedule import DEFAULT_CATCHUP_LIMIT, catchup_of, utc

__all__ = ["schedule"]


@click.group()
def schedule() -> None:
    """Run tasks on cron schedules; workers that load a task fire its schedules."""


@schedule.command()
@click.argument("target")
@click.option("--cron", "crons", multiple=True, required=True, metavar="EXPR",
              help="A cron expression: 5 fields, or 6 with seconds first; repeat for several.")
@click.option("--args", "args_json", metavar="JSON", help="Positional arguments, a JSON array.")
@click.option("--kwargs", "kwargs_json", metavar="JSON", help="Keyword arguments, a JSON object.")
@click.option("--id", "schedule_id", default=None, help="The schedule's id [default: TASK-random].")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone of the times.")
@click.option("--catchup", type=click.Choice(["skip", "latest", "all"]), default="skip",
              show_default=True, help="Slots missed while no worker ran: none, the newest, all.")
@click.option("--catchup-limit", default=DEFAULT_CATCHUP_LIMIT, show_default=True,
              type=click.IntRange(min=1), help="At most this many missed slots with 'all'.")
@click.option("--overlap/--no-overlap", default=True, show_default=True,
              help="Fire a slot while the schedule's previous run is unfinished.")
@db_option
@lint_option
def add(
    target: str, crons: tuple[str, ...], args_json: str | None, kwargs_json: str | None,
    schedule_id: str | None, timezone: str, catchup: str, catchup_limit: int, overlap: bool,
    db: str | None, no_lint: bool,
) -> None:
    """Add a schedule that runs TARGET with these arguments; print its id."""
    args = json_arg(args_json, list, "--args")
    kwargs = json_arg(kwargs_json, dict, "--kwargs")
    task = load_task(target, not no_lint)
    info = Client(db).add_schedule(task, crons, args=args, kwargs=kwargs, id=schedule_id,
                                   timezone=timezone, catchup=catchup_of(catchup),
                                   catchup_limit=catchup_limit, overlap=overlap)
    click.echo(info.id)


def _next(info: ScheduleInfo) -> str:
    if info.paused:
        return "paused"
    return utc(info.next_at).astimezone(info.cron.zone()).strftime("%Y-%m-%d %H:%M:%S %Z")


@schedule.command(name="list")
@click.option("--task", "task_id", default=None, help="Only schedules of this task id.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@db_option
def list_(task_id: str | None, as_json: bool, db: str | None) -> None:
    """List schedules with their next slot (in each schedule's time zone)."""
    from rich.console import Console
    from rich.table import Table

    found = Client(db).schedules(task_id)
    if as_json:
        for info in found:
            click.echo(json.dumps(dataclasses.asdict(info)))
        return
    table = Table("schedule", "task", "cron", "time zone", "next", "last run", "from")
    for info in found:
        table.add_row(info.id, info.task_id, " | ".join(info.cron.exprs), info.cron.timezone,
                      _next(info), info.last_run_id or "", info.source)
    Console().print(table)


@schedule.command()
@click.argument("schedule_id")
@db_option
def pause(schedule_id: str, db: str | None) -> None:
    """Stop firing a schedule until it is resumed."""
    Client(db).pause_schedule(schedule_id)


@schedule.command()
@click.argument("schedule_id")
@db_option
def resume(schedule_id: str, db: str | None) -> None:
    """Fire a paused schedule again from its next slot (slots passed meanwhile are not run)."""
    Client(db).resume_schedule(schedule_id)


@schedule.command()
@click.argument("schedule_id")
@db_option
def delete(schedule_id: str, db: str | None) -> None:
    """Delete a schedule added with `schedule add` (its runs stay in the journal)."""
    Client(db).delete_schedule(schedule_id)


@schedule.command(name="trigger-now")
@click.argument("schedule_id")
@db_option
def trigger_now(schedule_id: str, db: str | None) -> None:
    """Have a worker start a run of the schedule now; print the run's id."""
    click.echo(Client(db).trigger_schedule(schedule_id))
