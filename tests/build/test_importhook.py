"""Compile-on-import on real temporary packages, in this process and in fresh subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from durablec.compiler.build import build
from durablec.compiler.importhook import NO_COMPILE_MARKER, install, load_target
from durablec.runtime.abi import ABI_VERSION
from durablec.errors import FindingsError, UsageError

TASKS = '''\
import builtins

builtins.durablec_test_runs = getattr(builtins, "durablec_test_runs", 0) + 1


async def fetch(x):
    return x


async def boom():
    value = await fetch(41)
    raise ValueError(value + 1)
'''


@pytest.fixture
def clean_modules() -> Iterator[None]:
    """Forget the modules, sys.path entries and import hooks a test added, so tests stay independent."""
    before_modules = set(sys.modules)
    before_path = list(sys.path)
    before_meta_path = list(sys.meta_path)
    yield
    for name in set(sys.modules) - before_modules:
        del sys.modules[name]
    sys.path[:] = before_path
    sys.meta_path[:] = before_meta_path


def make_package(root: Path, name: str = "jobs") -> Path:
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "tasks.py").write_text(TASKS)
    return pkg


def child_env() -> dict[str, str]:
    """The environment of a subprocess that may write bytecode caches."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def test_a_module_under_a_root_is_compiled_and_keeps_its_source_location(
    tmp_path: Path, clean_modules: None
) -> None:
    pkg = make_package(tmp_path, "jobs_location")
    sys.path.insert(0, str(tmp_path))
    with install([tmp_path], lint=False) as hook:
        import jobs_location.tasks as tasks  # type: ignore[import-not-found]  # created by this test
    assert hook.compiled == 2
    assert tasks.__file__ == str(pkg / "tasks.py")
    with pytest.raises(ValueError) as caught:
        asyncio.run(tasks.boom())
    frame = traceback.extract_tb(caught.value.__traceback__)[-1]
    assert (frame.filename, frame.lineno, frame.line) == (str(pkg / "tasks.py"), 12, "raise ValueError(value + 1)")


def test_awaits_of_an_imported_module_are_rewritten(tmp_path: Path, clean_modules: None) -> None:
    make_package(tmp_path, "jobs_rewritten")
    sys.path.insert(0, str(tmp_path))
    with install([tmp_path], lint=False):
        import jobs_rewritten.tasks as tasks  # type: ignore[import-not-found]  # created by this test
    assert "__dc_ckpt__" in tasks.boom.__code__.co_names


def test_a_fresh_process_imports_from_the_cache(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    script = (
        "import json, sys\n"
        "from durablec.compiler.importhook import install\n"
        f"hook = install([{str(tmp_path)!r}], lint=False)\n"
        "import jobs.tasks\n"
        "print(json.dumps([hook.compiled, hook.cache_hits, 'libcst' in sys.modules]))\n"
    )

    def run() -> list[object]:
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=tmp_path, env=child_env(), capture_output=True, text=True, check=True
        )
        result: list[object] = json.loads(done.stdout)
        return result

    assert run()[:2] == [2, 0]
    # The child writes bytecode, so its cache is beside the source.
    cached = (pkg / "__pycache__"
              / f"tasks.{sys.implementation.cache_tag}.durablec-0.1.0-abi{ABI_VERSION}.pyc")
    assert cached.is_file()
    assert run() == [0, 2, False]
    (pkg / "tasks.py").write_text(TASKS + "\n# changed\n")
    assert run()[:2] == [1, 1]


