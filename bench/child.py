"""What every measuring process shares: its result line and its peak memory.

A child process prints exactly one line starting with ``BENCH-RESULT`` (JSON) on stdout; the
orchestrator ignores everything else a library may print.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import time
from typing import Any

RESULT_PREFIX = "BENCH-RESULT "
T0_ENV = "BENCH_T0"
"""Wall-clock time (time.time()) at which the orchestrator spawned this process."""


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def since_spawn() -> float:
    """Seconds since the orchestrator spawned this process (interpreter start included)."""
    return time.time() - float(os.environ[T0_ENV])


def steady() -> None:
    """Collect, then freeze what exists (the imports, the warm-up): the timed part of a case
    then never pays the process's first full collection over its import-time objects, a
    one-off pause of about 12 ms whose moment depends on how much each library allocates while
    importing (so it fell inside one system's timing and not the other's). Every system's
    timed cases call this after their warm-up; the recovery cases do not (they time the whole
    process)."""
    gc.collect()
    gc.freeze()


def emit(**values: Any) -> None:
    values["rss_mb"] = peak_rss_mb()
    print(RESULT_PREFIX + json.dumps(values), flush=True)


if __name__ == "__main__":
    # Interpreter start alone: what "plus interpreter start" in the recovery target refers to.
    emit(start_s=since_spawn())
