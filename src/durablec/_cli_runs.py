"""``durablec run``, ``trigger``, ``worker``, ``runs``, ``inspect``, ``retry``, ``cancel``,
``send-event`` and ``replay --check``: executing and managing runs."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
import time
from datetime import datetime
from typing import Any

import click

from durablec._cli_common import (
    configure_logging,
    db_option,
    json_arg,
    lint_option,
    load_task,
    log_level_option,
)
from durablec.errors import (
    DurablecError,
    JournalError,
    NonDeterminismError,
    SerializationError,
    UsageError,
)
from durablec.exitcodes import ExitCode
from durablec.runtime.client import Client, result_of
from durablec.runtime.model import RunInfo, StepInfo, Timeline
from durablec.runtime.runner import Outcome
from durablec.runtime.task import Task, as_task
from durablec.runtime.telemetry_env import telemetry_from_environment
from durablec.runtime.worker import work

__all__ = ["cancel", "export", "fork", "inspect", "replay", "retry", "run", "runs", "send_event", "trigger",
           "worker"]


def _client(db: str | None, *, create: bool = True) -> Client:
    """The Client on the journal at ``db``; ``create=False`` for commands that only read (a
    journal that does not exist is refused). With ``durablec -v`` says which journal it is."""
    client = Client(db, create=create)
    context = click.get_current_context(silent=True)
    if context is not None and context.meta.get("durablec.verbose"):
        click.echo(f"durablec: journal {client.journal.url}", err=True)
    return client


def _to_json(value: Any) -> str:
    def default(obj: Any) -> Any:
        if isinstance(obj, datetime):
            return obj.isoformat()
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return dataclasses.asdict(obj)
        if isinstance(obj, (set, frozenset, tuple)):
            return list(obj)
        return str(obj)

    return json.dumps(value, default=default)


@click.command()
@click.argument("target")
@click.option("--args", "args_json", metavar="JSON", help="Positional arguments, a JSON array.")
@click.option("--kwargs", "kwargs_json", metavar="JSON", help="Keyword arguments, a JSON object.")
@click.option("--run-id", default=None, help="Resume this run, or start a run with this id.")
@click.option("--max-wait", default=300.0, show_default=True, type=click.FloatRange(min=0),
              metavar="SECONDS",
              help="Wait here through durable sleeps and retry backoffs due within this time.")
@db_option
@lint_option
@log_level_option
def run(
    target: str, args_json: str | None, kwargs_json: str | None, run_id: str | None,
    max_wait: float, db: str | None, no_lint: bool, log_level: str,
) -> None:
    """Run a task to its end in this process (or resume run ID); its result is printed as JSON.

    Exit 0 completed, 1 failed, 3 waiting on someone else (an event, a person, a child run, a
    wait past --max-wait): what it waits for and the command that continues it on stderr."""
    args = json_arg(args_json, list, "--args")
    kwargs = json_arg(kwargs_json, dict, "--kwargs")
    task = load_task(target, not no_lint)
    configure_logging(log_level)

    def started(run_id: str, created: bool) -> None:
        click.echo(f"durablec: run {run_id} ({'started' if created else 'resumed'}, task "
                   f"{task.id})", err=True)

    def waiting(outcome: Outcome) -> None:
        click.echo(f"durablec: run {outcome.run_id} {outcome.message or 'sleeps'}; waiting here "
                   f"(up to --max-wait {max_wait:g} s)", err=True)

    client = _client(db)
    telemetry_from_environment(client.journal)
    try:
        outcome = asyncio.run(
            client.run_here(task, tuple(args), kwargs, run_id=run_id, on_start=started,
                            max_wait=max_wait, on_wait=waiting))
    except (NonDeterminismError, SerializationError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(ExitCode.FINDINGS)
    run_id = outcome.run_id
    try:
        result = result_of(outcome)
    except DurablecError as error:
        if outcome.status in ("completed", "failed", "dead_lettered", "cancelled"):
            click.echo(f"durablec: run {run_id} {outcome.status}: {error}", err=True)
            sys.exit(ExitCode.FINDINGS)
        if isinstance(error, (NonDeterminismError, SerializationError)):
            click.echo(f"error: {error}", err=True)
            sys.exit(ExitCode.FINDINGS)
        if isinstance(error, JournalError):
            # The journal cannot be read as it is (a tampered row): fixed outside the code.
            click.echo(f"error: {error}", err=True)
            sys.exit(ExitCode.USAGE)
        advice = (_continue_advice(client.get(run_id), target, max_wait)
                  if outcome.status in ("waiting", "sleeping", "retrying") else None)
        click.echo(f"durablec: {advice or error}", err=True)
        sys.exit(ExitCode.SUSPENDED)
    except Exception as error:  # noqa: BLE001 - the task's own exception ends the run failed
        click.echo(f"durablec: run {run_id} {outcome.status}: {type(error).__name__}: {error}",
                   err=True)
        sys.exit(ExitCode.FINDINGS)
    click.echo(_to_json(result))


def _continue_advice(info: RunInfo, target: str, max_wait: float) -> str | None:
    """What a waiting or sleeping run waits for, and the command that continues it."""
    rid = info.id
    resume = f"`durablec run {target} --run-id {rid}`"
    waits = info.waiting_for or ""
    if info.status == "waiting" and waits.startswith("run:"):
        child = waits[len("run:"):]
        return (f"run {rid} is waiting for child run {child}, which no worker executes here: start "
                f"`durablec worker TARGET` for its task, then {resume}")
    if info.status == "waiting":
        until = f" (until {_when(info.wake_at)})" if info.wake_at is not None else ""
        return (f"run {rid} is waiting for event {waits!r}{until}: "
                f"`durablec send-event {rid} {waits} JSON`, then {resume} or a worker continues it")
    if info.status == "retrying":
        return (f"run {rid} is retrying: {info.error_message}; the next try, at "
                f"{_when(info.wake_at)}, is past --max-wait {max_wait:g} s: a worker "
                f"(`durablec worker {target}`) or {resume} after then makes it")
    if info.status == "sleeping":
        return (f"run {rid} is sleeping until {_when(info.wake_at)}, past --max-wait {max_wait:g} s: "
                f"a worker (`durablec worker {target}`) or {resume} after then continues it")
    return None  # it moved on meanwhile: the runtime's own message says more


@click.command()
@click.argument("target")
@click.option("--args", "args_json", metavar="JSON", help="Positional arguments, a JSON array.")
@click.option("--kwargs", "kwargs_json", metavar="JSON", help="Keyword arguments, a JSON object.")
@click.option("--idempotency-key", default=None, help="Start at most one run per key and task.")
@click.option("--concurrency-key", default=None,
              help="The run's key for its queue's per-key limit (e.g. a tenant id).")
@db_option
@lint_option
def trigger(
    target: str, args_json: str | None, kwargs_json: str | None, idempotency_key: str | None,
    concurrency_key: str | None, db: str | None, no_lint: bool,
) -> None:
    """Enqueue a run for a worker and print its id."""
    args = json_arg(args_json, list, "--args")
    kwargs = json_arg(kwargs_json, dict, "--kwargs")
    task = load_task(target, not no_lint)
    handle = _client(db).enqueue(task, tuple(args), kwargs, idempotency_key=idempotency_key,
                                concurrency_key=concurrency_key)
    click.echo(handle.run_id)


@click.command()
@click.argument("targets", nargs=-1, required=True)
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(min=1),
              help="Runs this worker executes at once.")
@click.option("--poll", default=None, type=click.FloatRange(min=0.01),
              help="Seconds between looks for due runs [default: 0.2; 1 while LISTENing].")
@click.option("--listen/--no-listen", default=True, show_default=True,
              help="On PostgreSQL, wake at once when a run becomes pending (LISTEN/NOTIFY).")
@click.option("--grace", default=10.0, show_default=True, type=click.FloatRange(min=0),
              help="At SIGTERM, seconds runs in flight get to reach a checkpoint before they "
                   "are cancelled; either way they are released to other workers.")
@click.option("--until-idle", is_flag=True, help="Exit once no run is due or running.")
@db_option
@lint_option
@log_level_option
def worker(
    targets: tuple[str, ...], concurrency: int, poll: float | None, listen: bool, grace: float,
    until_idle: bool, db: str | None, no_lint: bool, log_level: str,
) -> None:
    """Execute due runs of the TARGET tasks until stopped (SIGTERM or Ctrl-C: graceful)."""
    # Stopped while it starts, the worker holds no lease yet: it may just exit.
    signal.signal(signal.SIGTERM, _exit_now)
    tasks = [load_task(target, not no_lint) for target in targets]
    configure_logging(log_level)
    telemetry_from_environment(_client(db).journal)
    click.echo(f"durablec worker: serving {', '.join(t.id for t in tasks)} "
               f"(concurrency {concurrency})", err=True)

    def report(outcome: Outcome) -> None:
        # A run that stopped for a person (paused, failed) says why, so nobody has to dig.
        reason = f": {outcome.message}" if outcome.status in ("paused", "failed") else ""
        click.echo(f"durablec worker: run {outcome.run_id} {outcome.status}{reason}", err=True)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await work(db, tasks, concurrency=concurrency, poll=poll, until_idle=until_idle,
                   stop=stop, listen=listen, grace=grace, on_outcome=report)

    asyncio.run(serve())


def _exit_now(signum: int, frame: object) -> None:
    sys.exit(0)


def _clip(text: str, limit: int) -> str:
    """``text`` on one line of at most ``limit`` characters."""
    text = " ".join(text.split("\n"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _wrapped(label: str, text: str, room: int, most: int = 4) -> list[str]:
    """A labelled field of an inspect block: ``text`` wrapped to ``room`` columns under its
    label, at most ``most`` lines (the last one clipped)."""
    import textwrap

    lines = [piece for line in text.splitlines()
             for piece in (textwrap.wrap(line, room, break_on_hyphens=False) or [""])]
    if len(lines) > most:
        lines = lines[: most - 1] + [_clip(" ".join(lines[most - 1:]), room)]
    pad = f"{'':10}    {'':8}"
    return [f"{'':10}    {label:<8}{lines[0]}", *(pad + line for line in lines[1:])]


def _when(at: float | None) -> str:
    return "" if at is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


@click.command()
@click.option("--status", default=None, help="Only runs in this state.")
@click.option("--task", "task_id", default=None, help="Only runs of this task id.")
@click.option("--queue", default=None, help="Only runs on this queue.")
@click.option("--dead-letter", default=None, metavar="QUEUE",
              help="Only runs dead-lettered into this queue.")
@click.option("--since", default=None, metavar="WHEN",
              help="Only runs created since WHEN: 30m, 2h, 7d, or a date (2026-11-30[T12:00]).")
@click.option("--summary", is_flag=True,
              help="Counts by status per task and queue, and the schedules, instead of runs.")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@db_option
def runs(status: str | None, task_id: str | None, queue: str | None, dead_letter: str | None,
         since: str | None, summary: bool, limit: int, as_json: bool, db: str | None) -> None:
    """List runs, newest first: full ids (any unique prefix of one names the run)."""
    client = _client(db, create=False)
    if summary:
        _print_summary(client, as_json)
        return
    found = client.runs(status=status, task=task_id, limit=limit, queue=queue,
                        dead_letter=dead_letter, since=None if since is None else _since(since))
    if as_json:
        for info in found:
            click.echo(json.dumps(dataclasses.asdict(info)))
        return
    import shutil

    columns = shutil.get_terminal_size((80, 24)).columns
    id_width = max([len("run")] + [len(info.id) for info in found])
    task_width = min(20, max([len("task")] + [len(info.task_id) for info in found]))
    click.echo(f"{'run':<{id_width}}  {'status':<13} {'task':<{task_width}}  updated")
    for info in found:
        detail = info.error_message or info.waiting_for or info.result_repr or ""
        if info.wake_at is not None and info.status == "sleeping":
            detail = f"until {_when(info.wake_at)}"
        if info.wake_at is not None and info.status == "retrying":
            detail = f"next try {_short_when(info.wake_at)}: {info.error_message or ''}"
        if info.dead_letter:
            detail = f"dead-letter {info.dead_letter}: {detail}"
        line = (f"{info.id:<{id_width}}  {info.status:<13} {_clip(info.task_id, task_width):<{task_width}}"
                f"  {_short_when(info.updated_at)}")
        room = columns - len(line) - 2
        if detail and room >= 10:
            line += "  " + _clip(detail, room)
        click.echo(line)


def _since(text: str) -> float:
    """``30m``, ``2h``, ``7d`` (ago) or an ISO date/time (local), as seconds since the epoch."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units:
        try:
            return time.time() - float(text[:-1]) * units[text[-1]]
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise UsageError(f"--since {text!r}: give a duration ago (30m, 2h, 7d) or a date "
                         "(2026-11-30 or 2026-11-30T12:00)") from None


