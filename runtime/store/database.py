"""The journal database: an engine with the schema ensured and the hot path prepared.

The per-checkpoint hot path uses one precompiled SQLAlchemy Core statement: an ``INSERT ...
SELECT ... WHERE EXISTS`` that records a step only while the writer still holds the run's lease
(fencing) in one round trip; a result over ``lazy_over`` bytes goes to ``durablec_payloads`` in
a second statement of the same transaction, only when the step's row was written. Times are
seconds since the Unix epoch (UTC) as floats, the same on every backend.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any, Final

from sqlalchemy import (
    Connection,
    Engine,
    Insert,
    Table,
    and_,
    bindparam,
    create_engine,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import CursorResult, Dialect, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from durablec.errors import JournalError
from durablec.runtime.clock import now
from durablec.runtime.store.backend import Backend, backend_for
from durablec.runtime.store.batch import Batch, Sent
from durablec.runtime.store.committer import Committer
from durablec.runtime.store.schema import (
    LAZY_PAYLOAD_DEFAULT,
    METADATA,
    MIGRATIONS,
    REPLAY_COLUMNS,
    SCHEMA_VERSION,
    STEP_COLUMNS,
    TABLES,
    held,
    meta,
    payloads,
    runs,
    steps,
    unless_over,
)

__all__ = ["DEFAULT_URL", "LAZY_PAYLOAD_DEFAULT", "Journal", "Prepared", "database_url",
           "fenced_insert", "now"]

DEFAULT_URL: Final = "sqlite:///./durablec.db"


def fenced_insert(table: Table, names: Sequence[str]) -> Insert:
    """An insert of one row (bind parameters named after ``names``) that writes nothing unless
    the run ``fence_run`` still has lease epoch ``fence_epoch``: a write that must not outlive
    the lease, decided by the database, so no round trip waits for another statement's answer
    before it is sent."""
    return insert(table).from_select(
        list(names),
        select(*(bindparam(name, type_=table.c[name].type) for name in names)).where(
            exists().where(held(bindparam("fence_run"), bindparam("fence_epoch")))
        ),
    )


# The hot path: record a step attempt only if the run's lease is still ours (fencing token),
# in one statement. No row inserted means another worker took the run over. SQLite reports the
# new id without RETURNING, which spares reading a result set per step.
_INSERT_STEP: Final = fenced_insert(steps, STEP_COLUMNS)
_INSERT_STEP_RETURNING: Final = _INSERT_STEP.returning(steps.c.id)

_INSERT_PAYLOAD: Final = insert(payloads).values(
    step_id=bindparam("step_id"), run_id=bindparam("run_id"), result=bindparam("result"))

_LOAD_STEPS: Final = (
    select(*(unless_over(steps.c.result, bindparam("lazy_over")) if name == "result"
             else steps.c[name] for name in REPLAY_COLUMNS))
    .where(steps.c.run_id == bindparam("run_id"))
    .order_by(steps.c.id)
)

# A step's result wherever it is: its row, or durablec_payloads when it was stored apart (or both
# places are read: a row of an older journal, or written under a higher DURABLEC_LAZY_PAYLOAD).
_LOAD_RESULT: Final = (
    select(func.coalesce(steps.c.result, payloads.c.result))
    .select_from(steps.outerjoin(
        payloads, and_(payloads.c.run_id == steps.c.run_id, payloads.c.step_id == steps.c.id)))
    .where(steps.c.id == bindparam("step_id"))
)

_LOAD_BATCH: Final = 1000
"""Step rows fetched from the driver at a time while a journal loads."""


def _lazy_over() -> int:
    """DURABLEC_LAZY_PAYLOAD: results larger than this many bytes are stored apart from their
    step rows and read only when replay reaches their step (never by listings, ``inspect`` or
    the dashboard)."""
    text = os.environ.get("DURABLEC_LAZY_PAYLOAD", str(LAZY_PAYLOAD_DEFAULT))
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise JournalError(f"DURABLEC_LAZY_PAYLOAD={text!r} is not a number of bytes >= 0 "
                           f"(default {LAZY_PAYLOAD_DEFAULT})")
    return value


def _absent(url: str) -> str:
    return (f"no journal at {url}: nothing has run there yet (a command that only reads does "
            "not create one); check --db or DURABLEC_DATABASE_URL, whose default is "
            "./durablec.db in the current directory")


def _no_file(path: str) -> bool:
    """True when ``path``'s directory exists but the file does not (connecting would create
    it); a missing directory is left to the connection's own error."""
    return os.path.isdir(os.path.dirname(os.path.abspath(path))) and not os.path.exists(path)


