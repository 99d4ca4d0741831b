"""The random-kill torture: `durablec worker` processes SIGKILLed at random moments, resumed, again.

Work is done in rounds. A round is a fresh SQLite journal with a few runs of the task in
``tasks.py``; the driver starts a worker on it, kills it with SIGKILL at a random moment (seeded),
checks the invariants against the side-effect log and the database, and starts the next worker,
until every run of the round has completed; then the next round begins. Workers are sequential,
so every journal row was written by the one worker alive between two snapshots, and the dead-pid
takeover (same host) lets the next worker resume at once.

The task's httpx client talks to one loopback server (:mod:`.server`) the driver starts for the
whole torture; it logs each request as the task logs its leaf steps.

A scope retry (an exception escaping the task body or a compiled helper) is a retry row: a
``body`` row for the body, a non-final ``error`` row of key K for helper K. It starts a new
attempt scope for the keys under it, and reopens its scope's last step (the highest ordinal
under it with a row that is not ``live``): that step and the steps under it run again, so they
may get one more final row each. Nothing else may.

After every kill:
- a step committed before this worker started never started in it, but for a step a scope
  retry reopened after its last final row (the scope's last step, run again on purpose);
- in this worker, each step started as many times as it committed attempt rows, but for a step
  left unsettled by the kill (no final row, or reopened), which may have started once more (it
  was in flight);
- at most one final row per step per attempt scope: between two final rows of a step there is a
  retry row that reopened it; one run row per triggered run, no run failed or paused, the worker
  neither exited nor reported an error before the kill, ``PRAGMA integrity_check`` ok.
When a round completes: each run's result is exactly :func:`tasks.expected`, and each of its
leaf steps has a last final row ``ok``.
"""

from __future__ import annotations

import os
import pickle
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from . import tasks
from .server import Server

__all__ = ["Figures", "torture"]

TASKS_FILE = Path(tasks.__file__)
LEAF_CALLEES = frozenset({"work", "measure", "flaky", "remote", "settle", "http.post"})
FAILED = frozenset({"failed", "dead_lettered", "paused", "cancelled"})
RUNS_PER_ROUND = 3
KILL_WINDOW = 0.5
"""Seconds after a worker is ready within which most kills land; a round needs a few of them."""

Key = tuple[str, str]
EXPECTED_STDERR = re.compile(r"durablec worker: (serving .*|run \S+ (completed|sleeping|retrying))")
"""A worker's only words: its tasks, and runs it finished or suspended (an error is a violation)."""


@dataclass
class Figures:
    """What a torture did and found."""

    seed: int
    kills: int = 0
    rounds: int = 0
    runs: int = 0
    steps: int = 0
    executions: int = 0
    in_step: int = 0
    retries: int = 0
    before_commit: int = 0
    elsewhere: int = 0
    elapsed: float = 0.0
    violations: list[str] = field(default_factory=list)

    def report(self) -> str:
        rate = self.kills / self.elapsed if self.elapsed else 0.0
        return (
            f"seed {self.seed}: {self.kills} kills ({self.in_step} inside a step, "
            f"{self.before_commit} between a step's end and its commit, {self.elsewhere} "
            f"elsewhere: startup, replay, sleep, idle), {self.rounds} rounds, {self.runs} runs "
            f"completed and verified, {self.steps} committed steps, {self.retries} scope "
            f"retries, {self.executions} leaf step executions, {self.elapsed:.1f} s, {rate:.2f} kills/s, "
            f"{len(self.violations)} violations"
        )


def _slot(scope: str, key: str) -> int | None:
    """The ordinal of the step of ``scope`` that ``key`` is or lies under (``"16:0.1.0"`` is
    under step 16 of the body ``""`` and step 1 of helper ``"16:0"``); None when not under it."""
    if scope:
        if not key.startswith(scope + "."):
            return None
        key = key[len(scope) + 1:]
    digits = len(key) - len(key.lstrip("0123456789"))
    return int(key[:digits]) if digits else None


@dataclass(frozen=True)
class Retry:
    """A retry row: scope ``scope`` failed an attempt, and its step ``last`` runs again."""

    row: int
    scope: str
    last: int


