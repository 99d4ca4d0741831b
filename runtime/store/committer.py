"""Group commit: the journal writes of concurrent runs in one event loop share transactions.

A write (a step attempt, a run's final state) is queued with a future; the first write of a
batch schedules a flush for the next loop iteration. The flush executes every queued write in one
transaction on the committer's one connection, commits, and only then resolves the futures, so no
task continues past a checkpoint whose outcome is not committed. When the transaction fails it is
rolled back and its exception is raised into every writer of the batch: nothing of the batch is
recorded and no writer continues (the engine stops each such run; its task never sees the error). A lone run pays one loop iteration per write; runs that reach
their checkpoints together pay one commit between them.

A write has two halves: it sends its statements through the batch (``runtime/store/batch.py``)
and returns a function that reads its result. Where the backend's batch ``defers`` (PostgreSQL,
in psycopg's pipeline mode: ``runtime/store/pipeline.py``) every write of the batch is sent,
then the COMMIT, and the server answers all of them in one round trip; only then are the
results read. A result read before the commit is still right but waits for a round trip of
its own, so the writes every run makes never read one early: a write that depends on another's
outcome puts the condition in SQL (the step's fence, repeated on the log rows it carries and
on a run end's execution record). Elsewhere (SQLite) each write's result is read as soon as it
is sent, as before, and so on PostgreSQL while a listener watches the engine's statements (the
pipeline sends them past SQLAlchemy's events; ``PostgreSQL.batches``). A statement that fails inside a
pipeline aborts the batch at the commit, with the same error and the same rollback as on the
other path.

Measured with bench/run.py on PostgreSQL (fsync on, loopback): a lone step was three round
trips (psycopg's BEGIN, the insert, the COMMIT) and is one; a batch of N writes was N + 2 and
is one. strace counts one ``recvfrom`` per step; tests/runtime/test_group_commit.py counts one
ReadyForQuery per batch in libpq's trace.

The transaction runs inline, in the loop. Committing from a thread (so the loop could go on
during a PostgreSQL round trip) measured no better in bench/run.py on PostgreSQL, per step or
for 1,000 concurrent runs, and would add a second thread to the failure surface.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine

from durablec.runtime.store.backend import Backend
from durablec.runtime.store.batch import Batch, Write

__all__ = ["Committer", "Write"]

T = TypeVar("T")


class Committer:
    """Batches the writes made on one event loop into shared transactions."""

    __slots__ = ("_engine", "_backend", "_loop", "_pending", "_busy", "_batch", "_users",
                 "_on_idle")

    def __init__(
        self, engine: Engine, backend: Backend, loop: asyncio.AbstractEventLoop, *,
        on_idle: Callable[[], None],
    ) -> None:
        self._engine = engine
        self._backend = backend
        self._loop = loop
        self._pending: list[tuple[Write, asyncio.Future[Any]]] = []
        self._busy = False  # a flush is scheduled
        self._batch: Batch | None = None
        self._users = 0
        self._on_idle = on_idle

    def use(self) -> None:
        self._users += 1

    def release(self) -> None:
        """One user is done; the last one returns the connection to the pool."""
        self._users -= 1
        if self._users == 0 and not self._busy:
            self._close()

    async def write(self, op: Callable[[Batch], Callable[[], T]]) -> T:
        """Run ``op`` in the next batch; returns its result once the batch is committed."""
        future: asyncio.Future[T] = self._loop.create_future()
        self._pending.append((op, future))
        if not self._busy:
            self._busy = True
            self._loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        try:
            results = self._commit(batch)
        except Exception as exc:  # noqa: BLE001 - every writer of the batch gets it
            self._settle(batch, None, exc)
        else:
            self._settle(batch, results, None)

    def _commit(self, ops: list[tuple[Write, asyncio.Future[Any]]]) -> list[Any]:
        if self._batch is None:
            self._batch = self._backend.batches(self._engine)
        batch = self._batch
        try:
            batch.begin()
            if batch.defers:
                collects = [op(batch) for op, _ in ops]
                batch.commit()
                return [collect() for collect in collects]
            results = [op(batch)() for op, _ in ops]
            batch.commit()
            return results
        except BaseException:
            # Nothing of the batch may stay; the next batch starts on a fresh connection in
            # case this one is broken (a dropped server, a disk error).
            self._batch = None
            batch.discard()
            raise

    def _settle(self, batch: list[tuple[Write, asyncio.Future[Any]]],
                results: list[Any] | None, error: BaseException | None) -> None:
        for index, (_, future) in enumerate(batch):
            if future.done():
                continue  # its writer was cancelled; the write itself stands or falls with the batch
            if error is not None:
                future.set_exception(error)
            else:
                assert results is not None
                future.set_result(results[index])
        self._busy = False
        if self._users == 0:
            self._close()

    def _close(self) -> None:
        if self._batch is not None:
            self._batch.close()
            self._batch = None
        self._on_idle()
