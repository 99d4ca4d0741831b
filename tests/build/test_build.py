"""The build API on real temporary trees: mirroring, encodings, the manifest cache, --check, jobs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from durablec.compiler import build as build_module
from durablec.compiler import fingerprint
from durablec.compiler.build import MANIFEST_NAME, build, decode_source
from durablec.compiler.pipeline import compile_source
from durablec.errors import ConfigError, UsageError

TASKS = "import asyncio\n\n\nasync def fetch(x):\n    return x\n\n\nasync def main():\n    y = await fetch(1)\n    return y\n"


def expected(source: Path, display: str = "x.py") -> bytes:
    """What a build must write for ``source``: compile_source's code in the source's encoding."""
    data = source.read_bytes()
    text, encoding = decode_source(data)
    code = compile_source(text, display, lint=False).code
    return data if code == text else code.encode(encoding)


def make_package(root: Path) -> Path:
    pkg = root / "shop"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "tasks.py").write_text(TASKS)
    (pkg / "plain.py").write_text("X = 1\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "more.py").write_text(TASKS.replace("fetch", "load"))
    (pkg / "sub" / "schema.json").write_text('{"a": 1}\n')
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "tasks.cpython-311.pyc").write_bytes(b"junk")
    (pkg / ".hidden.py").write_text("async def f():\n    await g()\n")
    (pkg / ".git").mkdir()
    (pkg / ".git" / "config").write_text("x")
    return pkg


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_package_is_mirrored_with_python_compiled_and_data_copied(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    out = tmp_path / "out"
    report = build([pkg], out)
    assert report.ok
    built = files_under(out)
    assert sorted(built) == [
        MANIFEST_NAME,
        "shop/__init__.py",
        "shop/plain.py",
        "shop/sub/__init__.py",
        "shop/sub/more.py",
        "shop/sub/schema.json",
        "shop/tasks.py",
    ]
    for rel in ("tasks.py", "plain.py", "sub/more.py", "sub/schema.json"):
        want = expected(pkg / rel) if rel.endswith(".py") else (pkg / rel).read_bytes()
        assert built[f"shop/{rel}"] == want, rel
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_a_single_file_lands_at_out_slash_its_name(tmp_path: Path) -> None:
    source = tmp_path / "jobs.py"
    source.write_text(TASKS)
    out = tmp_path / "out"
    assert build([source], out).ok
    assert (out / "jobs.py").read_bytes() == expected(source)


def test_the_output_directory_inside_the_tree_is_skipped(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    out = pkg / "build"
    assert build([pkg], out).ok
    assert build([pkg], out).ok
    assert not (out / "shop" / "build").exists()


def test_encoding_and_newlines_are_kept(tmp_path: Path) -> None:
    pkg = tmp_path / "enc"
    pkg.mkdir()
    latin = "# -*- coding: latin-1 -*-\r\nasync def f(g):\r\n    s = 'caf\u00e9'\r\n    return await g(s)\r\n"
    (pkg / "latin.py").write_bytes(latin.encode("latin-1"))
    (pkg / "bom.py").write_bytes(b"\xef\xbb\xbf" + TASKS.replace("\n", "\r\n").encode())
    out = tmp_path / "out"
    assert build([pkg], out).ok
    latin_out = (out / "enc" / "latin.py").read_bytes()
    assert latin_out == expected(pkg / "latin.py")
    assert b"caf\xe9" in latin_out
    assert b"\n" not in latin_out.replace(b"\r\n", b"")
    bom_out = (out / "enc" / "bom.py").read_bytes()
    assert bom_out.startswith(b"\xef\xbb\xbf")
    assert bom_out == expected(pkg / "bom.py")
    assert b"\n" not in bom_out.replace(b"\r\n", b"")


def test_an_unchanged_tree_rebuilds_without_compiling(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    out = tmp_path / "out"
    first = build([pkg], out)
    assert first.compiled == 5 and len(first.written) == 6
    second = build([pkg], out)
    assert (second.compiled, second.written, second.removed) == (0, [], [])
    assert len(second.unchanged) == 6


def test_a_changed_source_is_the_only_file_recompiled(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    out = tmp_path / "out"
    build([pkg], out)
    (pkg / "tasks.py").write_text(TASKS + "\n\nasync def extra():\n    await main()\n")
    report = build([pkg], out)
    assert report.compiled == 1
    assert report.written == [out / "shop" / "tasks.py"]
    assert (out / "shop" / "tasks.py").read_bytes() == expected(pkg / "tasks.py")


def test_an_output_edited_or_deleted_by_hand_is_rewritten(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    out = tmp_path / "out"
    build([pkg], out)
    (out / "shop" / "tasks.py").write_text("# edited\n")
    (out / "shop" / "sub" / "schema.json").unlink()
    report = build([pkg], out)
    assert sorted(report.written) == [out / "shop" / "sub" / "schema.json", out / "shop" / "tasks.py"]
    assert (out / "shop" / "tasks.py").read_bytes() == expected(pkg / "tasks.py")
    assert (out / "shop" / "sub" / "schema.json").read_bytes() == (pkg / "sub" / "schema.json").read_bytes()


def test_outputs_whose_source_disappeared_are_removed(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    other = tmp_path / "other.py"
    other.write_text(TASKS)
    out = tmp_path / "out"
    build([pkg], out)
    build([other], out)  # another root built into the same directory must survive
    for rel in ("sub/more.py", "sub/schema.json", "sub/__init__.py"):
        (pkg / rel).unlink()
    (pkg / "sub").rmdir()
    report = build([pkg], out)
    assert sorted(report.removed) == sorted(out / "shop" / rel for rel in ("sub/__init__.py", "sub/more.py", "sub/schema.json"))
    assert not (out / "shop" / "sub").exists()
    assert (out / "other.py").exists()
    assert "other.py" in json.loads((out / MANIFEST_NAME).read_text())["entries"]


def test_the_cache_key_covers_the_lint_flag_and_lint_config(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    out = tmp_path / "out"
    build([pkg], out)
    assert build([pkg], out, lint=False).compiled == 5
    assert build([pkg], out, lint=False).compiled == 0
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "shop"\n')
    assert build([pkg], out).compiled == 5
    assert build([pkg], out).compiled == 0
    pyproject.write_text('[project]\nname = "shop"\n\n[tool.durablec]\nignore = ["DC101"]\n')
    assert build([pkg], out).compiled == 5
    assert build([pkg], out, lint=False).compiled == 5  # without linting the configuration is moot
    pyproject.write_text('[project]\nname = "renamed"\n\n[tool.durablec]\nignore = ["DC101"]\n')
    assert build([pkg], out, lint=False).compiled == 0


def test_a_change_to_the_compiler_invalidates_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = make_package(tmp_path)
    out = tmp_path / "out"
    assert build([pkg], out).compiled == 5
    monkeypatch.setattr(build_module, "compiler_fingerprint", lambda: "an edited compiler")
    assert build([pkg], out).compiled == 5
    assert build([pkg], out).compiled == 0


def test_the_compiler_fingerprint_covers_every_compiler_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "compiler"
    shutil.copytree(fingerprint._COMPILER_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(fingerprint, "_COMPILER_DIR", copy)
    uncached = fingerprint.compiler_fingerprint.__wrapped__
    assert uncached() == fingerprint.compiler_fingerprint()
    rule = sorted((copy / "lint" / "rules").glob("*.py"))[-1]
    rule.write_text(rule.read_text() + "\n# a rule changed\n")
    assert uncached() != fingerprint.compiler_fingerprint()


CLOCK = "import time\n\n\nasync def stamp():\n    return time.time()\n"


def test_a_file_with_findings_is_refused_and_the_others_build(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    (pkg / "clock.py").write_text(CLOCK)
    out = tmp_path / "out"
    report = build([pkg], out)
    assert not report.ok
    [(display, findings)] = report.refused
    assert display == str(pkg / "clock.py")
    assert [(f.code, f.line, f.column) for f in findings] == [("DC101", 5, 12)]
    assert not (out / "shop" / "clock.py").exists()
    assert (out / "shop" / "tasks.py").exists()
    assert build([pkg], out, lint=False).ok
    assert (out / "shop" / "clock.py").read_bytes() == expected(pkg / "clock.py")


def test_the_projects_lint_configuration_applies(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    (pkg / "clock.py").write_text(CLOCK)
    out = tmp_path / "out"
    assert build([pkg], out).refused
    (tmp_path / "pyproject.toml").write_text('[tool.durablec]\nignore = ["DC101"]\n')
    assert build([pkg], out).ok


def test_an_unreadable_configuration_is_an_error_naming_the_file(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.durablec\n")
    with pytest.raises(ConfigError, match="pyproject.toml"):
        build([pkg], tmp_path / "out")


def test_a_corrupt_manifest_means_a_full_check_not_a_crash(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    out = tmp_path / "out"
    build([pkg], out)
    (out / MANIFEST_NAME).write_text("{not json")
    report = build([pkg], out)
    assert report.ok and report.compiled == 5 and report.written == []
    assert build([pkg], out).compiled == 0


def test_a_syntax_error_is_reported_and_other_files_still_build(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    (pkg / "broken.py").write_text("async def f():\n    return (await g(\n")
    out = tmp_path / "out"
    report = build([pkg], out)
    assert not report.ok
    [error] = report.errors
    assert str(error).startswith(f"{pkg / 'broken.py'}:2:")
    assert not (out / "shop" / "broken.py").exists()
    assert (out / "shop" / "tasks.py").read_bytes() == expected(pkg / "tasks.py")
    # It is retried on the next build, and builds once fixed.
    assert build([pkg], out).errors
    (pkg / "broken.py").write_text(TASKS)
    assert build([pkg], out).ok and (out / "shop" / "broken.py").exists()


def test_check_writes_nothing_and_names_what_is_out_of_date(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    out = tmp_path / "out"
    missing = build([pkg], out, check=True)
    assert not out.exists()
    assert {(s.output, s.reason) for s in missing.stale} == {
        (out / "shop" / rel, "missing")
        for rel in ("__init__.py", "plain.py", "tasks.py", "sub/__init__.py", "sub/more.py", "sub/schema.json")
    }
    build([pkg], out)
    assert build([pkg], out, check=True).ok
    (out / "shop" / "tasks.py").write_text("# edited\n")
    (pkg / "sub" / "more.py").unlink()
    before = files_under(out)
    report = build([pkg], out, check=True)
    assert files_under(out) == before
    assert sorted((str(s.output), s.reason) for s in report.stale) == [
        (str(out / "shop" / "sub" / "more.py"), "extra"),
        (str(out / "shop" / "tasks.py"), "stale"),
    ]


def test_a_parallel_build_is_identical_to_a_serial_one(tmp_path: Path) -> None:
    pkg = tmp_path / "many"
    pkg.mkdir()
    for i in range(24):
        (pkg / f"m{i:02}.py").write_text(TASKS.replace("fetch", f"fetch{i}") * (1 + i % 3))
    (pkg / "broken.py").write_text("async def f(:\n")
    serial = build([pkg], tmp_path / "serial", jobs=1)
    parallel = build([pkg], tmp_path / "parallel", jobs=2)
    assert files_under(tmp_path / "serial" / "many") == files_under(tmp_path / "parallel" / "many")
    assert [str(e) for e in serial.errors] == [str(e) for e in parallel.errors]
    assert len(parallel.errors) == 1 and parallel.compiled == 25


def test_progress_is_reported_for_each_compiled_file(tmp_path: Path) -> None:
    pkg = make_package(tmp_path)
    calls: list[tuple[int, int]] = []
    build([pkg], tmp_path / "out", progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 5) for i in range(1, 6)]


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "no such file or directory"),
        ("same-name", "would build into"),
        ("inside-out", "is inside the output directory"),
    ],
)
def test_paths_that_cannot_build_are_usage_errors(tmp_path: Path, case: str, message: str) -> None:
    out = tmp_path / "out"
    if case == "missing":
        paths = [tmp_path / "nope"]
    elif case == "same-name":
        (tmp_path / "a" / "shop").mkdir(parents=True)
        (tmp_path / "b" / "shop").mkdir(parents=True)
        paths = [tmp_path / "a" / "shop", tmp_path / "b" / "shop"]
    else:
        (out / "shop").mkdir(parents=True)
        paths = [out / "shop"]
    with pytest.raises(UsageError, match=message):
        build(paths, out)
