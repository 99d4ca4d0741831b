"""The bad-input catalogue (docs/errors.md): each bad input fed to the real ``durablec`` command.

Every test reads the message (what happened, where, what to do), the exit code (SPEC 6), checks
that no traceback is printed without ``--debug``, and compares a full dump of the journal's
``durablec_*`` tables before and after: unchanged, or changed in exactly the way stated.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, create_engine, inspect, select, text

from durablec.runtime.store import SCHEMA_VERSION, database_url
from pg import PostgresServer

TASKS = """\
import threading

import durablec


class PaymentDeclined(Exception):
    pass


async def fetch(x):
    return x + 1


async def charge(x):
    return x * 10


async def decline(x):
    raise PaymentDeclined(f"card {x} declined")


async def make_lock():
    return threading.Lock()


async def blob(n):
    return b"x" * n


async def after(x):
    open("after-ran", "w").close()  # durablec: allow[DC402]
    return x


@durablec.task(id="double")
async def double(x):
    return await fetch(x)


@durablec.task(id="flow")
async def flow(x):
    a = await fetch(x)
    await durablec.wait_for_event("go")
    return await charge(a)


@durablec.task(id="guarded", retry=durablec.Retry.none())
async def guarded(x):
    try:
        a = await fetch(x)
    except Exception:
        a = -1
    try:
        await decline(a)
    except Exception:
        pass
    await durablec.wait_for_event("go")
    return await after(a)


@durablec.task(id="locked")
async def locked():
    return await make_lock()


@durablec.task(id="big")
async def big(n):
    return await blob(n)


@durablec.task(id="bulky")
async def bulky(n):
    return "y" * await fetch(n)


async def shout(n):
    raise ValueError("x" * n)


@durablec.task(id="loud", retry=durablec.Retry.none())
async def loud(n):
    try:
        await shout(n)
    except ValueError as error:
        return len(str(error))
"""

Dump = dict[str, list[dict[str, Any]]]


def line_of(text: str, source: str = TASKS) -> int:
    """The 1-based number of the line that is exactly ``text`` in the task file."""
    return next(n for n, line in enumerate(source.splitlines(), 1) if line == text)


class Cli:
    """The real ``durablec`` command, run as a user runs it in ``tmp`` on the journal at ``url``."""

    def __init__(self, tmp: Path, url: str) -> None:
        self.tmp = tmp
        self.url = url

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environ = dict(os.environ, DURABLEC_DATABASE_URL=self.url, PYTHONDONTWRITEBYTECODE="1")
        environ.pop("DURABLEC_SECRET", None)
        environ.pop("DURABLEC_MAX_PAYLOAD", None)
        environ.update(env)
        done = subprocess.run([sys.executable, "-m", "durablec", *args], cwd=self.tmp,
                              env=environ, capture_output=True, text=True, check=False)
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
        return done

    def dump(self) -> Dump:
        """Every row of every durablec_* table, in primary-key order."""
        engine = create_engine(database_url(self.url))
        try:
            with engine.connect() as conn:
                names = sorted(name for name in inspect(conn).get_table_names()
                               if name.startswith("durablec_"))
                tables = {n: Table(n, MetaData(), autoload_with=conn) for n in names}
                return {name: [dict(row._mapping) for row in conn.execute(
                            select(table).order_by(*table.primary_key.columns))]
                        for name, table in tables.items()}
        finally:
            engine.dispose()

    def execute(self, sql: str, **params: object) -> None:
        engine = create_engine(database_url(self.url))
        try:
            with engine.begin() as conn:
                conn.execute(text(sql), params)
        finally:
            engine.dispose()

    def tamper(self, run_id: str, key: str | None) -> None:
        """Flip the last byte of a step's result (or with no key, of the run's arguments), as
        someone with write access to the database might."""
        if key is None:
            column, where = "args", "FROM durablec_runs WHERE id = :run"
        else:
            column, where = "result", "FROM durablec_steps WHERE run_id = :run AND key = :key"
        engine = create_engine(database_url(self.url))
        try:
            with engine.begin() as conn:
                found = {"run": run_id, "key": key}
                payload = conn.execute(text(f"SELECT {column} {where}"), found).scalar_one()
                forged = bytes(payload[:-1]) + bytes([payload[-1] ^ 1])
                table, _, condition = where.removeprefix("FROM ").partition(" WHERE ")
                conn.execute(text(f"UPDATE {table} SET {column} = :forged WHERE {condition}"),
                             {**found, "forged": forged})
        finally:
            engine.dispose()

    def seeded(self, **env: str) -> Dump:
        """A journal that already holds a completed run, so 'unchanged' has something to keep."""
        done = self("run", "tasks.py:double", "--args", "[41]", "--run-id", "seed", **env)
        assert done.returncode == 0 and done.stdout.strip() == "42", done.stderr
        return self.dump()


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    (tmp_path / "tasks.py").write_text(TASKS)
    return tmp_path


@pytest.fixture
def cli(tmp: Path) -> Cli:
    """The command on a SQLite journal in tmp."""
    return Cli(tmp, f"sqlite:///{tmp / 'j.db'}")


@pytest.fixture(params=["sqlite", "postgres"])
def any_cli(request: pytest.FixtureRequest, tmp: Path) -> Cli:
    """The command once on a SQLite journal and once on a real PostgreSQL database."""
    if request.param == "sqlite":
        return Cli(tmp, f"sqlite:///{tmp / 'j.db'}")
    url: str = request.getfixturevalue("postgres_url")
    return Cli(tmp, url)


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one ``error:`` line the command printed."""
    found = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(found) == 1, done.stderr
    return found[0]


