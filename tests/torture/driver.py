"""The random-kill torture: `durablec worker` processes SIGKILLed at random moments, resumed, again.

Work is done in rounds. A round is a fresh SQLite journal with a few runs of the task in
``tasks.py``; the driver starts a worker on it, kills it with SIGKILL at a random moment (seeded),
checks the invariants against the side-effect log and the database, and starts the next worker,
until every run of the round has completed; then the next round begins. Workers are sequential,
so every journal row was written by the one worker alive between two snapshots, and the dead-pid
takeover (same host) lets the next worker resume at once.

After every kill:
- a step committed before this worker started never started in it;
- in this worker, each step started as many times as it committed attempt rows, but for a step
  left unsettled by the kill, which may have started once more (it was in flight);
- at most one final row per step, one run row per triggered run, no run failed or paused, the
  worker neither exited nor reported an error before the kill, ``PRAGMA integrity_check`` ok.
When a round completes: each run's result is exactly :func:`tasks.expected`, and each of its
leaf steps has one final ``ok`` row.
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

__all__ = ["Figures", "torture"]

TASKS_FILE = Path(tasks.__file__)
LEAF_CALLEES = frozenset({"work", "measure", "flaky"})
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
            f"completed and verified, {self.steps} committed steps, {self.executions} leaf step "
            f"executions, {self.elapsed:.1f} s, {rate:.2f} kills/s, "
            f"{len(self.violations)} violations"
        )


@dataclass
class Snapshot:
    """The journal as a dead worker left it."""

    rows: Counter[Key]
    finals: Counter[Key]
    ok_finals: set[Key]
    leaves: set[Key]
    status: dict[str, tuple[str, str | None]]
    integrity: list[str]


def snapshot(db: Path) -> Snapshot:
    rows: Counter[Key] = Counter()
    finals: Counter[Key] = Counter()
    ok_finals: set[Key] = set()
    leaves: set[Key] = set()
    with closing(sqlite3.connect(db)) as conn:
        integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        found = conn.execute("SELECT run_id, key, callee, outcome, final FROM durablec_steps")
        for run_id, key, callee, outcome, final in found:
            step = (run_id, key)
            rows[step] += 1
            if final:
                finals[step] += 1
                if outcome == "ok":
                    ok_finals.add(step)
            if callee in LEAF_CALLEES:
                leaves.add(step)
        status = {run_id: (state, message) for run_id, state, message in
                  conn.execute("SELECT id, status, error_message FROM durablec_runs")}
    return Snapshot(rows, finals, ok_finals, leaves, status, integrity)


@dataclass
class Worker:
    """One worker process's side of the log: its starts and ends per step, in order."""

    pid: int
    starts: Counter[Key] = field(default_factory=Counter)
    last: dict[Key, str] = field(default_factory=dict)


class Round:
    """A fresh journal, its log and its runs."""

    def __init__(self, number: int, root: Path, rng: random.Random) -> None:
        self.number = number
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
            run_id = client.trigger(tasks.torture, steps, big, rng.uniform(0.15, 0.4)).run_id
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
        if before.finals[step]:
            found.append(f"{where}: step {step} was committed by an earlier worker and started "
                         f"again {worker.starts[step]} time(s)")
    for step in sorted(set(worker.starts) | {s for s in current.leaves
                                              if current.rows[s] > before.rows[s]}):
        committed = current.rows[step] - before.rows[step]
        started = worker.starts[step]
        # Only a step still unsettled when the worker died can have been in flight at the kill.
        in_flight = 1 if killed and not current.finals[step] else 0
        if not committed <= started <= committed + in_flight:
            found.append(f"{where}: step {step} started {started} time(s) but committed "
                         f"{committed} attempt row(s) (final: {current.finals[step]}); only a "
                         "step in flight at the kill may start once more")
    for step, count in current.finals.items():
        if count > 1:
            found.append(f"{where}: step {step} has {count} final rows")
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
        if len(leaves) != steps + tasks.LEAF_STEPS_BESIDES_LOOP or settled != leaves:
            found.append(f"round {round_.number}: run {run_id} has {len(settled)} settled leaf "
                         f"steps of {len(leaves)} recorded, expected "
                         f"{steps + tasks.LEAF_STEPS_BESIDES_LOOP}")
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
    with ThreadPoolExecutor(lanes) as pool:
        done = list(pool.map(lambda lane: _lane(shares[lane], random.Random(f"{seed}/{lane}"),
                                                root / f"lane-{lane}", seed), range(lanes)))
    figures = Figures(seed)
    for part in done:
        for name in ("kills", "rounds", "runs", "steps", "executions", "in_step",
                     "before_commit", "elsewhere"):
            setattr(figures, name, getattr(figures, name) + getattr(part, name))
        figures.violations += part.violations
    figures.elapsed = time.monotonic() - started
    say(f"torture: {figures.report()}")
    for violation in figures.violations:
        say(f"torture: VIOLATION {violation}")
    return figures


def _lane(kills: int, rng: random.Random, root: Path, seed: int) -> Figures:
    figures = Figures(seed)
    round_ = Round(0, root, rng)
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
            round_ = Round(round_.number + 1, root, rng)
    while True:
        current = _finish(round_, round_.spawn(until_idle=True), False, figures)
        if round_.complete(current):
            _close_round(round_, current, figures)
            return figures
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
    if not found and not figures.violations:
        shutil.rmtree(round_.dir)  # keep the evidence of a round that broke an invariant
