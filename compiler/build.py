"""Ahead-of-time builds: compile files and package trees into an output tree, incrementally.

``build(["src/shop"], "build/durablec")`` mirrors ``src/shop`` at ``build/durablec/shop``: each
``.py`` file is compiled with :func:`~durablec.compiler.pipeline.compile_source`, every other file is
copied (package data), ``__pycache__``, dotfiles and the output directory itself are skipped.

A manifest in the output directory (``.durablec-manifest.json``) records, per output, the source's
content hash, a key naming everything else the output depends on (the compiler fingerprint: version,
ABI version and the compiler's own code; lint flag; lint configuration fingerprint) and the hash of what was written. An entry that still
matches its source and its output on disk needs no work, so a no-op rebuild reads and hashes files
but parses nothing and never imports libcst. An output edited by hand no longer matches its
recorded hash and is rewritten; outputs whose source disappeared are removed.

Files are compiled in a process pool when there are enough of them to pay for one; results are
written by this process in a fixed order, so a parallel build is byte-identical to a serial one.
Sources are decoded per PEP 263 and written back in the same encoding with their newlines intact;
every write goes to a temporary file first and is moved into place with ``os.replace``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import threading
import tokenize
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from durablec.compiler.diagnostics import Diagnostic
from durablec.compiler.fingerprint import compiler_fingerprint
from durablec.errors import CompileError, UsageError

if TYPE_CHECKING:
    from concurrent.futures import Future

    from durablec.compiler.lint import LintConfig

__all__ = [
    "DEFAULT_OUT",
    "MANIFEST_NAME",
    "BuildReport",
    "Stale",
    "build",
    "decode_source",
    "default_jobs",
    "lint_config_key",
    "python_sources",
]

DEFAULT_OUT: Path = Path("build/durablec")
MANIFEST_NAME = ".durablec-manifest.json"
_MANIFEST_FORMAT = 1

# Below this many files to compile, starting worker processes costs more than it saves.
_PARALLEL_MIN_FILES = 8

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each file is compiled."""


@dataclass(frozen=True, slots=True)
class Stale:
    """An output that ``--check`` found out of date: ``missing``, ``stale`` or ``extra``."""

    output: Path
    reason: Literal["missing", "stale", "extra"]
    source: str | None
    """The source as the user named it; None for an extra output whose source is gone."""

    def __str__(self) -> str:
        if self.reason == "missing":
            return f"{self.output}: missing (built from {self.source})"
        if self.reason == "stale":
            return f"{self.output}: stale (differs from what {self.source} compiles to)"
        return f"{self.output}: extra (its source no longer exists)"


@dataclass(slots=True)
class BuildReport:
    """What one build did. Paths of outputs are under ``out``; sources are named as given."""

    out: Path
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    compiled: int = 0
    """How many files were parsed; 0 on a no-op rebuild."""
    errors: list[CompileError] = field(default_factory=list)
    refused: list[tuple[str, tuple[Diagnostic, ...]]] = field(default_factory=list)
    """Sources whose output was not written because the linter reported findings."""
    stale: list[Stale] = field(default_factory=list)
    """Only under ``check``: outputs that a build would write or remove."""

    @property
    def ok(self) -> bool:
        """True when every source built and, under ``check``, nothing was out of date."""
        return not (self.errors or self.refused or self.stale)


@dataclass(frozen=True, slots=True)
class _Unit:
    """One file of the plan: where it comes from and where it goes."""

    source: Path
    display: str
    rel: str
    python: bool


class _Todo(NamedTuple):
    """A Python file that must be compiled, and what its manifest entry will record."""

    unit: _Unit
    data: bytes
    source_hash: str
    key: str


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A worker's answer; a CompileError travels as its fields because it does not pickle."""

    output: bytes | None
    diagnostics: tuple[Diagnostic, ...] = ()
    error: tuple[str, int, int, str] | None = None


def default_jobs() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def decode_source(data: bytes) -> tuple[str, str]:
    """Decode a Python source file per PEP 263; returns ``(text, encoding)``, newlines untouched.

    Raises UnicodeDecodeError, LookupError or SyntaxError (a bad coding cookie).
    """
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding), encoding


def python_sources(path: Path) -> list[Path]:
    """The ``.py`` files of a file or package tree, in a stable order, skipping what builds skip."""
    if path.is_file():
        return [path]
    return [p for p in _walk(path, skip=None) if p.suffix == ".py"]