def run_row(journal: Dump, run_id: str) -> dict[str, Any]:
    return next(row for row in journal["durablec_runs"] if row["id"] == run_id)


def steps_of(journal: Dump, run_id: str) -> list[dict[str, Any]]:
    return [row for row in journal["durablec_steps"] if row["run_id"] == run_id]


def without_run(journal: Dump, run_id: str) -> Dump:
    return {table: [row for row in rows if run_id not in (row.get("id"), row.get("run_id"))]
            for table, rows in journal.items()}


def test_syntax_error_in_a_task_file(tmp: Path, cli: Cli) -> None:
    before = cli.seeded()
    (tmp / "broken.py").write_text("import durablec\n\nasync def job(:\n    pass\n")
    for command in (["run", "broken.py:job"], ["trigger", "broken.py:job"],
                    ["worker", "broken.py:job", "--until-idle"]):
        done = cli(*command)
        assert done.returncode == 2
        message = error_line(done)
        assert f"{tmp / 'broken.py'}:3:15: syntax error: " in message
        assert "`async def job(:`" in message and "fix it, then run the command again" in message
    debug = subprocess.run([sys.executable, "-m", "durablec", "--debug", "run", "broken.py:job"],
                           cwd=tmp, capture_output=True, text=True, check=False,
                           env=dict(os.environ, DURABLEC_DATABASE_URL=f"sqlite:///{tmp / 'j.db'}"))
    assert debug.returncode != 0 and "Traceback" in debug.stderr  # the traceback, when asked for
    assert cli.dump() == before


def test_a_task_target_that_does_not_exist(tmp: Path, cli: Cli) -> None:
    before = cli.seeded()
    missing = cli("run", "tasks.py:doubel", "--args", "[1]")
    assert missing.returncode == 2
    message = error_line(missing)
    assert "target 'tasks.py:doubel'" in message and str(tmp / "tasks.py") in message
    assert "has no attribute 'doubel'; check the function's name" in message
    assert ("(its async functions and tasks: after, big, blob, bulky, charge, decline, double, "
            in message)
    no_file = cli("trigger", "task.py:double")
    assert no_file.returncode == 2
    assert "no such file 'task.py'; check the path" in error_line(no_file)
    not_a_task = cli("run", "tasks.py:PaymentDeclined")
    assert not_a_task.returncode == 2
    assert "is a type, not an async function or a @durablec.task" in error_line(not_a_task)
    assert cli.dump() == before


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--args", "[1"], ["--args '[1': not valid JSON", "column 3", "e.g. --args '[21,"]),
        (["--args", '{"x": 1}'], ["--args takes a JSON array", "e.g. --args"]),
        (["--kwargs", "[1]"], ["--kwargs takes a JSON object", "e.g. --kwargs"]),
        (["--args", "[1, 2]"], ["task 'double' (`double(x)` at ", "cannot take the arguments "
                                "(1, 2): too many positional arguments", "no run was created"]),
        (["--args", "[]"], ["(`double(x)`", "missing a required argument: 'x'"]),
        (["--args", "[1]", "--kwargs", '{"y": 2}'],
         ["(1, y=2)", "unexpected keyword argument 'y'", "Pass arguments that match"]),
    ],
)
@pytest.mark.parametrize("command", ["run", "trigger"])
def test_bad_args(
    tmp: Path, cli: Cli, command: str, options: list[str], expected: list[str]
) -> None:
    before = cli.seeded()
    done = cli(command, "tasks.py:double", *options)
    assert done.returncode == 2
    message = error_line(done)
    for fragment in expected:
        assert fragment in message
    if "double(x)" in message:
        assert f"{tmp / 'tasks.py'}:{line_of('async def double(x):') - 1}" in message
    assert cli.dump() == before