def test_without_bytecode_writes_the_cache_lives_in_durablecs_own_directory(tmp_path: Path) -> None:
    """PYTHONDONTWRITEBYTECODE (containers, this project's CI) must not make every worker start
    compile its tasks and load libcst: the cache moves out of the source tree instead."""
    pkg = make_package(tmp_path, "jobs_nobytecode")
    cache = tmp_path / "cache"
    script = (
        "import json, sys\n"
        "from durablec.compiler.importhook import install\n"
        f"hook = install([{str(tmp_path)!r}], lint=False)\n"
        "import jobs_nobytecode.tasks\n"
        "print(json.dumps([hook.compiled, hook.cache_hits, 'libcst' in sys.modules]))\n"
    )
    env = {**child_env(), "PYTHONDONTWRITEBYTECODE": "1", "DURABLEC_CACHE_DIR": str(cache)}

    def run() -> list[object]:
        done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                              capture_output=True, text=True, check=True)
        result: list[object] = json.loads(done.stdout)
        return result

    assert run()[:2] == [2, 0]
    assert run() == [0, 2, False]
    assert not (pkg / "__pycache__").exists()
    assert len(list(cache.glob("*.durablec-*.pyc"))) == 2


def test_a_change_to_the_compiler_invalidates_the_import_cache(tmp_path: Path) -> None:
    make_package(tmp_path)

    def run(fingerprint: str | None) -> list[int]:
        patch = (
            f"importhook.compiler_fingerprint = lambda: {fingerprint!r}\n" if fingerprint else ""
        )
        script = (
            "import json\n"
            "from durablec.compiler import importhook\n"
            + patch
            + f"hook = importhook.install([{str(tmp_path)!r}], lint=False)\n"
            "import jobs.tasks\n"
            "print(json.dumps([hook.compiled, hook.cache_hits]))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=tmp_path, env=child_env(), capture_output=True, text=True, check=True
        )
        result: list[int] = json.loads(done.stdout)
        return result

    assert run(None) == [2, 0]
    assert run(None) == [0, 2]
    assert run("an edited compiler") == [2, 0]


def test_no_cache_is_written_when_bytecode_writing_is_off(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    env = child_env() | {"PYTHONDONTWRITEBYTECODE": "1"}
    code = f"from durablec.compiler.importhook import install; install([{str(tmp_path)!r}]); import jobs.tasks"
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True)
    assert not (pkg / "__pycache__").exists()