@dataclass
class Snapshot:
    """The journal as a dead worker left it."""

    rows: Counter[Key]
    finals: Counter[Key]
    ok_finals: set[Key]
    leaves: set[Key]
    status: dict[str, tuple[str, str | None]]
    integrity: list[str]
    final_rows: dict[Key, list[int]] = field(default_factory=dict)
    """Per step, the ids of its final rows in recording order."""
    retries: dict[str, list[Retry]] = field(default_factory=dict)
    """Per run, its retry rows in recording order."""

    def reopens(self, step: Key, after: int, before: float = float("inf")) -> bool:
        """Whether a retry row between rows ``after`` and ``before`` reopened ``step``."""
        return any(after < retry.row < before and _slot(retry.scope, step[1]) == retry.last
                   for retry in self.retries.get(step[0], ()))

    def reopened(self, step: Key) -> bool:
        """Whether ``step`` has a final row and a retry after its last one reopened it."""
        ids = self.final_rows.get(step)
        return ids is not None and self.reopens(step, ids[-1])


def snapshot(db: Path) -> Snapshot:
    rows: Counter[Key] = Counter()
    finals: Counter[Key] = Counter()
    ok_finals: set[Key] = set()
    leaves: set[Key] = set()
    final_rows: dict[Key, list[int]] = {}
    retries: dict[str, list[Retry]] = {}
    recorded: dict[str, list[str]] = {}  # per run, the keys of its rows that are not live
    with closing(sqlite3.connect(db)) as conn:
        integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        found = conn.execute("SELECT id, run_id, key, kind, callee, outcome, final "
                             "FROM durablec_steps ORDER BY id")
        for row_id, run_id, key, kind, callee, outcome, final in found:
            step = (run_id, key)
            rows[step] += 1
            if not final and (kind == "body" or outcome == "error"):
                scope = "" if kind == "body" else key
                slots = [s for s in (_slot(scope, k) for k in recorded.get(run_id, ())) if s is not None]
                if slots:
                    retries.setdefault(run_id, []).append(Retry(row_id, scope, max(slots)))
            if final:
                finals[step] += 1
                final_rows.setdefault(step, []).append(row_id)
                if outcome == "ok":
                    ok_finals.add(step)
                else:
                    ok_finals.discard(step)
            if callee in LEAF_CALLEES:
                leaves.add(step)
            if outcome != "live" and kind != "body":
                recorded.setdefault(run_id, []).append(key)
        status = {run_id: (state, message) for run_id, state, message in
                  conn.execute("SELECT id, status, error_message FROM durablec_runs")}
    return Snapshot(rows, finals, ok_finals, leaves, status, integrity, final_rows, retries)


@dataclass
class Worker:
    """One worker process's side of the log: its starts and ends per step, in order."""

    pid: int
    starts: Counter[Key] = field(default_factory=Counter)
    last: dict[Key, str] = field(default_factory=dict)


class Round:
    """A fresh journal, its log and its runs."""

    def __init__(self, number: int, root: Path, rng: random.Random, server: Server) -> None:
        self.number = number
        self.server = server
        self.dir = root / f"round-{number}"
        self.dir.mkdir(parents=True)
        self.db = self.dir / "journal.db"
        self.log = self.dir / "steps.log"
        self.log.touch()
        self.offset = 0
        shutil.copy(TASKS_FILE, self.dir / "tasks.py")
        self.runs: dict[str, tuple[int, int]] = {}
        import durablec  # the driver only triggers runs; workers execute them

        client = durablec.Client(f"sqlite:///{self.db}")
        for index in range(RUNS_PER_ROUND):
            steps = rng.randint(8, 24)
            big = rng.choice((1 << 20, 256 << 10, 4096))
            run_id = client.trigger(tasks.torture, steps, big, rng.uniform(0.15, 0.4),
                                    server.url).run_id
            self.runs[run_id] = (steps, big)
        client.journal.close()
        self.before = snapshot(self.db)

    def spawn(self, until_idle: bool = False) -> subprocess.Popen[str]:
        env = dict(os.environ, DURABLEC_DATABASE_URL=f"sqlite:///{self.db}",
                   TORTURE_LOG=str(self.log), DURABLEC_INLINE_SLEEP="0.1",
                   DURABLEC_LEASE_SECONDS="5")
        env.pop("DURABLEC_SECRET", None)
        command = [sys.executable, "-m", "durablec", "worker", "tasks.py:torture", "--no-lint",
                   "--concurrency", str(RUNS_PER_ROUND), "--poll", "0.05"]
        if until_idle:
            command.append("--until-idle")
        return subprocess.Popen(command, cwd=self.dir, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)

    def read_log(self, pid: int) -> tuple[Worker, list[str]]:
        """The log lines written since the last call, all of which must be this worker's."""
        worker = Worker(pid)
        strangers: list[str] = []
        with open(self.log, "rb") as log:
            log.seek(self.offset)
            data = log.read()
        self.offset += len(data)
        for line in data.decode().splitlines():
            event, key, writer = line.split(" ")
            if int(writer) != pid:
                strangers.append(line)
                continue
            run_id, _, step = key.partition("/")
            worker.last[(run_id, step)] = event
            if event == "start":
                worker.starts[(run_id, step)] += 1
        return worker, strangers

    def complete(self, current: Snapshot) -> bool:
        return all(current.status[run_id][0] == "completed" for run_id in self.runs)