def _private_file() -> str:
    """A new temporary database file, removed (with its WAL files) when the process exits."""
    import atexit
    import tempfile

    handle, path = tempfile.mkstemp(prefix="durablec-memory-", suffix=".db")
    os.close(handle)

    def remove() -> None:
        for suffix in ("", "-wal", "-shm"):
            try:
                os.remove(path + suffix)
            except OSError:
                pass

    atexit.register(remove)
    return path


def database_url(db: str | None = None) -> str:
    """The SQLAlchemy URL to use: ``db``, else ``DURABLEC_DATABASE_URL``, else ./durablec.db."""
    url = db or os.environ.get("DURABLEC_DATABASE_URL") or DEFAULT_URL
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Journal:
    """An engine on the journal database, with the schema ensured and the hot path prepared."""

    def __init__(self, db: str | None = None, *, create: bool = True) -> None:
        """``create=False`` (for commands that only read) refuses a journal that does not exist
        yet instead of creating it.

        ``sqlite://`` and ``sqlite:///:memory:`` are a journal private to this process: a
        temporary file removed when the process exits (one in-memory connection could not be
        shared by the group commit's and the heartbeats' threads).
        """
        url = database_url(db)
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise JournalError(
                f"{url!r} is not a database URL; pass one to --db or DURABLEC_DATABASE_URL, e.g. "
                "sqlite:///./durablec.db or postgresql://user@host/dbname"
            ) from None
        # The URL as messages show it: never the password.
        self.url = parsed.render_as_string(hide_password=True)
        self.backend: Backend = backend_for(parsed)
        if self.backend.name == "sqlite" and parsed.database in (None, "", ":memory:"):
            parsed = parsed.set(database=_private_file())
            self.url = f"{url} (in memory: {parsed.database}, removed at exit)"
        elif not create and self.backend.name == "sqlite" and _no_file(parsed.database or ""):
            raise JournalError(_absent(self.url))
        self._create = create
        self.lazy_over = _lazy_over()
        try:
            self.engine: Engine = create_engine(parsed, **self.backend.engine_options())
        except Exception as exc:
            raise JournalError(
                f"cannot open the journal database {self.url}: {_reason(exc)}; check the URL "
                "(--db or DURABLEC_DATABASE_URL) and that its database driver is installed"
            ) from exc
        self.backend.configure(self.engine)
        self._ensure_schema()
        self._prepared: dict[tuple[str, ...], Prepared] = {}
        self._lastrowid = self.backend.reports_lastrowid
        self._insert_step = self.prepare(
            ("insert_step",), lambda: _INSERT_STEP if self._lastrowid else _INSERT_STEP_RETURNING
        )
        self._insert_payload = self.prepare(("insert_payload",), lambda: _INSERT_PAYLOAD)
        self._load_steps = self.prepare(("load_steps",), lambda: _LOAD_STEPS)
        self._committers: dict[asyncio.AbstractEventLoop, Committer] = {}

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def failures(self, run_id: str) -> Iterator[None]:
        """Database errors while executing run ``run_id``, as a JournalError saying what to do."""
        try:
            yield
        except SQLAlchemyError as exc:
            raise JournalError(
                f"run {run_id}: the journal at {self.url} failed: {_reason(exc)}; what it recorded "
                f"is kept, and once the database accepts writes `durablec run --run-id {run_id}` "
                "or a worker resumes the run from its last recorded step"
            ) from exc

    def _ensure_schema(self) -> None:
        try:
            self._prepare_schema()
        except JournalError:
            raise
        except Exception as exc:
            raise JournalError(
                f"cannot use the journal database {self.url}: {_reason(exc)}; check the URL "
                f"(--db or DURABLEC_DATABASE_URL) and {self.backend.reach_hint}"
            ) from exc

    def _prepare_schema(self) -> None:
        # The common case, a journal of this version with every table, needs no lock: readers
        # never wait here. (A table added without a new version, as durablec_traces was, is
        # created by the locked path below.)
        with self.engine.connect() as conn:
            names = set(sa_inspect(conn).get_table_names())
            if ({table.name for table in TABLES} <= names
                    and self._stored_version(conn, names) == SCHEMA_VERSION):
                return
        with self.engine.begin() as conn:
            # Locked, then looked at again: another process may have created or migrated the
            # tables since, and two must never both create them (or both insert the version).
            self.backend.lock_schema(conn)
            stored = self._stored_version(conn, set(sa_inspect(conn).get_table_names()))
            if stored is None and not self._create:
                raise JournalError(_absent(self.url))
            # Before create_all: a newer journal must not gain the tables this version knows.
            if stored is not None and stored > SCHEMA_VERSION:
                raise JournalError(
                    f"the journal at {self.url} has schema version {stored}, newer than this "
                    f"durablec understands ({SCHEMA_VERSION}); it was left unchanged. Upgrade "
                    "durablec to the version that wrote it, or use another journal (--db or "
                    "DURABLEC_DATABASE_URL)"
                )
            METADATA.create_all(conn, tables=list(TABLES))
            if stored is None:
                conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
                self.backend.install_wakeups(conn)
                return
            for target in range(stored + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target]:
                    conn.exec_driver_sql(statement)
            if stored < 2:
                self.backend.install_wakeups(conn)
            if stored != SCHEMA_VERSION:
                conn.execute(
                    update(meta)
                    .where(meta.c.key == "schema_version")
                    .values(value=str(SCHEMA_VERSION))
                )

    @staticmethod
    def _stored_version(conn: Connection, tables: set[str]) -> int | None:
        """The journal's schema version, given the names of its ``tables``; None where it has
        none yet."""
        if meta.name not in tables:
            return None
        stored = conn.execute(
            select(meta.c.value).where(meta.c.key == "schema_version")
        ).scalar_one_or_none()
        return None if stored is None else int(stored)

    @contextmanager
    def writing(self) -> Iterator[Committer]:
        """The group committer of the running event loop, held while an execution writes."""
        loop = asyncio.get_running_loop()
        committer = self._committers.get(loop)
        if committer is None:

            def forget() -> None:
                self._committers.pop(loop, None)

            committer = self._committers[loop] = Committer(
                self.engine, self.backend, loop, on_idle=forget)
        committer.use()
        try:
            yield committer
        finally:
            committer.release()

    def prepare(self, key: tuple[str, ...], build: Callable[[], ClauseElement]) -> Prepared:
        """The statement named by ``key`` (a kind and its columns), built and compiled once for
        this database: for the writes every run makes."""
        found = self._prepared.get(key)
        if found is None:
            found = self._prepared[key] = Prepared(build(), self.engine.dialect)
        return found

    def insert_step(self, batch: Batch, values: dict[str, Any]) -> Callable[[], int | None]:
        """Record one attempt in a group commit; what it returns reads the new step's id, or
        None when the lease was lost. A result over ``lazy_over`` bytes is stored apart
        (:meth:`_insert_apart`)."""
        payload = values["result"]
        if payload is not None and len(payload) > self.lazy_over:
            return self._insert_apart(batch, values, payload)
        sent = self._insert_step.send(batch, values)
        if self._lastrowid:
            return lambda: sent.lastrowid if sent.rowcount == 1 else None
        return sent.scalar_one_or_none

    def _insert_apart(self, batch: Batch, values: dict[str, Any],
                     payload: bytes) -> Callable[[], int | None]:
        """Record one attempt whose result ``payload`` goes to durablec_payloads: its row first
        (fenced, with a NULL result), then the payload, only if the row was written, in the
        batch's transaction: a payload never exists without its step, nor a step without it.
        The payload row needs the step's id, so it is read at once: where the batch defers
        results (PostgreSQL's pipeline) that is one more round trip, for a result this large."""
        step_id = self.insert_step(batch, {**values, "result": None})()
        if step_id is not None:
            self._insert_payload.send(
                batch, {"step_id": step_id, "run_id": values["run_id"], "result": payload})
        return lambda: step_id

    def store_apart(self, conn: Connection, step_id: int, run_id: str, payload: bytes) -> None:
        """Store the result of step ``step_id`` (whose row has a NULL result) apart."""
        self._insert_payload.execute(
            conn, {"step_id": step_id, "run_id": run_id, "result": payload})

    def load_steps(self, conn: Connection, run_id: str) -> Iterator[Sequence[Any]]:
        """What replay needs of the run's whole journal (REPLAY_COLUMNS), in recording order, in
        one query whose rows are taken from the driver in batches: no more than one batch of
        them is alive as Python objects beside what the caller keeps (the peak memory of a large
        resume). Payloads stay bytes: each is unpickled only when its step is replayed; those
        over ``lazy_over`` bytes are left out (NULL), fetched by ``load_result`` then."""
        result = self._load_steps.execute(conn, {"run_id": run_id, "lazy_over": self.lazy_over})
        # The driver's own tuples, from its cursor: a SQLAlchemy Row per step was a third of a
        # large resume. (Not a server-side cursor: SQLAlchemy keeps the first row of one.)
        cursor = result.cursor
        try:
            while batch := cursor.fetchmany(_LOAD_BATCH):
                yield from batch
        finally:
            result.close()

    def load_result(self, conn: Connection, step_id: int) -> bytes | None:
        """One step's recorded payload, for a step recorded earlier in this same execution or
        one whose payload ``load_steps`` left out (stored apart, or over ``lazy_over``)."""
        payload: bytes | None = conn.execute(
            _LOAD_RESULT, {"step_id": step_id}).scalar_one_or_none()
        return payload