def test_resuming_a_run_needs_no_arguments(tmp: Path, cli: Cli) -> None:
    """The signature check applies to new runs only: `run --run-id` resumes with none."""
    before = cli.seeded()
    again = cli("run", "tasks.py:double", "--run-id", "seed")
    assert again.returncode == 0 and again.stdout.strip() == "42", again.stderr
    assert cli.dump() == before


def test_a_result_that_cannot_be_pickled(tmp: Path, any_cli: Cli) -> None:
    cli = any_cli
    before = cli.seeded()
    done = cli("run", "tasks.py:locked", "--run-id", "L")
    assert done.returncode == 1
    message = error_line(done)
    site = line_of("    return await make_lock()")
    assert f"{tmp / 'tasks.py'}:{site}:12: run L, step 0: the result of `make_lock`" in message
    assert "(a _thread.lock) cannot be journaled" in message
    assert "declare its class with `durablec.resource`" in message and "`@durablec.step`" in message
    after = cli.dump()
    # The one change: run L, paused with that reason; no step row; nothing earlier touched.
    assert without_run(after, "L") == before
    assert steps_of(after, "L") == []
    row = run_row(after, "L")
    assert (row["status"], row["error_type"]) == ("paused", "SerializationError")
    assert row["error_message"] == message.removeprefix("error: ")


def test_a_payload_over_the_configured_limit(tmp: Path, any_cli: Cli) -> None:
    cli = any_cli
    before = cli.seeded()
    done = cli("run", "tasks.py:big", "--args", "[5000]", "--run-id", "B",
                    DURABLEC_MAX_PAYLOAD="1000")
    assert done.returncode == 1
    message = error_line(done)
    site = line_of("    return await blob(n)")
    assert f"{tmp / 'tasks.py'}:{site}:12: run B, step 0: the result of `blob`" in message
    assert re.search(r"\(a builtins\.bytes\) is 50\d\d bytes pickled, over the "
                     r"DURABLEC_MAX_PAYLOAD limit of 1000 bytes", message)
    assert ("return a reference to it (a path, an object key), or raise DURABLEC_MAX_PAYLOAD"
            in message)
    after = cli.dump()
    assert without_run(after, "B") == before
    assert steps_of(after, "B") == []
    assert run_row(after, "B")["status"] == "paused"
    large = json.dumps(["y" * 2000])
    refused = cli("trigger", "tasks.py:big", "--args", large, DURABLEC_MAX_PAYLOAD="1000")
    assert refused.returncode == 2
    assert re.search(r"^error: the arguments of a run of task 'big' are 20\d\d bytes pickled, over "
                     r"the DURABLEC_MAX_PAYLOAD limit of 1000 bytes; pass a reference to large "
                     r"data \(a path, an object key\), or raise DURABLEC_MAX_PAYLOAD$",
                     error_line(refused))
    event = cli("send-event", "B", "go", large, DURABLEC_MAX_PAYLOAD="1000")
    assert event.returncode == 2
    assert re.search(r"^error: the payload of B/event/go is 20\d\d bytes pickled, over the "
                     r"DURABLEC_MAX_PAYLOAD limit of 1000 bytes; store large data elsewhere",
                     error_line(event))
    assert cli.dump() == after
    # A task's own result over the limit: the run pauses the same way, naming the task.
    bulky = cli("run", "tasks.py:bulky", "--args", "[5000]", "--run-id", "Y",
                DURABLEC_MAX_PAYLOAD="1000")
    assert bulky.returncode == 1
    message = error_line(bulky)
    assert re.fullmatch(
        re.escape(f"error: run Y: task 'bulky' ({tmp / 'tasks.py'}:"
                  f"{line_of('async def bulky(n):') - 1}) returned a str that is ")
        + r"50\d\d bytes pickled, over the DURABLEC_MAX_PAYLOAD limit of 1000 bytes; return a "
        r"reference to large data \(a path, an object key\) or raise DURABLEC_MAX_PAYLOAD, then "
        r"`durablec retry Y`", message)
    bulky_run = cli.dump()
    assert run_row(bulky_run, "Y")["status"] == "paused"
    assert [step["key"] for step in steps_of(bulky_run, "Y")] == ["0"]  # its step is kept
    after = bulky_run
    # An exception over the limit is still journaled (a failure must be), its message clipped.
    loud = cli("run", "tasks.py:loud", "--args", "[5000]", "--run-id", "E",
               DURABLEC_MAX_PAYLOAD="1000")
    assert loud.returncode == 0 and loud.stdout.strip() == "5000", loud.stderr
    [step] = steps_of(cli.dump(), "E")
    assert (step["outcome"], step["error_type"]) == ("error", "builtins.ValueError")
    assert len(step["result"]) <= 1000
    # The fix works: a raised limit, `retry`, and the run completes.
    assert cli("retry", "B").returncode == 0
    resumed = cli("run", "tasks.py:big", "--run-id", "B", DURABLEC_MAX_PAYLOAD="100000")
    assert resumed.returncode == 0, resumed.stderr