def check(round_: Round, worker: Worker, strangers: list[str], stderr: str, exited: int | None,
          killed: bool, current: Snapshot) -> list[str]:
    """The invariants after one worker ended (killed, or exited when idle)."""
    where = f"round {round_.number} ({round_.dir}), worker {worker.pid}"
    found: list[str] = []
    before = round_.before
    if killed and exited is not None:
        found.append(f"{where}: exited by itself with code {exited} before the kill: {stderr}")
    if not killed and exited != 0:
        found.append(f"{where}: exited with code {exited}: {stderr}")
    unexpected = [line for line in stderr.splitlines() if not EXPECTED_STDERR.fullmatch(line)]
    if unexpected:
        found.append(f"{where}: printed {unexpected[:10]}")
    if strangers:
        found.append(f"{where}: log lines from other processes: {strangers[:5]}")
    for step in sorted(worker.starts):
        # Committed before this worker started, it may run again only if a scope retry reopened
        # it after its last final row (the retried scope's last step).
        if before.finals[step] and not current.reopens(step, before.final_rows[step][-1]):
            found.append(f"{where}: step {step} was committed by an earlier worker and started "
                         f"again {worker.starts[step]} time(s), no scope retry reopened it")
    for step in sorted(set(worker.starts) | {s for s in current.leaves
                                              if current.rows[s] > before.rows[s]}):
        committed = current.rows[step] - before.rows[step]
        started = worker.starts[step]
        # Only a step still unsettled when the worker died can have been in flight at the kill.
        unsettled = not current.finals[step] or current.reopened(step)
        in_flight = 1 if killed and unsettled else 0
        if not committed <= started <= committed + in_flight:
            found.append(f"{where}: step {step} started {started} time(s) but committed "
                         f"{committed} attempt row(s) (final: {current.finals[step]}); only a "
                         "step in flight at the kill may start once more")
    for step, ids in current.final_rows.items():
        # One final row per step per attempt scope: a second one needs a retry that reopened it.
        for first, second in zip(ids, ids[1:]):
            if not current.reopens(step, first, second):
                found.append(f"{where}: step {step} has final rows {first} and {second} in one "
                             "attempt scope (no scope retry between them reopened it)")
    if set(current.status) != set(round_.runs):
        found.append(f"{where}: run rows {sorted(current.status)}, triggered {sorted(round_.runs)}")
    for run_id, (state, message) in current.status.items():
        if state in FAILED:
            found.append(f"{where}: run {run_id} is {state}: {message}")
    if current.integrity != ["ok"]:
        found.append(f"{where}: PRAGMA integrity_check: {current.integrity[:5]}")
    return found


def verify_results(round_: Round, current: Snapshot) -> list[str]:
    """A completed round: exact results, and one final ok row per leaf step of each run."""
    found: list[str] = []
    with closing(sqlite3.connect(round_.db)) as conn:
        results = dict(conn.execute("SELECT id, result FROM durablec_runs").fetchall())
    for run_id, (steps, big) in round_.runs.items():
        payload = results[run_id]
        if payload[:1] != b"P":
            found.append(f"round {round_.number}: run {run_id}: result is not a plain payload")
            continue
        got = pickle.loads(payload[1:])
        want = tasks.expected(steps, big)
        if got != want:
            found.append(f"round {round_.number}: run {run_id} returned {got}, expected {want}")
        leaves = {step for step in current.leaves if step[0] == run_id}
        settled = leaves & current.ok_finals
        if len(leaves) != tasks.leaf_steps(steps) or settled != leaves:
            found.append(f"round {round_.number}: run {run_id} has {len(settled)} settled leaf "
                         f"steps of {len(leaves)} recorded, expected {tasks.leaf_steps(steps)}")
    return found