_SUMMARY_STATUSES = ("pending", "running", "retrying", "sleeping", "waiting", "paused", "failed",
                     "dead_lettered", "completed", "cancelled")


def _print_summary(client: Client, as_json: bool) -> None:
    """Counts by status per task and queue, then the schedules and their next fire time."""
    table: dict[tuple[str, str], dict[str, int]] = {}
    for count in client.status_counts():
        table.setdefault((count.task_id, count.queue or "-"), {})[count.status] = count.count
    schedules = client.schedules()
    if as_json:
        click.echo(json.dumps({
            "runs": [{"task": task, "queue": None if queue == "-" else queue, "counts": counts}
                     for (task, queue), counts in table.items()],
            "schedules": [{"id": s.id, "task": s.task_id, "paused": s.paused,
                           "next_at": s.next_at} for s in schedules],
        }))
        return
    shown = [status for status in _SUMMARY_STATUSES
             if any(status in counts for counts in table.values())]
    heads = {"dead_lettered": "dead", "completed": "done", "cancelled": "cancel"}
    task_width = max([4] + [len(task) for task, _ in table])
    queue_width = max([5] + [len(queue) for _, queue in table])
    click.echo(f"{'task':<{task_width}}  {'queue':<{queue_width}}"
               + "".join(f" {heads.get(status, status):>8}" for status in shown))
    for (task, queue), counts in table.items():
        click.echo(f"{task:<{task_width}}  {queue:<{queue_width}}"
                   + "".join(f" {counts.get(status, 0):>8}" for status in shown))
    if schedules:
        click.echo("")
        click.echo("schedule                          task                  next")
        for item in schedules:
            when = "paused" if item.paused else _when(item.next_at)
            click.echo(f"{_clip(item.id, 32):<32}  {_clip(item.task_id, 20):<20}  {when}")


