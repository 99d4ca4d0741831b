"""Results stored apart from their rows (``durablec_payloads``): a run's own result, and step
results for the operations that copy a run's steps (a fork, an exported history and its import).

The hot path's write and replay's read of step results are the journal's own
(``Journal.insert_step``, ``Journal.load_result``); what reads runs and steps for display never
comes here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeGuard

from sqlalchemy import Connection, bindparam, delete, exists, insert, select

from durablec.runtime.store.batch import Batch
from durablec.runtime.store.database import Journal, fenced_insert
from durablec.runtime.store.schema import RUN_RESULT, held, payloads, steps

__all__ = ["drop_run_result", "ids_apart", "insert_copy", "keep_run_result", "over",
           "send_run_result",
           "results_apart", "run_result", "split_rows"]


def keep_run_result(conn: Connection, run_id: str, payload: bytes) -> None:
    """Store the run's own result apart (its row's ``result`` NULL), in place of one an earlier
    attempt of the run stored."""
    drop_run_result(conn, run_id)
    conn.execute(insert(payloads).values(run_id=run_id, step_id=RUN_RESULT, result=payload))


def send_run_result(journal: Journal, batch: Batch, run_id: str, payload: bytes,
                    fence: dict[str, Any]) -> None:
    """``keep_run_result`` in a group commit's batch: written only while the run's lease holds
    (``fence``: its ``fence_run`` and ``fence_epoch``), as the run's last update it comes with."""
    drop = journal.prepare(("drop_run_result",), lambda: delete(payloads).where(
        payloads.c.run_id == bindparam("run_id"), payloads.c.step_id == bindparam("step_id"),
        exists().where(held(bindparam("fence_run"), bindparam("fence_epoch")))))
    keep = journal.prepare(
        ("keep_run_result",), lambda: fenced_insert(payloads, ("run_id", "step_id", "result")))
    drop.send(batch, {"run_id": run_id, "step_id": RUN_RESULT, **fence})
    keep.send(batch, {"run_id": run_id, "step_id": RUN_RESULT, "result": payload, **fence})


def drop_run_result(conn: Connection, run_id: str) -> None:
    conn.execute(delete(payloads).where(payloads.c.run_id == run_id,
                                        payloads.c.step_id == RUN_RESULT))


def run_result(conn: Connection, run_id: str) -> bytes | None:
    """The run's own result stored apart, or None."""
    found: bytes | None = conn.execute(
        select(payloads.c.result).where(payloads.c.run_id == run_id,
                                        payloads.c.step_id == RUN_RESULT)).scalar_one_or_none()
    return found


def ids_apart(conn: Connection, run_id: str) -> set[int]:
    """The ids of the run's steps whose result is stored apart."""
    return set(conn.execute(
        select(payloads.c.step_id)
        .where(payloads.c.run_id == run_id, payloads.c.step_id != RUN_RESULT)).scalars())


def results_apart(conn: Connection, run_id: str) -> dict[int, bytes]:
    """The run's results stored apart, by step id (RUN_RESULT: the run's own): all at once, for
    an export (which holds every payload of the run in its document anyway)."""
    rows = conn.execute(
        select(payloads.c.step_id, payloads.c.result).where(payloads.c.run_id == run_id))
    return {step_id: result for step_id, result in rows}


def over(result: bytes | None, limit: int) -> TypeGuard[bytes]:
    """Whether a payload (bytes or None) is stored apart under threshold ``limit``."""
    return result is not None and len(result) > limit


def split_rows(
    rows: Sequence[dict[str, Any]], limit: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Step rows with their ``id`` and ``result`` (an imported history) as the rows to insert
    and the payload rows of the results over ``limit`` bytes, taken out of them. A row without
    an ``id`` keeps its result: the journal reads a result in its row too."""
    kept: list[dict[str, Any]] = []
    apart: list[dict[str, Any]] = []
    for row in rows:
        if "id" in row and over(row.get("result"), limit):
            apart.append({"step_id": row["id"], "run_id": row["run_id"], "result": row["result"]})
            row = {**row, "result": None}
        kept.append(row)
    return kept, apart


def insert_copy(journal: Journal, conn: Connection, values: dict[str, Any]) -> int:
    """Insert a copied step row (every column but ``id``, not fenced: a new run nobody holds);
    its result goes apart when over the journal's threshold. Returns the new id."""
    result = values["result"]
    apart = over(result, journal.lazy_over)
    made = conn.execute(
        insert(steps).values({**values, "result": None} if apart else values)).inserted_primary_key
    assert made is not None  # a single-row insert
    step_id: int = made[0]
    if apart:
        journal.store_apart(conn, step_id, values["run_id"], result)
    return step_id