def _finish(round_: Round, proc: subprocess.Popen[str], killed: bool, figures: Figures) -> Snapshot:
    """Reap a worker that ended, check the invariants, count what the kill hit."""
    exited = proc.poll() if killed else proc.wait()
    if killed:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    proc.stderr.close()
    if not round_.server.drain(proc.pid):
        figures.violations.append(f"round {round_.number}: the server still serves worker "
                                  f"{proc.pid} 10 s after it ended")
    worker, strangers = round_.read_log(proc.pid)
    current = snapshot(round_.db)
    figures.violations += check(round_, worker, strangers, stderr, exited, killed, current)
    figures.executions += sum(worker.starts.values())
    if killed:
        figures.kills += 1
        in_flight = [step for step, count in worker.starts.items()
                     if count > current.rows[step] - round_.before.rows[step]]
        if any(worker.last[step] == "start" for step in in_flight):
            figures.in_step += 1
        elif in_flight:
            figures.before_commit += 1
        else:
            figures.elsewhere += 1
    round_.before = current
    return current


def _await_ready(proc: subprocess.Popen[str]) -> str:
    """Block until the worker says it serves its tasks (or ends); returns what it printed."""
    assert proc.stderr is not None
    seen = ""
    while True:
        line = proc.stderr.readline()
        seen += line
        if not line or "serving" in line:
            return seen


def torture(kills: int, seed: int, root: Path, lanes: int = 2,
            say: Callable[[str], None] = print) -> Figures:
    """Kill ``kills`` workers at random moments, then let the last rounds finish without kills.

    ``lanes`` tortures run side by side on their own journals (one worker alive per lane), so
    that one lane's worker starts up while another's is being killed.
    """
    say(f"torture: seed {seed}, {kills} kills, {lanes} lanes, in {root}")
    started = time.monotonic()
    shares = [kills // lanes + (1 if lane < kills % lanes else 0) for lane in range(lanes)]
    server = Server()
    try:
        with ThreadPoolExecutor(lanes) as pool:
            done = list(pool.map(lambda lane: _lane(shares[lane], random.Random(f"{seed}/{lane}"),
                                                    root / f"lane-{lane}", seed, server),
                                 range(lanes)))
    finally:
        server.close()
    figures = Figures(seed)
    for part in done:
        for name in ("kills", "rounds", "runs", "steps", "retries", "executions", "in_step",
                     "before_commit", "elsewhere"):
            setattr(figures, name, getattr(figures, name) + getattr(part, name))
        figures.violations += part.violations
    figures.elapsed = time.monotonic() - started
    say(f"torture: {figures.report()}")
    for violation in figures.violations:
        say(f"torture: VIOLATION {violation}")
    return figures


def _lane(kills: int, rng: random.Random, root: Path, seed: int, server: Server) -> Figures:
    figures = Figures(seed)
    round_ = Round(0, root, rng, server)
    while figures.kills < kills:
        proc = round_.spawn()
        draw = rng.random()
        if draw < 0.05:
            time.sleep(rng.uniform(0.0, 0.4))  # during startup: imports, schema, first query
        else:
            _await_ready(proc)
            if draw < 0.2:
                time.sleep(rng.uniform(0.0, 0.05))  # the due query and replay
            elif draw < 0.45:
                _await_ends(round_, rng.randint(1, 30))  # just after a step ended: its commit
            else:
                time.sleep(rng.uniform(0.0, KILL_WINDOW))
        current = _finish(round_, proc, True, figures)
        if round_.complete(current):
            _close_round(round_, current, figures)
            round_ = Round(round_.number + 1, root, rng, server)
    while True:
        current = _finish(round_, round_.spawn(until_idle=True), False, figures)
        if round_.complete(current):
            _close_round(round_, current, figures)
            return figures
        if any(state in FAILED for state, _ in current.status.values()):
            return figures  # it will never complete: the violation is recorded, the round kept
        time.sleep(0.1)  # a run sleeps durably: an idle worker exits, the next one resumes it


def _await_ends(round_: Round, count: int) -> None:
    """Poll the log until ``count`` more steps ended (or the kill window passed: runs may idle)."""
    deadline = time.monotonic() + KILL_WINDOW
    while time.monotonic() < deadline:
        with open(round_.log, "rb") as log:
            log.seek(round_.offset)
            if (b"\n" + log.read()).count(b"\nend ") >= count:
                return
        time.sleep(0.001)


def _close_round(round_: Round, current: Snapshot, figures: Figures) -> None:
    found = verify_results(round_, current)
    figures.violations += found
    figures.rounds += 1
    figures.runs += len(round_.runs)
    figures.steps += sum(current.finals.values())
    figures.retries += sum(len(retries) for retries in current.retries.values())
    if not found and not figures.violations:
        shutil.rmtree(round_.dir)  # keep the evidence of a round that broke an invariant