def _replay_advice(info: RunInfo) -> str | None:
    """What a divergence means for a finished run (the runtime's own advice, which is for a run
    that will resume, does not fit one); None for an unfinished run."""
    rid = info.id
    if info.status in ("completed", "cancelled"):
        return (f"{info.status}: nothing replays it again, so nothing needs doing for the run; "
                "this code and its stored history disagree (update exported histories)")
    if info.status in ("failed", "dead_lettered"):
        return (f"{info.status}: only `durablec retry {rid}` would resume it, and under this code "
                "it would stop at the divergence; leave it, or fix the code first")
    return None


def _short_when(at: float) -> str:
    """A time today as HH:MM:SS, another day as its date."""
    same_day = time.localtime(at)[:3] == time.localtime()[:3]
    return time.strftime("%H:%M:%S" if same_day else "%Y-%m-%d", time.localtime(at))


@click.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="The timeline as JSON.")
@click.option("--width", type=click.IntRange(min=40), default=None,
              help="Columns to fit [default: the terminal's, 80 when piped]; 160 and more: a table.")
@db_option
def inspect(run_id: str, as_json: bool, width: int | None, db: str | None) -> None:
    """Show a run's history in time order: creation, every step attempt and retry, events,
    child runs, and its state or outcome with the user's traceback."""
    client = _client(db, create=False)
    timeline = client.timeline(client.resolve(run_id))
    if as_json:
        click.echo(json.dumps(timeline.as_json(), indent=2, default=str))
        return
    import shutil

    columns = width or shutil.get_terminal_size((80, 24)).columns
    render = _timeline_table if columns >= 160 else _timeline_blocks
    click.echo("\n".join(render(timeline, columns)))


