"""Transparency on code nobody here wrote (SPEC 3.6): a third-party async library and its own test
suite, compiled, behave exactly like the source outside a durable run.

asyncstdlib is pure Python, ships its suite in its sdist, and awaits in every shape the compiler
rewrites: async generators, ``async for``, ``async with``, awaits in comprehensions. Its suite
drives coroutines with its own small event loop, so it also checks that the checkpoint wrappers
pass through awaitables that are not asyncio's. The library and its tests are both compiled, and
every test that passes on the source must pass on the compiled copy, built with
``durablec build --no-lint``.

The sdist is downloaded once into ``build/transparency-cache/`` (git-ignored) and reused.
"""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "build" / "transparency-cache"

PACKAGE = "asyncstdlib"
VERSION = "3.14.0"
SDIST_SHA256 = "f99396992a3bba7495d8cf6c832bfe8c8727f61213233d3569a5a9cbd1c04385"
COMPILED_DIRS = ("asyncstdlib", "unittests")

# A suite that collects far fewer tests than this one ships (402) is broken, not transparent.
MIN_PASSING = 300

pytestmark = pytest.mark.slow


def _sdist_tree() -> Path:
    """The unpacked sdist, downloaded on first use with pip and checked against the pinned hash."""
    dest = CACHE / f"{PACKAGE}-{VERSION}"
    if dest.is_dir():
        return dest
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        work = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
             "-d", str(work), f"{PACKAGE}=={VERSION}"],
            check=True,
        )
        archive = work / f"{PACKAGE}-{VERSION}.tar.gz"
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        assert digest == SDIST_SHA256, f"{archive.name}: sha256 {digest}, pinned {SDIST_SHA256}"
        with tarfile.open(archive) as tf:
            tf.extractall(work / "x", filter="data")
        try:
            # Atomic: a concurrent run sees the whole tree or none of it.
            os.replace(work / "x" / f"{PACKAGE}-{VERSION}", dest)
        except OSError:
            if not dest.is_dir():
                raise
    return dest


def _awaits(source: str) -> bool:
    return any(
        isinstance(node, ast.Await | ast.AsyncFor | ast.AsyncWith)
        for node in ast.walk(ast.parse(source))
    )


def _build(plain: Path, compiled: Path) -> tuple[int, int]:
    """Compile the library and its suite with ``durablec build --no-lint``, as a user would.

    Returns (modules that await, checkpoint calls in the output), and fails if a module that
    awaits came out unchanged, so the comparison can never pass on an uncompiled copy.
    """
    subprocess.run(
        [sys.executable, "-m", "durablec", "build", "--no-lint", "-o", str(compiled),
         *(str(plain / top) for top in COMPILED_DIRS)],
        check=True,
    )
    shutil.copy2(plain / "pyproject.toml", compiled)  # the suite's pytest configuration
    awaiting = ckpts = 0
    for top in COMPILED_DIRS:
        for path in sorted((plain / top).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            code = (compiled / path.relative_to(plain)).read_text(encoding="utf-8")
            if _awaits(source):
                awaiting += 1
                assert code != source and "__dc_" in code, f"{path.name}: awaits were not rewritten"
            ckpts += code.count("__dc_ckpt__(")
    return awaiting, ckpts


def _run_suite(tree: Path) -> tuple[dict[str, str], str]:
    """Run the library's suite on ``tree`` in a fresh interpreter: outcome per test id, and
    pytest's output for the failure message."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env["PYTHONPATH"] = str(tree)
    where = subprocess.run(
        [sys.executable, "-c", f"import {PACKAGE}; print({PACKAGE}.__file__)"],
        cwd=tree, env=env, check=True, capture_output=True, text=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(tree), where.stdout

    junit = tree / "junit.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tree),
         f"--junitxml={junit}", "unittests"],
        cwd=tree, env=env, capture_output=True, text=True,
    )
    # 0 all passed, 1 some failed; anything else (usage, internal error, nothing collected) means
    # the run itself broke.
    assert done.returncode in (0, 1), done.stdout + done.stderr

    outcomes: dict[str, str] = {}
    for case in ET.parse(junit).iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            outcomes[test_id] = "failed"
        elif "skipped" in tags:
            outcomes[test_id] = "skipped"
        else:
            outcomes[test_id] = "passed"
    return outcomes, done.stdout


def test_compiled_library_passes_its_own_suite(tmp_path: Path) -> None:
    sdist = _sdist_tree()
    plain, compiled = tmp_path / "plain", tmp_path / "compiled"
    shutil.copytree(sdist, plain)
    awaiting, ckpts = _build(plain, compiled)
    assert awaiting >= 10 and ckpts >= 100, (awaiting, ckpts)

    before, _ = _run_suite(plain)
    after, report = _run_suite(compiled)
    passed_before = {t for t, o in before.items() if o == "passed"}
    passed_after = {t for t, o in after.items() if o == "passed"}
    print(
        f"{PACKAGE} {VERSION}: {awaiting} modules with awaits, {ckpts} checkpoint calls; "
        f"passed {len(passed_before)}/{len(before)} uncompiled, "
        f"{len(passed_after)}/{len(after)} compiled"
    )

    assert len(passed_before) >= MIN_PASSING, before
    lost = sorted(passed_before - passed_after)
    assert not lost, f"pass uncompiled but not compiled: {lost}\n{report}"