def build(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str] = DEFAULT_OUT,
    *,
    lint: bool = True,
    jobs: int | None = None,
    check: bool = False,
    progress: ProgressCallback | None = None,
) -> BuildReport:
    """Build ``paths`` into ``out``; with ``check``, write nothing and report what is out of date.

    Each file is linted with the ``[tool.durablec]`` configuration of the nearest pyproject.toml
    above it, and that configuration is part of its cache key. ``jobs`` defaults to the number
    of cores. Raises UsageError when a path does not exist or two paths collide, ConfigError when
    a configuration that matters cannot be read.
    """
    out_dir = Path(out)
    units, roots = _plan(paths, out_dir)
    base_key = f"compiler {compiler_fingerprint()}; lint {int(lint)}"
    config_keys: dict[Path, str] = {}
    old = _load_manifest(out_dir)
    entries: dict[str, dict[str, str]] = {}
    report = BuildReport(out=out_dir)
    todo: list[_Todo] = []

    for unit in units:
        data = unit.source.read_bytes()
        source_hash = _sha256(data)
        entry = old.get(unit.rel)
        if not unit.python:
            unit_key = "data"
        elif lint:
            unit_key = f"{base_key}; config {lint_config_key(unit.source.parent, config_keys)}"
        else:
            unit_key = base_key
        if (
            entry is not None
            and entry.get("source") == str(unit.source)
            and entry.get("source_sha256") == source_hash
            and entry.get("key") == unit_key
        ):
            current = _read_or_none(out_dir / unit.rel)
            if current is not None and _sha256(current) == entry.get("output_sha256"):
                report.unchanged.append(out_dir / unit.rel)
                entries[unit.rel] = entry
                continue
        if unit.python:
            todo.append(_Todo(unit, data, source_hash, unit_key))
        else:
            entries[unit.rel] = _settle(report, unit, data, source_hash, unit_key, check)

    for (unit, data, source_hash, key), compiled in zip(todo, _compile_all(todo, lint, jobs, progress)):
        report.compiled += 1
        if compiled.error is not None:
            report.errors.append(CompileError(*compiled.error))
        elif compiled.output is None:
            report.refused.append((unit.display, compiled.diagnostics))
        else:
            entries[unit.rel] = _settle(report, unit, compiled.output, source_hash, key, check)
            continue
        # The output was not written: keep the old entry so the next build tries again and a
        # source that disappears later still has its old output removed.
        if unit.rel in old:
            entries[unit.rel] = old[unit.rel]

    planned = {unit.rel for unit in units}
    for rel, entry in sorted(old.items()):
        if rel in planned:
            continue
        if rel.split("/", 1)[0] not in roots:
            entries[rel] = entry  # another root built into the same directory: not ours to judge
            continue
        target = out_dir / rel
        if check:
            if target.exists():
                report.stale.append(Stale(target, "extra", None))
        elif _remove(target, out_dir):
            report.removed.append(target)

    if not check and entries != old:
        _save_manifest(out_dir, entries)
    return report


def _plan(paths: Sequence[str | os.PathLike[str]], out: Path) -> tuple[list[_Unit], set[str]]:
    """Every file to build, in a stable order, and the output root names they land in."""
    out_resolved = out.resolve()
    units: list[_Unit] = []
    roots: dict[str, str] = {}
    for raw in paths:
        given = os.fspath(raw)
        path = Path(given)
        if not path.exists():
            raise UsageError(f"{given}: no such file or directory; pass an existing file or package")
        resolved = path.resolve()
        if resolved == out_resolved or out_resolved in resolved.parents:
            raise UsageError(
                f"{given}: is inside the output directory {out}; choose another output with -o"
            )
        name = resolved.name
        if name in roots:
            raise UsageError(
                f"{given}: would build into {out / name} like {roots[name]}; build them with separate -o"
            )
        roots[name] = given
        if path.is_file():
            units.append(_Unit(resolved, given, name, python=resolved.suffix == ".py"))
            continue
        for file in _walk(resolved, skip=out_resolved):
            rel = file.relative_to(resolved)
            units.append(
                _Unit(file, os.path.join(given, rel), f"{name}/{rel.as_posix()}", file.suffix == ".py")
            )
    return units, set(roots)


def _walk(root: Path, skip: Path | None) -> list[Path]:
    """Files under root, sorted, without ``__pycache__``, dotfiles, dot-directories or ``skip``."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".") and d != "__pycache__" and (skip is None or (here / d).resolve() != skip)
        )
        found.extend(here / f for f in sorted(filenames) if not f.startswith("."))
    return found


def _settle(
    report: BuildReport, unit: _Unit, output: bytes, source_hash: str, key: str, check: bool
) -> dict[str, str]:
    """Write one output unless it already holds these bytes; returns its manifest entry."""
    target = report.out / unit.rel
    current = _read_or_none(target)
    if current == output:
        report.unchanged.append(target)
    elif check:
        report.stale.append(Stale(target, "missing" if current is None else "stale", unit.display))
    else:
        _atomic_write(target, output)
        report.written.append(target)
    return {
        "source": str(unit.source),
        "source_sha256": source_hash,
        "key": key,
        "output_sha256": _sha256(output),
    }


def _compile_all(
    todo: list[_Todo], lint: bool, jobs: int | None, progress: ProgressCallback | None
) -> list[_Compiled]:
    """Compile every file of ``todo``, in a process pool when it pays; results in todo's order."""
    if not todo:
        return []
    # Imported here, not at module level: a no-op rebuild must not load libcst. Importing before
    # the pool starts also lets forked workers inherit the compiler already loaded.
    import durablec.compiler.pipeline  # noqa: F401
    from durablec.compiler.lint import load_config

    configs: dict[Path, LintConfig] = {}
    jobs_args: list[tuple[bytes, str, LintConfig | None]] = []
    for item in todo:
        config = None
        if lint:
            directory = item.unit.source.parent
            if directory not in configs:
                configs[directory] = load_config(directory)
            config = configs[directory]
        jobs_args.append((item.data, item.unit.display, config))

    total = len(todo)
    workers = min(jobs or default_jobs(), total)
    if workers < 2 or total < _PARALLEL_MIN_FILES:
        results: list[_Compiled] = []
        for done, (data, display, config) in enumerate(jobs_args, 1):
            results.append(_compile_file(data, display, lint, config))
            if progress is not None:
                progress(done, total)
        return results
    # Imported only when a pool is needed: they cost more to import than a no-op rebuild takes.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # fork is cheapest (workers inherit the loaded compiler) but unsafe once threads exist, as in
    # --watch; spawn then.
    method = "fork" if threading.active_count() == 1 and os.name == "posix" else "spawn"
    # Largest files first so that no worker is left with a big file at the end.
    order = sorted(range(total), key=lambda i: -len(todo[i].data))
    futures: dict[int, Future[_Compiled]] = {}
    done = 0
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        for i in order:
            data, display, config = jobs_args[i]
            futures[i] = pool.submit(_compile_file, data, display, lint, config)
        if progress is not None:
            for _ in as_completed(futures.values()):
                done += 1
                progress(done, total)
        return [futures[i].result() for i in range(total)]