def _timeline_head(timeline: Timeline) -> list[str]:
    info = timeline.run
    return [f"run {info.id}", f"task {info.task_id} · {info.status} · created {_when(info.created_at)}"]


def _step_title(step: StepInfo) -> str:
    label = "body" if step.kind == "body" else f"step {step.key}"
    outcome = step.outcome if step.final or step.outcome != "error" else "error, retried"
    return f"{label} {step.callee} · try {step.attempt} · {outcome} · {step.duration_ms} ms"


def _timeline_blocks(timeline: Timeline, columns: int) -> list[str]:
    """One block per entry, every field on its own line, fitting ``columns``."""
    lines = _timeline_head(timeline) + [""]
    room = columns - 22  # after the indent and a field's label: f"{'':10}    args    "
    for entry in timeline.entries():
        at = f"+{entry.at:.3f}s"
        step = entry.step
        if step is None:
            lines.append(_clip(f"{at:>10}  {entry.what}: {entry.text}".rstrip(), columns))
            continue
        extra = f" ({entry.text})" if entry.what == "retry" else ""
        lines.append(f"{at:>10}  {_clip(_step_title(step) + extra, columns - 12)}")
        lines.append(f"{'':10}    at {step.where}")
        if step.args:
            lines.append(f"{'':10}    args    {_clip(step.args, room)}")
        if step.error is not None:
            lines += _wrapped("error", step.error, room)
        elif step.result is not None:
            lines.append(f"{'':10}    result  {_clip(step.result, room)}")
    lines += _traceback_lines(timeline)
    return lines


