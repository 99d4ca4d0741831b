"""durablec against DBOS Transact, side by side: same machine, same databases, same workload.

    .venv/bin/python bench/run.py [--quick] [--rounds N] [--backends sqlite,postgresql]
                                  [--json PATH] [--plot PATH]

Every measurement runs in a fresh process, the systems alternate within each round (the first
system of a round rotates), and the table shows the median of the rounds with [min-max] and the
ratio of the medians. SQLite: DBOS as it ships (rollback journal, synchronous=FULL) against
durablec with synchronous=FULL (WAL) at equal durability; durablec's default (WAL,
synchronous=NORMAL: survives a killed process, not a power cut) is its own column. PostgreSQL: a
throwaway server on loopback with fsync on and synchronous_commit on, as shipped, for both.
The raw floor (a bare INSERT + COMMIT through the same driver) is what each figure is held to.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))  # tests/pg.py's PostgresServer, reused rather than copied

from child import RESULT_PREFIX, T0_ENV  # noqa: E402
from workload import KILL_ENV  # noqa: E402
from report import Figures, print_table  # noqa: E402


@dataclass(frozen=True, slots=True)
class System:
    """One contender on one backend: which child script, with which settings."""

    key: str
    backend: str
    script: str
    env: dict[str, str] = field(default_factory=dict)


SYSTEMS = (
    System("dbos", "sqlite", "side_dbos.py"),
    System("durablec-full", "sqlite", "side_durablec.py", {"DURABLEC_SQLITE_SYNCHRONOUS": "FULL"}),
    System("durablec", "sqlite", "side_durablec.py", {"DURABLEC_SQLITE_SYNCHRONOUS": "NORMAL"}),
    System("dbos", "postgresql", "side_dbos.py"),
    System("durablec", "postgresql", "side_durablec.py"),
)


@dataclass(frozen=True, slots=True)
class Plan:
    rounds: int
    steps: int
    blob_steps: int
    runs: int
    recover: tuple[int, ...]
    commits: int
    large: int
    """Steps of 1 MiB results in the large-payload recovery."""


FULL = Plan(rounds=3, steps=1000, blob_steps=500, runs=1000, recover=(1000, 10000), commits=1000,
            large=500)
QUICK = Plan(rounds=2, steps=200, blob_steps=200, runs=200, recover=(500, 2000), commits=200,
             large=100)


class Databases:
    """Fresh databases: SQLite files in a temp dir, PostgreSQL databases on one server."""

    def __init__(self, tmp: Path, pg: Any) -> None:
        self.tmp = tmp
        self.pg = pg

    def fresh(self, backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{self.tmp / (uuid.uuid4().hex + '.db')}"
        url: str = self.pg.create_database()
        return url

    def copy(self, backend: str, url: str) -> str:
        """A copy of a database as it was left (a killed run's journal), to resume in a round."""
        if backend == "sqlite":
            source = url.removeprefix("sqlite:///")
            target = str(self.tmp / (uuid.uuid4().hex + ".db"))
            for suffix in ("", "-wal", "-shm", "-journal"):
                if os.path.exists(source + suffix):
                    shutil.copyfile(source + suffix, target + suffix)
            return f"sqlite:///{target}"
        import psycopg

        name = "c_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.pg.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{url.rsplit("/", 1)[1]}"')
        return str(self.pg.url(name))


def spawn(argv: list[str], env: dict[str, str] | None = None, *, killed: bool = False) -> dict[str, Any]:
    """Run one measuring process; its BENCH-RESULT line, or {} for a process meant to die."""
    full_env = {**os.environ, **(env or {}), T0_ENV: repr(time.time())}
    # As installed software runs: with bytecode caches, which the first processes write (an
    # installed DBOS has them from pip; an editable durablec would otherwise compile its ~60
    # modules from source at every start, about 60 ms).
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    if killed:
        full_env[KILL_ENV] = "1"
    proc = subprocess.run([sys.executable, *argv], cwd=BENCH, env=full_env, capture_output=True,
                          text=True, timeout=1800)
    if killed:
        if proc.returncode != -9:
            raise SystemExit(f"bench: {argv} should have been killed by SIGKILL, exited "
                             f"{proc.returncode}:\n{proc.stderr[-3000:]}")
        return {}
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX):])
            return result
    raise SystemExit(f"bench: {' '.join(argv)} exited {proc.returncode} without a result:\n"
                     f"{proc.stderr[-3000:]}")