def test_an_unwritable_cache_is_ignored(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    (pkg / "__pycache__").write_text("a file where the cache directory would go")
    code = (
        f"from durablec.compiler.importhook import install; h = install([{str(tmp_path)!r}], lint=False)\n"
        "import jobs.tasks; print(h.compiled)"
    )
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, env=child_env(), capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == "2"


def test_the_opt_out_marker_imports_a_module_untouched(tmp_path: Path, clean_modules: None) -> None:
    pkg = make_package(tmp_path, "jobs_optout")
    (pkg / "tasks.py").write_text(f"{NO_COMPILE_MARKER}\n{TASKS}")
    sys.path.insert(0, str(tmp_path))
    with install([tmp_path], lint=False) as hook:
        import jobs_optout.tasks as tasks  # type: ignore[import-not-found]  # created by this test
    assert hook.compiled == 1  # the package's __init__ only
    assert "__dc_ckpt__" not in tasks.boom.__code__.co_names


def test_a_prebuilt_module_is_imported_as_it_is(tmp_path: Path, clean_modules: None) -> None:
    (tmp_path / "src").mkdir()
    make_package(tmp_path / "src", "jobs_prebuilt")
    out = tmp_path / "out"
    assert build([tmp_path / "src" / "jobs_prebuilt"], out, lint=False).ok
    sys.path.insert(0, str(out))
    with install([out], lint=False) as hook:
        import jobs_prebuilt.tasks as tasks  # type: ignore[import-not-found]  # created by this test
    assert hook.compiled == 1  # the empty __init__ has no prelude; tasks.py has one and is left alone
    assert "__dc_ckpt__" in tasks.boom.__code__.co_names


def test_uninstall_stops_compiling(tmp_path: Path, clean_modules: None) -> None:
    make_package(tmp_path, "jobs_uninstalled")
    sys.path.insert(0, str(tmp_path))
    hook = install([tmp_path], lint=False)
    hook.uninstall()
    import jobs_uninstalled.tasks as tasks  # type: ignore[import-not-found]  # created by this test
    assert hook.compiled == 0 and hook not in sys.meta_path
    assert "__dc_ckpt__" not in tasks.boom.__code__.co_names


def test_a_file_target_inside_a_package_is_imported_under_its_dotted_name(
    tmp_path: Path, clean_modules: None
) -> None:
    pkg = make_package(tmp_path, "jobs_file_target")
    boom = load_target(f"{pkg / 'tasks.py'}:boom", lint=False)
    assert getattr(boom, "__module__", None) == "jobs_file_target.tasks"
    assert "__dc_ckpt__" in getattr(boom, "__code__").co_names


def test_a_module_target_is_found_from_the_current_directory(
    tmp_path: Path, clean_modules: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_package(tmp_path, "jobs_module_target")
    monkeypatch.chdir(tmp_path)
    fetch = load_target("jobs_module_target.tasks:fetch", lint=False)
    assert asyncio.run(getattr(fetch, "__call__")(5)) == 5
    assert "__dc_ckpt__" in load_target("jobs_module_target.tasks:boom").__code__.co_names  # type: ignore[attr-defined]  # a function


@pytest.mark.parametrize(
    "target, message",
    [
        ("no_colon", "target 'no_colon': expected path/to/file.py:name or package.module:name"),
        ("jobs_bad/tasks.py:", "expected path/to/file.py:name or package.module:name"),
        ("jobs_bad/nope.py:f", "target 'jobs_bad/nope.py:f': no such file 'jobs_bad/nope.py'; check the path"),
        ("jobs_bad/data.txt:f", "target 'jobs_bad/data.txt:f': 'jobs_bad/data.txt' is not a .py file"),
        ("jobs_bad.nope:f", "target 'jobs_bad.nope:f': no module named 'jobs_bad.nope'"),
        ("jobs_nowhere.tasks:f", "target 'jobs_nowhere.tasks:f': no module named 'jobs_nowhere'"),
        ("jobs_bad.tasks:nope", "target 'jobs_bad.tasks:nope': module 'jobs_bad.tasks' ("),
        ("jobs_bad/tasks.py:nope", "has no attribute 'nope'; check the function's name"),
    ],
)
def test_bad_targets_are_named_in_the_error(
    tmp_path: Path, clean_modules: None, monkeypatch: pytest.MonkeyPatch, target: str, message: str
) -> None:
    pkg = make_package(tmp_path, "jobs_bad")
    (pkg / "data.txt").write_text("")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as caught:
        load_target(target)
    assert message in str(caught.value)


CLOCK = "import time\n\n\nasync def stamp():\n    return time.time()\n"


def test_the_lint_gate_refuses_a_module_with_findings(tmp_path: Path, clean_modules: None) -> None:
    pkg = make_package(tmp_path, "jobs_gate")
    (pkg / "clock.py").write_text(CLOCK)
    sys.path.insert(0, str(tmp_path))
    with install([tmp_path]), pytest.raises(FindingsError) as caught:
        import jobs_gate.clock  # type: ignore[import-not-found]  # noqa: F401  # created by this test
    message = str(caught.value)
    assert message.startswith(f"{pkg / 'clock.py'}: not imported, 1 determinism finding(s): {pkg / 'clock.py'}:5:12: DC101")
    assert "\n" not in message
    with install([tmp_path], lint=False) as hook:
        import jobs_gate.clock as clock  # type: ignore[import-not-found]  # created by this test
    assert hook.compiled == 1 and clock.stamp


def test_the_projects_lint_configuration_applies_on_import(tmp_path: Path, clean_modules: None) -> None:
    pkg = make_package(tmp_path, "jobs_configured")
    (pkg / "clock.py").write_text(CLOCK)
    (tmp_path / "pyproject.toml").write_text('[tool.durablec]\nignore = ["DC101"]\n')
    sys.path.insert(0, str(tmp_path))
    with install([tmp_path]):
        import jobs_configured.clock as clock  # type: ignore[import-not-found]  # created by this test
    assert clock.stamp.__module__ == "jobs_configured.clock"  # imported, not refused
