"""Step results stored apart from their rows (``durablec_payloads``), for the operations that
copy a run's steps: a fork, and an exported history and its import.

The hot path's write and replay's read are the journal's own (``Journal.insert_step``,
``Journal.load_result``); what reads steps for display never comes here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from durablec.runtime.store.database import Journal
from durablec.runtime.store.schema import payloads, steps

__all__ = ["ids_apart", "insert_copy", "results_apart", "split_rows"]


def ids_apart(conn: Connection, run_id: str) -> set[int]:
    """The ids of the run's steps whose result is stored apart."""
    return set(conn.execute(
        select(payloads.c.step_id).where(payloads.c.run_id == run_id)).scalars())


def results_apart(conn: Connection, run_id: str) -> dict[int, bytes]:
    """The run's results stored apart, by step id: all at once, for an export (which holds
    every payload of the run in its document anyway)."""
    rows = conn.execute(
        select(payloads.c.step_id, payloads.c.result).where(payloads.c.run_id == run_id))
    return {step_id: result for step_id, result in rows}


def _over(result: Any, limit: int) -> bool:
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
        if "id" in row and _over(row.get("result"), limit):
            apart.append({"step_id": row["id"], "run_id": row["run_id"], "result": row["result"]})
            row = {**row, "result": None}
        kept.append(row)
    return kept, apart


def insert_copy(journal: Journal, conn: Connection, values: dict[str, Any]) -> int:
    """Insert a copied step row (every column but ``id``, not fenced: a new run nobody holds);
    its result goes apart when over the journal's threshold. Returns the new id."""
    result = values["result"]
    over = _over(result, journal.lazy_over)
    made = conn.execute(
        insert(steps).values({**values, "result": None} if over else values)).inserted_primary_key
    assert made is not None  # a single-row insert
    step_id: int = made[0]
    if over:
        journal.store_apart(conn, step_id, values["run_id"], result)
    return step_id