def side(system: System, case: str, n: int, url: str, build: Path, **kw: Any) -> dict[str, Any]:
    argv = [system.script, case, str(n), url]
    if system.script == "side_durablec.py":
        argv.append(str(build))
    return spawn(argv, system.env, **kw)


def rotated(items: list[System], by: int) -> list[System]:
    by %= len(items)
    return items[by:] + items[:by]


def measure_cases(plan: Plan, backends: list[str], dbs: Databases, build: Path,
                  figures: Figures) -> None:
    """Record the runs to recover, then every case in rounds, the floor in each round too."""
    systems = [s for s in SYSTEMS if s.backend in backends]
    snapshots: dict[tuple[str, str, int], str] = {}
    for system in systems:
        for n in plan.recover:
            url = dbs.fresh(system.backend)
            side(system, "crash", n, url, build, killed=True)
            snapshots[(system.key, system.backend, n)] = url
        url = dbs.fresh(system.backend)
        side(system, "crash_large", plan.large, url, build, killed=True)
        snapshots[(system.key, system.backend, -1)] = url
    for r in range(plan.rounds):
        print(f"bench: round {r + 1}/{plan.rounds}", file=sys.stderr, flush=True)
        figures.add("start", "-", "python", spawn(["child.py"])["start_s"])
        t = spawn(["side_durablec.py", "transparent", "100000", "-", str(build)])
        figures.add("transparent", "-", "baseline", t["baseline_us"])
        figures.add("transparent", "-", "compiled", t["compiled_us"])
        measure_floor(plan, backends, dbs, figures)
        measure_start(dbs.tmp, figures)
        for system in rotated(systems, r):
            b, k = system.backend, system.key
            figures.add("steps", b, k, side(system, "steps", plan.steps, dbs.fresh(b), build)
                        ["us_per_step"])
            figures.add("blobs", b, k, side(system, "blobs", plan.blob_steps, dbs.fresh(b), build)
                        ["us_per_step"])
            three = side(system, "three", plan.runs, dbs.fresh(b), build)
            figures.add("three", b, k, three["runs_per_s"])
            figures.add("rss_three", b, k, three["rss_mb"])
            for n in plan.recover:
                got = side(system, "recover", n, dbs.copy(b, snapshots[(k, b, n)]), build)
                figures.add(f"recover_total_{n}", b, k, got["total_s"])
                figures.add(f"recover_rate_{n}", b, k, got["steps_per_s"])
                if "replay_s" in got:
                    figures.add(f"recover_replay_{n}", b, k, got["replay_s"])
                figures.add(f"rss_recover_{n}", b, k, got["rss_mb"])
            got = side(system, "recover_large", plan.large, dbs.copy(b, snapshots[(k, b, -1)]),
                       build)
            figures.add("recover_large", b, k, got["total_s"])
            figures.add("rss_recover_large", b, k, got["rss_mb"])


FLOORS = (
    ("sqlite", "WAL", "NORMAL"),
    ("sqlite", "WAL", "FULL"),
    ("sqlite", "DELETE", "FULL"),
    ("postgresql", "-", "-"),
)


WORKER_TASKS = """
import asyncio

import durablec


async def download(url: str) -> bytes:
    await asyncio.sleep(0)
    return url.encode()


@durablec.task(id="fetch", retry=durablec.Retry.exponential(max_attempts=3))
async def fetch(urls: list[str]) -> int:
    total = 0
    for url in urls:
        total += len(await download(url))
    return total


@durablec.task(id="pipeline")
async def pipeline(n: int) -> list[int]:
    parts = await asyncio.gather(*(asyncio.sleep(0, i) for i in range(n)))
    await durablec.sleep(0)
    return list(parts)
"""
"""What the worker-start row's worker serves: a small module of ordinary tasks."""


