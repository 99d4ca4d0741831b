"""An expense approval: book the expense, then wait for a person twice over.

1. Manual intervention: the task's policy is ``Retry.manual()``, so a failing step pauses the run
   instead of retrying. The fake ledger refuses bookings while it is closed for month-end (while
   the file ``ledger.closed`` exists in APPROVAL_DIR); once someone reopens it, ``durablec retry
   RUN`` (or ``Client.retry``) makes the run pending and resuming it books the expense.
2. An approval event: the run waits, suspended, until ``durablec send-event RUN approved
   '{"by": "ada"}'`` (or ``Client.send_event``); after APPROVAL_TIMEOUT seconds without an answer
   the expense expires.

Every side effect appends one line to ``APPROVAL_DIR/effects.log`` (default: the current
directory), so you can see that no completed step ran twice.

    durablec run examples/approval/approval.py:approve_expense --args '["e-7", 120]' --run-id e-7
    durablec send-event e-7 approved '{"by": "ada"}'
    durablec run examples/approval/approval.py:approve_expense --run-id e-7
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import durablec
from durablec import Retry, task

STATE = Path(os.environ.get("APPROVAL_DIR", "."))
TIMEOUT = float(os.environ.get("APPROVAL_TIMEOUT", str(3 * 24 * 3600)))


class LedgerClosedError(Exception):
    """The ledger takes no bookings during the month-end close."""


@dataclass
class Report:
    expense_id: str
    amount: int
    category: str


def effect(text: str) -> None:
    # Called only by the steps below, whose checkpoints journal it: replay does not repeat it.
    with open(STATE / "effects.log", "a") as log:  # durablec: allow[DC402]
        log.write(text + "\n")


async def prepare_report(expense_id: str, amount: int) -> Report:
    effect(f"prepare {expense_id}")
    return Report(expense_id, amount, "travel" if amount >= 100 else "meals")


async def book(report: Report) -> str:
    if (STATE / "ledger.closed").exists():
        effect(f"book refused {report.expense_id}")
        raise LedgerClosedError("the ledger is closed for month-end; reopen it, then retry the run")
    effect(f"book {report.expense_id}")
    return f"L-{report.expense_id}"


async def ask_approver(report: Report) -> None:
    effect(f"ask {report.expense_id} {report.amount}")


async def pay_out(report: Report, approver: str, idempotency_key: str) -> str:
    effect(f"pay {report.expense_id} {report.amount} {idempotency_key}")
    return f"P-{report.expense_id}"


@task(id="expense-approval", retry=Retry.manual())
async def approve_expense(expense_id: str, amount: int) -> dict[str, str]:
    report = await prepare_report(expense_id, amount)
    entry = await book(report)
    await ask_approver(report)
    try:
        decision = await durablec.wait_for_event("approved", timeout=TIMEOUT)
    except TimeoutError:
        return {"expense": expense_id, "ledger": entry, "status": "expired"}
    payment = await pay_out(report, decision["by"], durablec.idempotency_key())
    return {"expense": expense_id, "ledger": entry, "status": "paid", "payment": payment,
            "approved_by": decision["by"]}
