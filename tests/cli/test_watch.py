"""``durablec build --watch`` as a real subprocess driven through the filesystem."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from durablec.compiler.pipeline import compile_source

TASKS = "async def fetch(x):\n    return x\n\n\nasync def main():\n    return await fetch(1)\n"
# Generous: the machine is shared. Only a hang fails the test; no duration is asserted.
DEADLINE = 120.0


class Watcher:
    """A running ``durablec build --watch`` whose stderr goes to a file we can read at any time."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.log = cwd / "watch.log"
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "durablec", "build", "pkg", "-o", "out", "--watch"],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
        )

    def stderr(self) -> str:
        return self.log.read_text()

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + DEADLINE
        while not condition():
            assert self.process.poll() is None, f"watch exited ({self.process.returncode}): {self.stderr()}"
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what}; stderr so far:\n{self.stderr()}")
            time.sleep(0.05)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log_file.close()


@pytest.fixture
def watcher(tmp_path: Path) -> Iterator[Watcher]:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "tasks.py").write_text(TASKS)
    running = Watcher(tmp_path)
    yield running
    running.close()


def compiled(text: str) -> str:
    return compile_source(text, "pkg/tasks.py", lint=False).code


def read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def test_watch_rebuilds_edits_removes_deletions_and_survives_errors(watcher: Watcher, tmp_path: Path) -> None:
    source = tmp_path / "pkg" / "tasks.py"
    output = tmp_path / "out" / "pkg" / "tasks.py"
    watcher.wait_until(lambda: "watching pkg" in watcher.stderr(), "the watcher to start")
    assert read(output) == compiled(TASKS)

    edited = TASKS + "\n\nasync def more():\n    return await main()\n"
    source.write_text(edited)
    watcher.wait_until(lambda: read(output) == compiled(edited), "the edited file to be rebuilt")

    extra = tmp_path / "pkg" / "extra.py"
    extra.write_text(TASKS)
    watcher.wait_until(lambda: read(tmp_path / "out" / "pkg" / "extra.py") == compiled(TASKS), "a new file")
    extra.unlink()
    watcher.wait_until(lambda: not (tmp_path / "out" / "pkg" / "extra.py").exists(), "a deleted file's output to go")

    source.write_text("async def broken(:\n")
    watcher.wait_until(lambda: "pkg/tasks.py:1:" in watcher.stderr(), "the syntax error on stderr")
    assert watcher.process.poll() is None
    assert read(output) == compiled(edited)  # the last good output stays

    source.write_text(TASKS)
    watcher.wait_until(lambda: read(output) == compiled(TASKS), "the fixed file to be rebuilt")

    watcher.process.send_signal(signal.SIGTERM)
    assert watcher.process.wait(timeout=DEADLINE) == 0


def test_ctrl_c_stops_watching_with_status_0(watcher: Watcher) -> None:
    watcher.wait_until(lambda: "watching pkg" in watcher.stderr(), "the watcher to start")
    watcher.process.send_signal(signal.SIGINT)
    assert watcher.process.wait(timeout=DEADLINE) == 0
    assert "stopped watching" in watcher.stderr()
