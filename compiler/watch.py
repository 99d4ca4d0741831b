"""Rebuild on change: ``durablec build --watch``.

watchdog reports file events from a background thread; this module folds each burst of them (an
editor's save is often a write, a rename and a chmod) into one incremental :func:`build`, which
rebuilds what changed, removes outputs whose source was deleted and leaves the rest alone thanks
to the manifest. Errors are handed to callbacks and watching goes on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from durablec.compiler.build import BuildReport, build
from durablec.errors import DurablecError

__all__ = ["watch"]

# Events that change content; watchdog also reports opens and closes, which our own reads cause.
_CHANGES = frozenset({"created", "modified", "deleted", "moved"})


class _Handler(FileSystemEventHandler):
    """Sets ``changed`` on every event that may alter the build's input."""

    def __init__(self, changed: threading.Event, out: Path, only: Path | None) -> None:
        self._changed = changed
        self._out = out
        self._only = only

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _CHANGES or (event.is_directory and event.event_type == "modified"):
            return
        for raw in (event.src_path, event.dest_path):
            if raw and self._relevant(Path(os.fsdecode(raw))):
                self._changed.set()
                return

    def _relevant(self, path: Path) -> bool:
        if self._only is not None:
            return path == self._only
        if path == self._out or self._out in path.parents:
            return False
        return not any(part.startswith(".") or part == "__pycache__" for part in path.parts)


def watch(
    paths: Sequence[str],
    out: Path,
    *,
    lint: bool,
    jobs: int | None,
    on_report: Callable[[BuildReport], None],
    on_error: Callable[[DurablecError], None],
    stop: threading.Event,
    on_ready: Callable[[], None] = lambda: None,
    debounce: float = 0.025,
) -> None:
    """Build ``paths`` into ``out`` now and after every change, until ``stop`` is set.

    ``on_ready`` is called once changes are being observed. A rebuild starts once ``debounce``
    seconds pass without a new event. A DurablecError from the first build (a missing path)
    propagates; later ones go to ``on_error``.
    """
    changed = threading.Event()
    observer = Observer()
    out_resolved = out.resolve()

    def rebuild() -> None:
        try:
            report = build(paths, out, lint=lint, jobs=jobs)
        except DurablecError as error:
            on_error(error)
        else:
            on_report(report)

    # The first build runs before the observer's threads start, so it may still fork workers.
    on_report(build(paths, out, lint=lint, jobs=jobs))
    for given in paths:
        path = Path(given).resolve()
        if path.is_dir():
            observer.schedule(_Handler(changed, out_resolved, None), str(path), recursive=True)
        else:
            # A single file is watched through its directory: editors replace files on save.
            observer.schedule(_Handler(changed, out_resolved, path), str(path.parent), recursive=False)
    observer.start()
    on_ready()
    try:
        while not stop.is_set():
            if not changed.wait(0.2):
                continue
            changed.clear()
            while not stop.wait(debounce) and changed.is_set():
                changed.clear()
            if not stop.is_set():
                rebuild()
    finally:
        observer.stop()
        observer.join()