def _timeline_table(timeline: Timeline, columns: int) -> list[str]:
    """A row per entry: at, what, step, callee, where, try, outcome, ms, args, result/error."""
    head = f"{'at':>10}  {'what':<13} {'step':<6} {'callee':<28} {'where':<36} try {'outcome':<9} {'ms':>8}  args / result / error"
    lines = _timeline_head(timeline) + ["", head]
    for entry in timeline.entries():
        at = f"+{entry.at:.3f}s"
        step = entry.step
        if step is None:
            lines.append(_clip(f"{at:>10}  {entry.what:<13} {entry.text}", columns))
            continue
        what = entry.what + (f" {entry.text}" if entry.what == "retry" else "")
        shown = step.error or (f"{step.args} -> {step.result}" if step.result is not None
                               else step.args)
        row = (f"{at:>10}  {what:<13} {step.key or '-':<6} {_clip(step.callee, 28):<28} "
               f"{_clip(step.where, 36):<36} {step.attempt:>3} {step.outcome:<9} "
               f"{step.duration_ms:>8}  {shown}")
        lines.append(_clip(row, columns))
    lines += _traceback_lines(timeline)
    return lines


def _traceback_lines(timeline: Timeline) -> list[str]:
    traceback = timeline.final_traceback()
    return [] if not traceback else ["", "traceback (durablec frames removed):", traceback]


@click.command()
@click.argument("run_id", required=False)
@click.option("--dead-letter", default=None, metavar="QUEUE",
              help="Redrive a dead-letter queue: retry every run dead-lettered into QUEUE.")
@db_option
def retry(run_id: str | None, dead_letter: str | None, db: str | None) -> None:
    """Make a paused, failed or dead-lettered run pending again (failed steps run again), or
    every run of a dead-letter queue (--dead-letter QUEUE)."""
    if (run_id is None) == (dead_letter is None):
        raise UsageError("retry takes a RUN id or --dead-letter QUEUE (one of them)")
    client = _client(db, create=False)
    if dead_letter is not None:
        redriven = client.redrive(dead_letter)
        for rid in redriven:
            click.echo(rid)
        click.echo(f"durablec: {len(redriven)} runs of dead-letter queue {dead_letter!r} are "
                   "pending again; a worker resumes them", err=True)
        return
    assert run_id is not None
    run_id = client.resolve(run_id)
    client.retry(run_id)
    click.echo(f"run {run_id} is pending; a worker or `durablec run TARGET --run-id {run_id}` resumes it")


@click.command()
@click.argument("run_id")
@click.option("--from-step", "key", required=True, metavar="KEY",
              help="The step to run live again (its key, as `durablec inspect` shows it).")
@db_option
def fork(run_id: str, key: str, db: str | None) -> None:
    """Start a new run of RUN's task and arguments that replays RUN's steps before KEY and runs
    from KEY live; prints the new run's id."""
    client = _client(db, create=False)
    forked = client.fork(client.resolve(run_id), key)
    click.echo(forked.id)
    click.echo(f"durablec: run {forked.id} forked from step {key} of run {run_id}; a worker or "
               f"`durablec run TARGET --run-id {forked.id}` runs it", err=True)