def measure_start(tmp: Path, figures: Figures) -> None:
    """A worker's start as a deployment sees it, with ``PYTHONDONTWRITEBYTECODE=1`` (no
    ``__pycache__`` writes): ``durablec worker tasks.py:steps --until-idle`` on an empty journal,
    from spawn to exit. The first start of a round compiles the tasks into a fresh cache
    (cold); the second finds them there (warm). ``-X importtime`` on a third, warm start tells
    whether LibCST was loaded at all; it is not timed (it slows every import)."""
    work = Path(tempfile.mkdtemp(dir=tmp, prefix="start-"))
    (work / "tasks.py").write_text(WORKER_TASKS)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "DURABLEC_CACHE_DIR": str(work / "cache"),
           "DURABLEC_DATABASE_URL": f"sqlite:///{work / 'j.db'}"}
    argv = [sys.executable, "-m", "durablec", "worker", "tasks.py:fetch", "tasks.py:pipeline",
            "--until-idle"]
    for label in ("worker_start_cold", "worker_start_warm"):
        started = time.perf_counter()
        subprocess.run(argv, cwd=work, env=env, check=True, capture_output=True)
        figures.add(label, "-", "durablec", time.perf_counter() - started)
    traced = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], cwd=work, env=env,
                            check=True, capture_output=True, text=True)
    figures.add("worker_start_libcst", "-", "durablec", float("libcst" in traced.stderr))


def measure_floor(plan: Plan, backends: list[str], dbs: Databases, figures: Figures) -> None:
    """One round of the raw floor: measured in every round, beside the cases it bounds."""
    for backend, mode, sync in FLOORS:
        if backend not in backends:
            continue
        setting = f"{mode}/{sync}" if backend == "sqlite" else "sync_commit=on"
        for rows, commits in ((1, plan.commits), (100, max(10, plan.commits // 20))):
            url = dbs.fresh(backend)
            target = url.removeprefix("sqlite:///") if backend == "sqlite" else url
            got = spawn(["floor.py", backend, target, mode, sync, str(rows), str(commits)])
            figures.add(f"floor_{rows}", backend, setting, got["us_per_commit"])


@contextmanager
def postgres(wanted: bool) -> Iterator[Any]:
    if not wanted:
        yield None
        return
    from tests.pg import PostgresServer, _bindir

    bindir = _bindir()
    if bindir is None:
        raise SystemExit("bench: PostgreSQL server binaries (initdb, pg_ctl) are not installed; "
                         "install them or pass --backends sqlite")
    server = PostgresServer(bindir, fsync=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def compile_tasks(out: Path) -> None:
    """Build bench/durable_tasks.py ahead of time, as a deployment would."""
    from durablec.compiler.build import build

    report = build([BENCH / "durable_tasks.py"], out)
    if report.errors or report.refused:
        raise SystemExit(f"bench: bench/durable_tasks.py did not compile: {report.errors or report.refused}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and smaller runs")
    parser.add_argument("--rounds", type=int, help="rounds per case (default 3, quick 2)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--plot", type=Path, help="also draw the PNG of docs/performance.md")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if args.rounds:
        plan = Plan(args.rounds, plan.steps, plan.blob_steps, plan.runs, plan.recover, plan.commits,
                    plan.large)
    backends = args.backends.split(",")
    figures = Figures()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="durablec-bench-") as tmp, postgres(
        "postgresql" in backends
    ) as pg:
        build = Path(tmp) / "build"
        compile_tasks(build)
        dbs = Databases(Path(tmp), pg)
        measure_cases(plan, backends, dbs, build, figures)
    print_table(figures, plan.recover, backends, plan)
    print(f"\n{plan.rounds} rounds, {time.perf_counter() - started:.0f} s; python "
          f"{sys.version.split()[0]}, {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps(figures.as_json(), indent=1))
    if args.plot:
        from plot import draw

        draw(figures, args.plot)


if __name__ == "__main__":
    main()
