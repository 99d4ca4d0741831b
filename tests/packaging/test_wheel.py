"""The built wheel and the installed environment expose one import name: ``durablec``.

pyproject maps ``compiler/`` and ``runtime/`` into ``durablec`` with an explicit ``packages``
list, so a new subpackage that nobody adds to the list silently vanishes from the wheel. These
tests build the wheel for real and compare it with the source trees.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Source tree -> where its files land in the wheel.
TREES = {
    ROOT / "src" / "durablec": "durablec",
    ROOT / "compiler": "durablec/compiler",
    ROOT / "runtime": "durablec/runtime",
}

# Not part of the sdist's inputs, and large or owned by other processes (the dev virtualenv).
_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "*.db*"
)


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """File names inside a wheel built from a copy of the checkout (so no build/ or egg-info
    lands in the working tree that other processes use)."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    shutil.copytree(ROOT, src, ignore=_NOT_COPIED)
    out = base / "out"
    # No build isolation: setuptools comes from the dev extra, so the build needs no network.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(src)],
        check=True,
    )
    (wheel,) = out.glob("durablec-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def test_wheel_has_one_top_level_name(wheel_names: set[str]) -> None:
    top = {name.split("/", 1)[0] for name in wheel_names}
    dist_info = {t for t in top if t.endswith(".dist-info")}
    assert len(dist_info) == 1
    assert top - dist_info == {"durablec"}


def test_wheel_holds_every_source_file(wheel_names: set[str]) -> None:
    expected: set[str] = set()
    for tree, prefix in TREES.items():
        for path in tree.rglob("*"):
            if path.suffix in {".py", ".pyi"} and "__pycache__" not in path.parts:
                expected.add(f"{prefix}/{path.relative_to(tree).as_posix()}")
    # The trees are never empty; an empty set would make the check pass on nothing.
    assert "durablec/runtime/abi.py" in expected
    assert "durablec/compiler/pipeline.py" in expected
    missing = sorted(expected - wheel_names)
    assert not missing, f"not in the wheel (add their package to pyproject's `packages`): {missing}"


def test_wheel_is_typed(wheel_names: set[str]) -> None:
    assert "durablec/py.typed" in wheel_names


def _run_isolated(code: str, cwd: Path) -> str:
    """Run ``code`` in a fresh interpreter of this environment, from a directory outside the
    checkout: ``-I`` keeps the current directory and PYTHONPATH off ``sys.path``, so only what is
    installed can be imported."""
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=cwd, check=True, capture_output=True, text=True
    )
    return done.stdout


def test_runtime_does_not_load_libcst(tmp_path: Path) -> None:
    out = _run_isolated(
        "import sys\n"
        "import durablec.runtime, durablec.runtime.abi\n"
        "print(sorted(m for m in sys.modules if m == 'libcst' or m.startswith('libcst.')))\n"
        # Proves the check can see libcst at all in this environment.
        "import libcst\n"
        "print('libcst' in sys.modules)\n",
        tmp_path,
    )
    assert out.splitlines() == ["[]", "True"]


def test_resume_and_the_cli_load_no_orm_or_pydantic(tmp_path: Path) -> None:
    """Resuming a run, a worker and the read commands use the Core tables: SQLModel's ORM and
    pydantic cost about 0.1 s of every start (issue: a fast CLI and resume)."""
    out = _run_isolated(
        "import sys\n"
        "import durablec.runtime.runner, durablec.runtime.worker, durablec._cli_runs\n"
        "from durablec.runtime.store import Journal\n"
        "Journal('sqlite://').close()\n"
        "print(sorted({m.split('.')[0] for m in sys.modules}\n"
        "             & {'sqlmodel', 'pydantic', 'pydantic_core', 'sqlalchemy'}))\n"
        "import durablec.models\n"
        "print('sqlmodel' in sys.modules and 'pydantic' in sys.modules)\n",
        tmp_path,
    )
    # SQLAlchemy is loaded (the check sees modules), the ORM layers are not.
    assert out.splitlines() == ["['sqlalchemy']", "True"]


@pytest.mark.parametrize("name", ["compiler", "runtime"])
def test_no_top_level_compiler_or_runtime(name: str, tmp_path: Path) -> None:
    out = _run_isolated(
        "import importlib.util\n"
        f"print(importlib.util.find_spec({name!r}))\n"
        f"print(importlib.util.find_spec('durablec.{name}') is not None)\n",
        tmp_path,
    )
    assert out.splitlines() == ["None", "True"]