@click.command()
@click.argument("run_id")
@db_option
def cancel(run_id: str, db: str | None) -> None:
    """Cancel a run that has not finished."""
    client = _client(db, create=False)
    run_id = client.resolve(run_id)
    client.cancel(run_id)
    click.echo(f"run {run_id} cancelled")


@click.command("send-event")
@click.argument("run_id")
@click.argument("name")
@click.argument("payload", required=False)
@db_option
def send_event(run_id: str, name: str, payload: str | None, db: str | None) -> None:
    """Send event NAME with an optional JSON PAYLOAD to a run."""
    value: Any = None
    if payload is not None:
        try:
            value = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise UsageError(f"PAYLOAD: not valid JSON ({exc.msg} at column {exc.colno})") from None
    client = _client(db, create=False)
    run_id = client.resolve(run_id)
    client.send_event(run_id, name, value)
    click.echo(f"event {name!r} sent to run {run_id}")


@click.command()
@click.argument("run_id")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the history to FILE instead of stdout.")
@db_option
def export(run_id: str, output: str | None, db: str | None) -> None:
    """Write a run's history as a JSON document (signed when DURABLEC_SECRET is set)."""
    from durablec.runtime.history import export_history

    client = _client(db, create=False)
    run_id = client.resolve(run_id)
    text = json.dumps(export_history(client, run_id), indent=1) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    with open(output, "w", encoding="utf-8") as out:
        out.write(text)
    click.echo(f"durablec: run {run_id} exported to {output}", err=True)


@click.command()
@click.argument("targets", nargs=-1, required=True)
@click.option("--check", is_flag=True, required=True,
              help="Replay stored runs without executing any step (the only mode).")
@click.option("--history", "histories", multiple=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False),
              help="Replay this exported history (repeatable) instead of the journal's runs.")
@click.option("--status", "statuses", multiple=True, help="Only runs in this state (repeatable).")
@click.option("--since", default=None, metavar="WHEN",
              help="Only runs created since WHEN: 30m, 2h, 7d, or a date.")
@click.option("--limit", default=1_000_000, show_default=True, type=click.IntRange(min=1),
              help="At most this many runs per task, newest first.")
@db_option
@lint_option
def replay(targets: tuple[str, ...], check: bool, histories: tuple[str, ...],
           statuses: tuple[str, ...], since: str | None, limit: int, db: str | None,
           no_lint: bool) -> None:
    """Replay stored runs of the TARGET tasks (or exported histories of them) against the current
    code without running any step; exit 1 on divergence."""
    from durablec.runtime.history import check_replay, read_history, replay_history

    tasks = {t.id: t for t in (load_task(target, not no_lint) for target in targets)}
    diverged = checked = 0
    if histories:
        for path in histories:
            history = read_history(path)
            task = tasks.get(history.task_id)
            if task is None:
                raise UsageError(
                    f"history {path} records a run of task {history.task_id!r}, which none of "
                    f"the targets is ({', '.join(map(repr, tasks))}); name that task's TARGET"
                )
            checked += 1
            divergence = replay_history(history, task)
            if divergence is not None:
                diverged += 1
                click.echo(f"{path} ({history.task_id}): {divergence}")
        click.echo(f"replay --check: {checked} histories, {diverged} diverged", err=True)
        sys.exit(ExitCode.FINDINGS if diverged else ExitCode.OK)
    client = _client(db, create=False)
    after = None if since is None else _since(since)
    for task_id, task in tasks.items():
        found = [info for status in (statuses or (None,))
                 for info in client.runs(status=status, task=task_id, limit=limit, since=after)]
        for info in found:
            checked += 1
            try:
                divergence = check_replay(client.journal, client.rows(info.id), task)
            except Exception as error:  # noqa: BLE001 - one unreadable run must not stop the check
                diverged += 1
                click.echo(f"{info.id} ({task_id}, {info.status}): cannot be replayed: "
                           f"{type(error).__name__}: {error}")
                continue
            if divergence is not None:
                diverged += 1
                advice = _replay_advice(info)
                click.echo(f"{info.id} ({task_id}, {info.status}): {divergence}"
                           + ("" if advice is None else f"\n  {advice}"))
    click.echo(f"replay --check: {checked} runs, {diverged} diverged", err=True)
    sys.exit(ExitCode.FINDINGS if diverged else ExitCode.OK)
