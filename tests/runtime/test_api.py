"""The public authoring API: its names are pinned and its typing serves mypy --strict users."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import durablec

ROOT = Path(__file__).resolve().parents[2]


def test_public_names_are_pinned() -> None:
    assert sorted(durablec.__all__) == [
        "Client", "Handle", "Queue", "Retry", "RunInfo", "Task", "__version__", "arun",
        "idempotency_key",
        "now", "random", "resource", "run", "send_event", "sleep", "step", "task", "uuid4", "wait_for_event",
    ]
    for name in durablec.__all__:
        assert hasattr(durablec, name), name


def test_user_code_typechecks_under_mypy_strict() -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         str(Path(__file__).parent / "typed_usage" / "user_code.py")],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_wrong_argument_types_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import durablec\n\n"
        "@durablec.task\n"
        "async def f(n: int) -> int:\n"
        "    return n\n\n"
        "async def g() -> None:\n"
        "    x: str = await f(1)\n"
        "    f.trigger('one')\n"
    )
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(bad)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert checked.returncode == 1
    assert "bad.py:8" in checked.stdout and "bad.py:9" in checked.stdout


def test_runtime_does_not_import_the_compiler() -> None:
    probe = ("import sys, durablec.runtime.client, durablec.runtime.worker; "
             "print(any(m.startswith(('libcst', 'durablec.compiler')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
