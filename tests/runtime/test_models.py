"""durablec.models: the SQLModel classes users query the journal with describe the runtime's
Core tables exactly, and read a real journal."""

from __future__ import annotations

import pytest
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlmodel import Session, SQLModel, create_engine, select

from durablec.models import JournalModel, RunRow, StepRow
from durablec.runtime.client import run
from durablec.runtime.store.schema import TABLES
from helpers import Loader


def ddl(table: Table, dialect: Dialect) -> list[str]:
    return [str(CreateTable(table).compile(dialect=dialect)).strip()] + sorted(
        str(CreateIndex(index).compile(dialect=dialect)).strip() for index in table.indexes)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "pg"])
def test_each_class_has_the_ddl_of_the_runtime_table(dialect: Dialect) -> None:
    classes = JournalModel.metadata.tables
    assert sorted(classes) == sorted(table.name for table in TABLES)
    for table in TABLES:
        assert ddl(classes[table.name], dialect) == ddl(table, dialect), table.name


def test_the_classes_stay_out_of_sqlmodels_own_metadata() -> None:
    """A user's ``SQLModel.metadata.create_all()`` must never create or alter journal tables."""
    assert not [name for name in SQLModel.metadata.tables if name.startswith("durablec_")]


TASKS = """
import asyncio
from durablec import task

@task(id="models-double")
async def double(x: int) -> int:
    await asyncio.sleep(0)
    return x * 2
"""


def test_a_user_reads_a_real_journal_with_the_classes(load: Loader, sqlite_url: str) -> None:
    assert run(load(TASKS).double, 21, run_id="m1", db=sqlite_url) == 42
    with Session(create_engine(sqlite_url)) as session:
        row = session.exec(select(RunRow).where(RunRow.id == "m1")).one()
        assert (row.task_id, row.status, row.result_repr) == ("models-double", "completed", "42")
        step = session.exec(select(StepRow).where(StepRow.run_id == "m1")).one()
        assert (step.key, step.callee, step.outcome, step.final) == ("0", "asyncio.sleep", "ok", True)
