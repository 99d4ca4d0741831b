"""The raw floor: bare INSERT + COMMIT of one journal-sized step row with the driver itself.

    floor.py sqlite PATH JOURNAL_MODE SYNCHRONOUS ROWS_PER_COMMIT COMMITS
    floor.py postgresql URL - - ROWS_PER_COMMIT COMMITS

The row is what durablec records for one trivial step, into the real durablec_steps table, through
the DBAPI driver SQLAlchemy uses underneath (sqlite3, psycopg): no fence, no ORM, nothing but the
write the guarantee needs. Prints µs per commit.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from typing import Any

import cloudpickle

from child import emit

COLUMNS = ("run_id", "key", "attempt", "kind", "callee", "file", "line", "col", "outcome",
           "final", "result", "result_repr", "started_at", "finished_at")


def row(i: int) -> tuple[Any, ...]:
    return ("0123456789abcdef0123456789abcdef", str(i), 1, "call", "noop",
            "/srv/app/bench/durable_tasks.py", 17, 18, "ok", True,
            b"P" + cloudpickle.dumps(i), repr(i), 1.7e9, 1.7e9)


def measure(conn: Any, marker: str, rows: int, commits: int) -> float:
    sql = (f"INSERT INTO durablec_steps ({', '.join(COLUMNS)}) "
           f"VALUES ({', '.join([marker] * len(COLUMNS))})")
    cursor = conn.cursor()
    start = time.perf_counter()
    for c in range(commits):
        for r in range(rows):
            cursor.execute(sql, row(c * rows + r))
        conn.commit()
    return (time.perf_counter() - start) / commits * 1e6


def main() -> None:
    backend, target, journal_mode, synchronous = sys.argv[1:5]
    rows, commits = int(sys.argv[5]), int(sys.argv[6])
    from durablec.runtime.store import Journal

    if backend == "sqlite":
        Journal(f"sqlite:///{target}").close()  # the real schema
        conn: Any = sqlite3.connect(target)
        conn.execute(f"PRAGMA journal_mode={journal_mode}")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        marker = "?"
    else:
        import psycopg

        Journal(target).close()
        conn = psycopg.connect(target)
        marker = "%s"
    emit(us_per_commit=measure(conn, marker, rows, commits))
    conn.close()


if __name__ == "__main__":
    main()
