"""Replaying recorded runs against the current code, and a run's history as a file.

:func:`check_replay` replays a stored run without running any step (the runner's check-only
mode) and says where the current code departs from it: another step or other arguments than
recorded, a step the completed run never took, or a recorded step the code no longer reaches.

A *history* (``durablec export``) is one run's rows as a versioned JSON document, so that a team
can keep real histories in its repository and replay them in CI without a database::

    {"format": "durablec-history", "version": 1, "durablec": "0.1.0", "task_id": "...",
     "run_id": "...", "run": {column: value}, "steps": [...], "events": [...],
     "signature": "hmac-sha256:<hex>" | "sha256:<hex>"}

Rows keep every column. A payload (a pickle) is ``{"json": value}`` when it is plain JSON data
and unsigned, else ``{"base64": "..."}``. The signature covers the rest of the document: an HMAC
with ``DURABLEC_SECRET`` when it is set, else a plain digest that catches edits by hand. A history
is checked before any payload in it is unpickled (unpickling runs code), then loaded into a
scratch journal and replayed there.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import math
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from durablec import __version__
from durablec.errors import TamperedPayloadError, UsageError
from durablec.runtime.client import Client
from durablec.runtime.model import RunRows
from durablec.runtime.store import RELEASED, Journal, insert_run_rows
from durablec.runtime.observer import StepEvent, StepObserver, observe
from durablec.runtime.runner import execute
from durablec.runtime.serde import Codec
from durablec.runtime.task import Task

__all__ = ["FORMAT", "VERSION", "History", "check_replay", "export_history", "read_history",
           "replay_history"]

FORMAT: Final = "durablec-history"
VERSION: Final = 1
"""The history format this durablec writes, and the newest it reads."""



class _Replayed(StepObserver):
    """The keys one run replayed, in order."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.keys: list[str] = []

    def step_replayed(self, event: StepEvent, outcome: str) -> None:
        if event.run_id == self.run_id:
            self.keys.append(event.key)


def check_replay(journal: Journal, rows: RunRows, task: Task[Any, Any]) -> str | None:
    """Replay the stored run ``rows`` describes with ``task``'s current code without running any
    step; the first divergence as a sentence, or None when the code reproduces the run.

    Runs an event loop of its own: call it from synchronous code.
    """
    run_id, status, task_id = rows.run["id"], rows.run["status"], rows.run["task_id"]
    if task_id != task.id:
        raise UsageError(f"run {run_id} is a run of task {task_id!r}, not {task.id!r}; "
                         f"replay it with the task {task_id!r}")
    watch = _Replayed(run_id)
    with observe(watch):
        outcome = asyncio.run(execute(journal, run_id, lambda _id: task, check_only=True))
    assert outcome is not None
    if outcome.error is not None:
        return str(outcome.error)
    if status != "completed":
        # An unfinished run may go on to steps it has not recorded yet; a failed one replays up
        # to its last step, which a new attempt of the body would run again (context.rewind).
        return None
    after = f" after step {watch.keys[-1]}" if watch.keys else ""
    if outcome.message is not None:
        return (f"run {run_id} {status}, but the current code goes on{after} to a step the "
                "run never took: a step was added, or a recorded result now leads elsewhere")
    # Compared by the task body's own steps: a helper, a gather or an `async for` that finished
    # replays whole (its result, its items), without the steps recorded inside it.
    reached = {_root_ordinal(key) for key in watch.keys}
    for row in rows.steps:
        if row["final"] and row["kind"] != "body" and row["outcome"] != "live" \
                and _root_ordinal(row["key"]) not in reached:
            return (f"run {run_id} {status} after step {row['key']} `{row['callee']}` at "
                    f"{row['file']}:{row['line']}, but the current code ends{after} without "
                    "reaching it: a step was removed, or a recorded result now leads elsewhere")
    return None


def _root_ordinal(key: str) -> str:
    """The task body's step a key belongs to (``"3"`` for ``"3:1.0"``, ``"4#2"`` or ``"4.0"``)."""
    end = 0
    while end < len(key) and key[end].isdigit():
        end += 1
    return key[:end]


# -- histories as files ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class History:
    """A history file that passed its checks: of which run and task, and its rows."""

    path: str
    run_id: str
    task_id: str
    rows: RunRows


def export_history(client: Client, run_id: str) -> dict[str, Any]:
    """The history document of run ``run_id``, signed when ``DURABLEC_SECRET`` is set."""
    rows = client.rows(run_id)
    document: dict[str, Any] = {
        "format": FORMAT, "version": VERSION, "durablec": __version__,
        "task_id": rows.run["task_id"], "run_id": run_id,
        "run": _encode_row(rows.run),
        "steps": [_encode_row(row) for row in rows.steps],
        "events": [_encode_row(row) for row in rows.events],
    }
    document["signature"] = _signature(document, _secret())
    return document