class Prepared:
    """A Core statement compiled once and executed as driver SQL.

    Executed through the SQLAlchemy connection (so its events and error handling apply), it
    skips what a Core ``execute`` repeats on every call: the cache-key walk and the bind
    processing. Parameters go to the driver as they are, so they must be plain values that the
    driver accepts for the column types (str, int, float, bool, bytes, None).
    """

    __slots__ = ("sql", "_params")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        order = tuple(compiled.positiontup or ())
        # The driver's parameters from the values, in C: a tuple in the statement's order for
        # positional drivers (SQLite), the dict itself for named ones (psycopg).
        self._params: Callable[[dict[str, Any]], Any] = (
            _as_named if not order else _one_of(order[0]) if len(order) == 1
            else itemgetter(*order)
        )

    def execute(self, conn: Connection, values: dict[str, Any]) -> CursorResult[Any]:
        return conn.exec_driver_sql(self.sql, self._params(values))

    def send(self, batch: Batch, values: dict[str, Any]) -> Sent:
        """Execute in a group commit's batch; the result may be there only after its commit."""
        return batch.send(self.sql, self._params(values))


def _as_named(values: dict[str, Any]) -> dict[str, Any]:
    return values


def _one_of(name: str) -> Callable[[dict[str, Any]], tuple[Any]]:
    """A one-parameter statement's parameters (itemgetter of one name gives no tuple)."""
    def params(values: dict[str, Any]) -> tuple[Any]:
        return (values[name],)
    return params


def _reason(exc: Exception) -> str:
    """The first line of the driver's own message (SQLAlchemy wraps it in several lines)."""
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__