def _compile_file(data: bytes, display: str, lint: bool, config: LintConfig | None) -> _Compiled:
    """Compile one file's bytes into output bytes in the same encoding (runs in a worker)."""
    from durablec.compiler.pipeline import compile_source

    try:
        text, encoding = decode_source(data)
    except (SyntaxError, UnicodeDecodeError, LookupError) as error:
        return _Compiled(None, error=(display, 1, 1, f"cannot decode the source: {error}; save it as UTF-8"))
    try:
        result = compile_source(text, display, lint=lint, lint_config=config)
    except CompileError as error:
        return _Compiled(None, error=(error.path, error.line, error.column, error.message))
    if result.diagnostics:
        return _Compiled(None, diagnostics=result.diagnostics)
    if result.code == text:
        return _Compiled(data)
    return _Compiled(result.code.encode(encoding))


def lint_config_key(directory: Path, memo: dict[Path, str] | None = None) -> str:
    """What the lint configuration of the files in ``directory`` depends on, as a string.

    Found as ``durablec.compiler.lint.load_config`` finds it (the ``[tool.durablec]`` table of the
    nearest pyproject.toml above that has one) but without loading the linter, which would load
    libcst on a no-op rebuild. The rules themselves are part of the compiler fingerprint, which
    every key holds too. An unreadable pyproject.toml gets a key of its bytes, so the file is
    compiled and ``load_config`` reports the problem.
    """
    if memo is not None and directory in memo:
        return memo[directory]
    key = "default"
    for candidate in (directory, *directory.parents):
        try:
            raw = (candidate / "pyproject.toml").read_bytes()
        except OSError:  # absent, or not a file
            continue
        try:
            tool = tomllib.loads(raw.decode()).get("tool")
        except (UnicodeDecodeError, tomllib.TOMLDecodeError):
            key = f"unreadable {candidate / 'pyproject.toml'} {_sha256(raw)}"
            break
        table = tool.get("durablec") if isinstance(tool, dict) else None
        if isinstance(table, dict):
            # The directory matters too: per-file-ignores globs are relative to it.
            digest = _sha256(json.dumps(table, sort_keys=True, default=str).encode())
            key = f"{candidate} {digest}"
            break
    if memo is not None:
        memo[directory] = key
    return key


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _atomic_write(path: Path, data: bytes) -> None:
    """Write data to path through a temporary file in the same directory and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _remove(target: Path, out: Path) -> bool:
    """Remove an output and the directories it leaves empty below ``out``; False if it was gone."""
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    parent = target.parent
    while parent != out and out in parent.parents:
        try:
            parent.rmdir()
        except OSError:  # not empty: a sibling or a __pycache__ is still there
            break
        parent = parent.parent
    return True


def _load_manifest(out: Path) -> dict[str, dict[str, str]]:
    """The recorded entries, or none when the manifest is missing, unreadable or of another format."""
    try:
        raw = json.loads((out / MANIFEST_NAME).read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict) or raw.get("format") != _MANIFEST_FORMAT:
        return {}
    entries = raw.get("entries")
    if not isinstance(entries, dict):
        return {}
    return {
        rel: entry
        for rel, entry in entries.items()
        if isinstance(entry, dict) and all(isinstance(v, str) for v in entry.values())
    }


def _save_manifest(out: Path, entries: dict[str, dict[str, str]]) -> None:
    payload = {"format": _MANIFEST_FORMAT, "entries": dict(sorted(entries.items()))}
    _atomic_write(out / MANIFEST_NAME, (json.dumps(payload, indent=1, sort_keys=True) + "\n").encode())