def read_history(path: str | os.PathLike[str]) -> History:
    """Read and check a history file: its format, its version and its signature."""
    shown = os.fspath(path)
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"history {shown}: cannot be read ({exc.strerror})") from None
    except ValueError as exc:
        raise UsageError(f"history {shown} is not JSON ({exc}); pass a file written by "
                         "`durablec export RUN --output FILE`") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise UsageError(f"history {shown} is not a durablec history (no \"format\": "
                         f"\"{FORMAT}\"); pass a file written by `durablec export`")
    version = document.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise UsageError(
            f"history {shown} is in history format {version!r}, written by durablec "
            f"{document.get('durablec', '?')}; this durablec ({__version__}) reads formats up to "
            f"{VERSION}: upgrade durablec to replay it"
        )
    _verify(shown, document)
    try:
        rows = RunRows(_decode_row(document["run"]), [_decode_row(r) for r in document["steps"]],
                       [_decode_row(r) for r in document["events"]])
        return History(shown, str(document["run_id"]), str(document["task_id"]), rows)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"history {shown} is malformed ({type(exc).__name__}: {exc}); "
                         "export it again with `durablec export`") from None


def replay_history(history: History, task: Task[Any, Any]) -> str | None:
    """Replay a history against ``task``'s current code in a scratch journal; the divergence or
    None (see :func:`check_replay`)."""
    if history.task_id != task.id:
        raise UsageError(
            f"history {history.path} records a run of task {history.task_id!r}, not "
            f"{task.id!r}; replay it with the task {history.task_id!r} (the `@task(id=...)` it "
            "had when the history was exported)"
        )
    with tempfile.TemporaryDirectory(prefix="durablec-replay-") as scratch:
        journal = Journal(f"sqlite:///{Path(scratch) / 'history.db'}")
        try:
            # The run unleased, as after a crash. A history of an older format may lack newer
            # columns (their defaults apply), never more.
            rows = history.rows
            insert_run_rows(journal, RunRows({**rows.run, **RELEASED}, rows.steps, rows.events))
            return check_replay(journal, history.rows, task)
        finally:
            journal.close()


def _secret() -> bytes | None:
    secret = os.environ.get("DURABLEC_SECRET")
    return secret.encode() if secret else None


def _signature(document: dict[str, Any], secret: bytes | None) -> str:
    body = {name: value for name, value in document.items() if name != "signature"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    if secret is None:
        return "sha256:" + hashlib.sha256(canonical).hexdigest()
    return "hmac-sha256:" + hmac.new(secret, canonical, hashlib.sha256).hexdigest()


def _verify(shown: str, document: dict[str, Any]) -> None:
    signature = str(document.get("signature"))
    secret = _secret()
    if signature.startswith("hmac-sha256:") and secret is None:
        raise TamperedPayloadError(
            f"history {shown} is signed but DURABLEC_SECRET is not set; set it to the secret "
            "it was exported with")
    if signature.startswith("sha256:") and secret is not None:
        raise TamperedPayloadError(
            f"history {shown} is not signed but DURABLEC_SECRET is set; refusing to unpickle "
            "its payloads. Export it again with DURABLEC_SECRET set (or unset the secret only "
            "if you trust the file)")
    if not hmac.compare_digest(signature, _signature(document, secret)):
        raise TamperedPayloadError(
            f"history {shown} fails its signature check: it was edited after `durablec export` "
            "(or signed with another DURABLEC_SECRET); nothing in it was unpickled. Export the "
            "run again instead of editing the file")


def _encode_row(row: dict[str, Any]) -> dict[str, Any]:
    return {name: _encode(value) if isinstance(value, bytes) else value
            for name, value in row.items()}


def _decode_row(row: dict[str, Any]) -> dict[str, Any]:
    return {name: _decode(value) if isinstance(value, dict) else value
            for name, value in row.items()}


def _encode(payload: bytes) -> dict[str, Any]:
    found, value = _plain_json(payload)
    if found:
        return {"json": value}
    return {"base64": base64.b64encode(payload).decode("ascii")}


def _decode(encoded: dict[str, Any]) -> bytes:
    if "json" in encoded:
        return Codec().dumps(encoded["json"], "history")
    return base64.b64decode(encoded["base64"], validate=True)


class _DataOnly(pickle.Unpickler):
    """Unpickles built-in data only: looking a class up would import and run code."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name} is not plain data")


def _plain_json(payload: bytes) -> tuple[bool, Any]:
    """(True, value) when the payload is an unsigned pickle of JSON data that reads back exactly."""
    if payload[:1] != b"P":
        return False, None
    try:
        value = _DataOnly(io.BytesIO(payload[1:])).load()
    except Exception:  # noqa: BLE001 - anything but plain data stays base64
        return False, None
    return _is_json(value), value


def _is_json(value: Any) -> bool:
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is list:
        return all(_is_json(item) for item in value)
    if kind is dict:
        return all(type(key) is str and _is_json(item) for key, item in value.items())
    return False