def test_a_payload_limit_that_is_not_a_number(tmp: Path, cli: Cli) -> None:
    before = cli.seeded()
    done = cli("run", "tasks.py:double", "--args", "[1]", DURABLEC_MAX_PAYLOAD="16MB")
    assert done.returncode == 2
    assert error_line(done) == (
        "error: DURABLEC_MAX_PAYLOAD='16MB' is not a positive number of bytes; set it to e.g. "
        "16777216 (16 MiB, the default) or unset it"
    )
    assert cli.dump() == before


def test_a_journal_row_tampered_with_under_a_secret(tmp: Path, any_cli: Cli) -> None:
    cli = any_cli
    secret = {"DURABLEC_SECRET": "s3cret"}
    before = cli.seeded(**secret)
    waiting = cli("run", "tasks.py:guarded", "--args", "[1]", "--run-id", "T", **secret)
    assert waiting.returncode == 3, waiting.stderr
    cli.tamper("T", "0")
    assert cli("send-event", "T", "go", **secret).returncode == 0
    tampered = cli.dump()

    check = cli("replay", "--check", "tasks.py:guarded", **secret)
    assert check.returncode == 1 and "1 diverged" in check.stderr
    assert cli.dump() == tampered

    done = cli("run", "tasks.py:guarded", "--run-id", "T", **secret)
    assert done.returncode == 2
    message = error_line(done)
    site = line_of("        a = await fetch(x)")
    assert f"run T, step 0 (`fetch` at {tmp / 'tasks.py'}:{site})" in message
    assert "fails its HMAC check" in message and "it was not unpickled" in message
    assert "Nothing was executed past this step" in message
    assert message.endswith("Restore the row from a backup, or set DURABLEC_SECRET to the "
                            "secret it was signed with; then `durablec retry T`. Nothing was "
                            "executed past this step")
    assert message.removeprefix("error: ") in check.stdout
    # Though the task catches Exception around that step, nothing ran past it.
    assert not (tmp / "after-ran").exists()
    after = cli.dump()
    assert without_run(after, "T") == without_run(before, "T")
    assert steps_of(after, "T") == steps_of(tampered, "T")
    assert after["durablec_events"] == tampered["durablec_events"]  # the event is not consumed
    row, was = run_row(after, "T"), run_row(tampered, "T")
    changed = {column for column in row if row[column] != was[column]}
    assert changed <= {"status", "error_type", "error_message", "updated_at", "lease_epoch",
                       "lease_owner", "lease_host", "lease_pid", "lease_expires_at"}
    assert (row["status"], row["error_type"]) == ("paused", "TamperedPayloadError")
    assert row["error_message"] == message.removeprefix("error: ")

    worker = cli("worker", "tasks.py:guarded", "--until-idle", **secret)
    assert worker.returncode == 0 and cli.dump() == after  # workers leave a paused run alone


