"""Results over DURABLEC_LAZY_PAYLOAD bytes stay in the database until replay reaches their step,
and timelines (inspect, the dashboard) never read them."""

from __future__ import annotations

import asyncio

import pytest

import durablec
from durablec.errors import JournalError, RunSuspendedError
from durablec.runtime.runner import journal_for
from durablec.runtime.store.schema import REPLAY_COLUMNS
from durablec.runtime.worker import work
from helpers import Loader

FLOWS = """
import durablec
from durablec import task

async def chunk(i):
    return bytes([i]) * 4096

@task(id="chunks")
async def chunks():
    first = await chunk(1)
    small = await durablec.now()
    await durablec.wait_for_event("go")
    second = await chunk(2)
    return [len(first), first[0], len(second), second[0], small.year > 2000]
"""


def test_large_results_are_read_when_replay_reaches_them(
    load: Loader, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DURABLEC_LAZY_PAYLOAD", "1000")
    mod = load(FLOWS)
    with pytest.raises(RunSuspendedError):
        durablec.run(mod.chunks, db=db_url, run_id="big1")
    journal = journal_for(db_url)
    with journal.begin() as conn:
        loaded = {found["key"]: found["result"] for found in (
            dict(zip(REPLAY_COLUMNS, row)) for row in journal.load_steps(conn, "big1"))}
    assert loaded["0"] is None and loaded["1"] is not None  # 4 KB left out, the time loaded
    durablec.Client(db_url).send_event("big1", "go")
    outcomes = asyncio.run(work(db_url, [mod.chunks], until_idle=True))
    assert [(o.status, o.message, o.result) for o in outcomes] == [("completed", None, [4096, 1, 4096, 2, True])]
    steps = {step.key: step for step in durablec.Client(db_url).timeline("big1").steps}
    # The large result is shown by its stored preview, not read.
    assert steps["0"].result_value is None and (steps["0"].result or "").startswith("b'\\x01")
    assert steps["1"].result_value is not None


def test_a_bad_threshold_is_refused(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURABLEC_LAZY_PAYLOAD", "lots")
    with pytest.raises(JournalError, match="DURABLEC_LAZY_PAYLOAD='lots' is not a number"):
        journal_for(db_url)