def test_a_run_whose_arguments_were_tampered_with(tmp: Path, cli: Cli) -> None:
    secret = {"DURABLEC_SECRET": "s3cret"}
    before = cli.seeded(**secret)
    assert cli("run", "tasks.py:guarded", "--args", "[1]", "--run-id", "A", **secret).returncode == 3
    cli.tamper("A", None)
    assert cli("send-event", "A", "go", **secret).returncode == 0
    tampered = cli.dump()

    check = cli("replay", "--check", "tasks.py:guarded", **secret)
    assert check.returncode == 1 and "A (guarded, pending): run A, its arguments: " in check.stdout
    assert cli.dump() == tampered

    done = cli("run", "tasks.py:guarded", "--run-id", "A", **secret)
    assert done.returncode == 2
    message = error_line(done)
    assert message == (
        "error: run A, its arguments: journal payload of A/args fails its HMAC check: the row was "
        "altered or signed with another DURABLEC_SECRET; it was not unpickled. Restore the row "
        "from a backup, or set DURABLEC_SECRET to the secret it was signed with; then `durablec "
        "retry A`. Nothing of the run was executed"
    )
    after = cli.dump()
    assert without_run(after, "A") == without_run(before, "A")
    assert steps_of(after, "A") == steps_of(tampered, "A")
    assert after["durablec_events"] == tampered["durablec_events"]
    row = run_row(after, "A")
    assert (row["status"], row["error_type"]) == ("paused", "TamperedPayloadError")
    assert row["error_message"] == message.removeprefix("error: ")


def test_a_journal_written_by_a_newer_schema_version(tmp: Path, any_cli: Cli) -> None:
    cli = any_cli
    cli.seeded()
    # A newer schema may rename a table: this version must not create it again.
    cli.execute("UPDATE durablec_meta SET value = :v WHERE key = 'schema_version'",
                v=str(SCHEMA_VERSION + 1))
    cli.execute("DROP TABLE durablec_events")
    before = cli.dump()
    for command in (["runs"], ["inspect", "seed"], ["run", "tasks.py:double", "--args", "[1]"],
                    ["trigger", "tasks.py:double", "--args", "[1]"], ["retry", "seed"],
                    ["worker", "tasks.py:double", "--until-idle"],
                    ["replay", "--check", "tasks.py:double"]):
        done = cli(*command)
        assert done.returncode == 2, command
        assert error_line(done) == (
            f"error: the journal at {database_url(cli.url)} has schema version "
            f"{SCHEMA_VERSION + 1}, newer than this durablec understands ({SCHEMA_VERSION}); it "
            "was left unchanged. Upgrade durablec to the version that wrote it, or use another "
            "journal (--db or DURABLEC_DATABASE_URL)"
        )
    assert cli.dump() == before


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://ana:hunter2@127.0.0.1:1/jobs",
         ["cannot use the journal database postgresql+psycopg://ana:***@127.0.0.1:1/jobs: ",
          "Connection refused", "check the URL (--db or DURABLEC_DATABASE_URL)",
          "that the server is running and reachable"]),
        ("sqlite:////nonexistent/dir/x.db",
         ["cannot use the journal database sqlite:////nonexistent/dir/x.db: unable to open "
          "database file; check the URL", "that the file's directory exists and is writable"]),
        ("journal.db",
         ["'journal.db' is not a database URL; pass one to --db or DURABLEC_DATABASE_URL, e.g. "
          "sqlite:///./durablec.db"]),
    ],
)
def test_a_database_url_that_cannot_connect(
    tmp: Path, cli: Cli, url: str, expected: list[str]
) -> None:
    before = cli.seeded()
    for command in (["run", "tasks.py:double", "--args", "[1]"], ["runs"], ["inspect", "seed"]):
        for done in (cli(*command, "--db", url),
                     cli(*command, DURABLEC_DATABASE_URL=url)):
            assert done.returncode == 2
            message = error_line(done)
            assert "hunter2" not in done.stdout + done.stderr
            for fragment in expected:
                assert fragment in message
    assert cli.dump() == before
    assert not (tmp / "journal.db").exists()


def test_a_postgres_database_that_does_not_exist(
    tmp: Path, cli: Cli, pg_server: PostgresServer
) -> None:
    before = cli.seeded()
    url = pg_server.url("no_such_db")
    done = cli("run", "tasks.py:double", "--args", "[1]", "--db", url)
    assert done.returncode == 2
    message = error_line(done)
    assert message.startswith(
        f"error: cannot use the journal database {database_url(url)}: connection failed: ")
    assert 'database "no_such_db" does not exist' in message
    assert message.endswith("; check the URL (--db or DURABLEC_DATABASE_URL) and that the server "
                            "is running and reachable, and the user, password and database name")
    assert cli.dump() == before


def test_code_changed_incompatibly_under_an_in_flight_run(tmp: Path, any_cli: Cli) -> None:
    cli = any_cli
    before = cli.seeded()
    waiting = cli("run", "tasks.py:flow", "--args", "[1]", "--run-id", "F")
    assert waiting.returncode == 3, waiting.stderr
    recorded = line_of("    a = await fetch(x)")
    # The deploy replaces the first step (and shifts it a line down).
    edited = TASKS.replace("\n    a = await fetch(x)\n",
                           "\n    # charge first, now\n    a = await charge(x)\n")
    (tmp / "tasks.py").write_text(edited)
    assert cli("send-event", "F", "go").returncode == 0
    in_flight = cli.dump()
    path = tmp / "tasks.py"
    expected = (
        f"run F, step 0: the journal recorded call `fetch` at {path}:{recorded}, but the code "
        f"now reaches call `charge` at {path}:{recorded + 1}. Steps were reordered, replaced, "
        "added or removed while the run was in flight: restore the order (or run the code the "
        "run started with), then `durablec retry F`"
    )

    check = cli("replay", "--check", "tasks.py:flow")
    assert check.returncode == 1
    assert check.stdout == f"F (flow, pending): {expected}\n"
    assert "replay --check: 1 runs, 1 diverged" in check.stderr
    assert cli.dump() == in_flight

    done = cli("run", "tasks.py:flow", "--run-id", "F")
    assert done.returncode == 1
    assert error_line(done) == f"error: {expected}"
    after = cli.dump()
    assert without_run(after, "F") == without_run(before, "F")
    assert steps_of(after, "F") == steps_of(in_flight, "F")
    row = run_row(after, "F")
    assert (row["status"], row["error_type"], row["error_message"]) == (
        "paused", "NonDeterminismError", expected)

    # The fix the message names works: the old code back, `retry`, resume.
    (tmp / "tasks.py").write_text(TASKS)
    assert cli("retry", "F").returncode == 0
    resumed = cli("run", "tasks.py:flow", "--run-id", "F")
    assert resumed.returncode == 0 and resumed.stdout.strip() == "20", resumed.stderr


def test_an_exception_class_that_cannot_be_unpickled(tmp: Path, any_cli: Cli) -> None:
    cli = any_cli
    before = cli.seeded()
    waiting = cli("run", "tasks.py:guarded", "--args", "[1]", "--run-id", "X")
    assert waiting.returncode == 3, waiting.stderr
    # The class of the exception step 1 recorded is renamed under the waiting run.
    (tmp / "tasks.py").write_text(TASKS.replace("PaymentDeclined", "CardDeclined"))
    assert cli("send-event", "X", "go").returncode == 0
    in_flight = cli.dump()
    site = line_of("        await decline(a)")
    expected = (
        f"run X, step 1 (`decline` at {tmp / 'tasks.py'}:{site}): the recorded exception cannot "
        "be loaded (AttributeError: Can't get attribute 'PaymentDeclined' on <module 'tasks' "
        f"from '{tmp / 'tasks.py'}'>); a class or module it needs was renamed or removed while "
        "the run was in flight. Restore it (or run the code the run started with), then "
        "`durablec retry X`"
    )

    check = cli("replay", "--check", "tasks.py:guarded")
    assert check.returncode == 1 and check.stdout == f"X (guarded, pending): {expected}\n"
    assert cli.dump() == in_flight

    # A worker that meets it pauses the run and says why ...
    worker = cli("worker", "tasks.py:guarded", "--until-idle")
    assert worker.returncode == 0
    assert f"durablec worker: run X paused: {expected}\n" in worker.stderr
    paused = cli.dump()
    # ... and `run --run-id`, a person's command that resumes a paused run, reports it again.
    done = cli("run", "tasks.py:guarded", "--run-id", "X")
    assert done.returncode == 1
    assert error_line(done) == f"error: {expected}"
    # The task catches Exception around that step, yet nothing ran past it.
    assert not (tmp / "after-ran").exists()
    after = cli.dump()
    assert without_run(after, "X") == without_run(before, "X")
    assert steps_of(after, "X") == steps_of(in_flight, "X")
    assert after["durablec_events"] == in_flight["durablec_events"]
    row = run_row(after, "X")
    assert (row["status"], row["error_type"], row["error_message"]) == (
        "paused", "NonDeterminismError", expected)
    assert without_run(paused, "X") == without_run(after, "X")
    assert run_row(paused, "X")["error_message"] == expected

    (tmp / "tasks.py").write_text(TASKS)
    assert cli("retry", "X").returncode == 0
    resumed = cli("run", "tasks.py:guarded", "--run-id", "X")
    assert resumed.returncode == 0 and resumed.stdout.strip() == "2", resumed.stderr
    assert (tmp / "after-ran").exists()


SCHEDULED = """\
import durablec


@durablec.task(id="needs", cron="0 * * * *")
async def needs(x):
    return x
"""


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["add", "tasks.py:double", "--cron", "0 25 * * *", "--args", "[1]"],
         "error: cron expression '0 25 * * *' is not valid: "),
        (["add", "tasks.py:double", "--cron", "* * * *", "--args", "[1]"],
         "error: cron expression '* * * *' has 4 fields; give 5 (minute hour day month weekday) "
         "or 6 (second minute hour day month weekday)"),
        (["add", "tasks.py:double", "--cron", "0 * * * *", "--args", "[1]", "--timezone",
          "Paris"], "error: time zone 'Paris' is not known; give an IANA name such as "
                    "'Europe/Paris' or 'UTC'"),
        (["add", "tasks.py:double", "--cron", "0 * * * *"],
         "cannot take the arguments (): missing a required argument: 'x'"),
        (["pause", "nightly"], "error: no schedule 'nightly' in the journal at "),
        (["trigger-now", "nightly"], "error: no schedule 'nightly' in the journal at "),
    ],
)
def test_a_schedule_that_cannot_be_added_or_found(
    cli: Cli, command: list[str], expected: str
) -> None:
    before = cli.seeded()
    done = cli("schedule", *command)
    assert done.returncode == 2
    assert expected in error_line(done)
    assert cli.dump() == before


def test_a_scheduled_task_that_needs_arguments(tmp: Path, cli: Cli) -> None:
    before = cli.seeded()
    (tmp / "scheduled.py").write_text(SCHEDULED)
    done = cli("worker", "scheduled.py:needs", "--until-idle")
    assert done.returncode == 2
    assert error_line(done) == (
        "error: task 'needs': its cron schedule starts runs without arguments, but the function "
        "needs some (missing a required argument: 'x'); give them defaults, or add a schedule "
        "with arguments: `durablec schedule add TARGET --cron EXPR --args JSON`"
    )
    assert cli.dump() == before


def test_deleting_a_schedule_declared_in_code(tmp: Path, cli: Cli) -> None:
    (tmp / "scheduled.py").write_text(SCHEDULED.replace("async def needs(x)",
                                                        "async def needs(x=1)"))
    assert cli("worker", "scheduled.py:needs", "--until-idle").returncode == 0
    before = cli.dump()
    done = cli("schedule", "delete", "needs")
    assert done.returncode == 2
    assert error_line(done) == (
        "error: schedule 'needs' is declared by task 'needs' (@task(cron=...)) and workers that "
        "load the task declare it again; remove cron= from the task, or pause it"
    )
    assert cli.dump() == before
