"""Compile-on-import: run source task modules without a build step.

Modelled on pytest's assertion rewriting: a meta path finder claims the source modules found under
given roots, and its loader compiles each with :func:`~durablec.compiler.pipeline.compile_source`
before executing it. The resulting code object is cached in ``__pycache__`` next to the source,
in a file tagged with the interpreter's cache tag, the durablec version and the ABI version
(``tasks.cpython-311.durablec-0.1.0-abi1.pyc``), keyed by a hash of the source, its path, the
lint flag and the compiler's own code (:mod:`~durablec.compiler.fingerprint`). When Python is told
not to write bytecode (``PYTHONDONTWRITEBYTECODE``, common in containers), the source tree is left
alone and the cache lives in durablec's own directory instead: ``DURABLEC_CACHE_DIR``, else
``$XDG_CACHE_HOME/durablec``, else ``~/.cache/durablec`` (one file per source path), so a worker's
warm start still neither compiles nor loads libcst. A cache that cannot be read or written (a
read-only tree) is silently skipped, and writes are atomic.

``co_filename`` and ``__file__`` stay the source path: compiled output keeps every line where it
was, so tracebacks show the user's own lines.

Not claimed: modules under ``durablec`` itself, installed packages (``site-packages``), hidden
directories, modules whose first lines carry ``# durablec: no-compile``, and modules that are
already compiled output (prebuilt trees); all of those import as they are.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import marshal
import os
import re
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable, Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec, PathFinder, SourceFileLoader
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from types import CodeType, ModuleType, TracebackType

from durablec import __version__
from durablec.compiler.build import decode_source, lint_config_key
from durablec.compiler.fingerprint import compiler_fingerprint
from durablec.errors import DurablecError, FindingsError, UsageError
from durablec.runtime.abi import ABI_VERSION

__all__ = ["NO_COMPILE_MARKER", "ImportHook", "cache_path", "install", "load_target"]

NO_COMPILE_MARKER = "# durablec: no-compile"
"""A module carrying this comment in its first lines is imported untouched."""

_MARKER_LINES = 5
# Compiled output imports the ABI at module level (its prelude); such a module is not recompiled.
_COMPILED = re.compile(rb"(?m)^(?:[^\s#][^#\n]*;[ \t]*)?from[ \t]+durablec\.runtime\.abi[ \t]+import\b")
_NOT_OURS = frozenset({"site-packages", "dist-packages", "__pycache__"})


def cache_path(source: str | os.PathLike[str]) -> Path | None:
    """Where the compiled code of ``source`` is cached; None when this interpreter has no tag.

    Beside the source in ``__pycache__``, or in durablec's cache directory when Python writes no
    bytecode (module docstring).
    """
    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    path = Path(source)
    name = f"{path.stem}.{tag}.durablec-{__version__}-abi{ABI_VERSION}.pyc"
    if not sys.dont_write_bytecode:
        return path.parent / "__pycache__" / name
    where = hashlib.sha256(os.fsencode(os.path.abspath(path))).hexdigest()[:20]
    return _cache_dir() / f"{where}.{name}"


def _cache_dir() -> Path:
    configured = os.environ.get("DURABLEC_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "durablec"


class ImportHook(MetaPathFinder):
    """Compiles source modules under ``roots`` on import; see the module docstring.

    ``compiled`` and ``cache_hits`` count the modules this hook compiled and the ones it loaded
    from the cache.
    """

    def __init__(
        self, roots: Iterable[str | os.PathLike[str]], *, lint: bool = True,
        exclude: Callable[[Path], bool] | None = None,
    ) -> None:
        self.roots: list[Path] = []
        self.lint = lint
        # Modules under the roots that another loader owns (the pytest plugin leaves test
        # modules to pytest's assertion rewriting).
        self.exclude = exclude
        self.compiled = 0
        self.cache_hits = 0
        self._config_keys: dict[Path, str] = {}
        for root in roots:
            self.add_root(root)

    def add_root(self, root: str | os.PathLike[str]) -> None:
        """Also claim the modules under ``root`` (a directory, or a single module file)."""
        resolved = Path(root).resolve()
        if resolved not in self.roots:
            self.roots.append(resolved)

    def install(self) -> ImportHook:
        """Put this hook first on ``sys.meta_path`` (once)."""
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)
            importlib.invalidate_caches()
        return self

    def uninstall(self) -> None:
        """Take this hook off ``sys.meta_path``; modules it already loaded stay loaded."""
        while self in sys.meta_path:
            sys.meta_path.remove(self)

    def __enter__(self) -> ImportHook:
        return self.install()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.uninstall()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname == "durablec" or fullname.startswith("durablec."):
            return None  # the compiler must never try to compile itself
        spec = PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or not isinstance(spec.loader, SourceFileLoader):
            return None
        origin = Path(spec.origin).resolve()
        if not self._claims(origin):
            return None
        try:
            data = origin.read_bytes()
        except OSError:
            return None  # let the regular loader report it
        if _opted_out(data) or _COMPILED.search(data):
            return None
        spec.loader = _Loader(fullname, spec.origin, self)
        cached = cache_path(spec.origin)
        if cached is not None:
            spec.cached = str(cached)
        return spec

    def _claims(self, origin: Path) -> bool:
        if any(part in _NOT_OURS for part in origin.parts[:-1]):
            return False  # installed packages are used as they are
        if self.exclude is not None and self.exclude(origin):
            return False
        for root in self.roots:
            if origin == root:
                return True
            if root in origin.parents:
                return not any(part.startswith(".") for part in origin.relative_to(root).parts[:-1])
        return False

    def code(self, source_path: str, data: bytes) -> CodeType:
        """The compiled code object of one source file, from the cache when it is there."""
        directory = Path(source_path).parent
        config_key = lint_config_key(directory, self._config_keys) if self.lint else ""
        key = hashlib.sha256(
            b"%s\0lint=%d\0%s\0%s\0%s"
            % (
                compiler_fingerprint().encode(), self.lint, config_key.encode(),
                os.fsencode(source_path), data,
            )
        ).digest()
        cached = cache_path(source_path)
        if cached is not None:
            code = _read_cache(cached, key)
            if code is not None:
                self.cache_hits += 1
                return code
        # Imported only on a cache miss: a warm cache never loads the compiler or libcst.
        from durablec.compiler.lint import load_config
        from durablec.compiler.pipeline import compile_source

        text, _ = decode_source(data)
        config = load_config(directory) if self.lint else None
        result = compile_source(text, source_path, lint=self.lint, lint_config=config)
        if result.diagnostics:
            raise FindingsError(source_path, result.diagnostics)
        code = compile(result.code, source_path, "exec", dont_inherit=True)
        self.compiled += 1
        if cached is not None:
            _write_cache(cached, key, code)
        return code


class _Loader(SourceFileLoader):
    """The regular source loader (resources, ``get_source``) with durablec's ``get_code``."""

    def __init__(self, fullname: str, path: str, hook: ImportHook) -> None:
        super().__init__(fullname, path)
        self._hook = hook

    def get_code(self, fullname: str) -> CodeType:
        source_path = self.get_filename(fullname)
        return self._hook.code(source_path, self.get_data(source_path))


def install(roots: Iterable[str | os.PathLike[str]], *, lint: bool = True) -> ImportHook:
    """Compile the source modules under ``roots`` when they are imported, until ``uninstall()``.

    Modules are linted with their project's ``[tool.durablec]`` configuration; one with findings
    raises FindingsError, unless ``lint=False``. The handle is also a context manager.
    """
    return ImportHook(roots, lint=lint).install()


_shared: ImportHook | None = None


def load_target(target: str, *, lint: bool = True) -> object:
    """Import the object a TARGET names (SPEC 6), compiling source modules on import.

    ``path/to/file.py:name`` imports the file under its module name (its dotted path from the first
    directory up that is not a package) with that directory on ``sys.path`` and on the hook's
    roots; ``package.module:name`` imports the module from ``sys.path`` (the current directory
    first), compiling the tree its top-level package was found in. ``name`` may be dotted
    (``Class.method``). Raises UsageError naming the target when something does not exist. Later
    imports in the process use the last call's ``lint`` flag.
    """
    global _shared
    module_part, colon, name = target.rpartition(":")
    if not colon or not module_part or not _dotted(name):
        raise UsageError(
            f"target {target!r}: expected path/to/file.py:name or package.module:name"
        )
    if _shared is None:
        _shared = ImportHook([], lint=lint)
    _shared.lint = lint
    _shared.install()
    try:
        if module_part.endswith(".py") or "/" in module_part or os.sep in module_part:
            module = _import_file(target, Path(module_part), _shared)
        else:
            module = _import_module(target, module_part, _shared)
    except DurablecError:
        raise
    except Exception as error:
        # The module's own code failed (a raise at top level, a missing dependency): a person
        # fixes it from one line naming the place and the cause; --debug shows the chain.
        raise UsageError(f"target {target!r}: {_import_failure(error)}") from error
    found: object = module
    for attribute in name.split("."):
        try:
            found = getattr(found, attribute)
        except AttributeError:
            raise UsageError(
                f"target {target!r}: module {module.__name__!r} ({module.__file__}) has no "
                f"attribute {name!r}; check the function's name{_offered(module)}"
            ) from None
    return found


def _import_failure(error: Exception) -> str:
    """``path:line: importing it raised Type: message``, at the top-level statement of the module
    that failed, with the frame that raised when that is elsewhere."""
    # The first module-level frame is the module being imported; the import system's own frames
    # (``<frozen importlib...>``) are not the user's code.
    frames = [f for f in traceback.extract_tb(error.__traceback__) if not f.filename.startswith("<")]
    top = next((f for f in frames if f.name == "<module>"), None)
    cause = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    cause = f"{type(error).__name__}: {cause}" if cause else type(error).__name__
    if top is None:
        return f"importing it raised {cause}; --debug shows the traceback"
    place = f"{_shown(top.filename)}:{top.lineno}"
    raised = frames[-1]
    if raised is not top:
        cause += f" (at {_shown(raised.filename)}:{raised.lineno})"
    return f"{place}: importing the module raised {cause}; fix it and run again (--debug shows the traceback)"


def _shown(filename: str) -> str:
    """A file as a person would name it: relative to the current directory when inside it."""
    try:
        return str(Path(filename).relative_to(Path.cwd()))
    except ValueError:
        return filename


def _offered(module: ModuleType) -> str:
    """The task-like names a module defines, to suggest when a target names none of them."""
    names = sorted(
        key for key, value in vars(module).items()
        if not key.startswith("_") and getattr(value, "__module__", None) == module.__name__
        and (inspect.iscoroutinefunction(value) or hasattr(value, "__durablec_policy__"))
    )
    return f" (its async functions and tasks: {', '.join(names)})" if names else ""


def _import_file(target: str, path: Path, hook: ImportHook) -> ModuleType:
    if not path.is_file():
        raise UsageError(f"target {target!r}: no such file {str(path)!r}; check the path")
    if path.suffix != ".py":
        raise UsageError(f"target {target!r}: {str(path)!r} is not a .py file")
    path = path.resolve()
    # As pytest's "prepend" import mode: a file inside a package is imported as part of it, so
    # its relative imports work.
    parts = [] if path.stem == "__init__" else [path.stem]
    base = path.parent
    while (base / "__init__.py").is_file():
        parts.insert(0, base.name)
        base = base.parent
    module_name = ".".join(parts)
    if not _dotted(module_name):
        raise UsageError(
            f"target {target!r}: {str(path)!r} cannot be imported as module {module_name!r}; "
            "rename it to a Python identifier"
        )
    existing = sys.modules.get(module_name)
    existing_file = getattr(existing, "__file__", None)
    if existing_file is not None and Path(existing_file).resolve() != path:
        raise UsageError(
            f"target {target!r}: module {module_name!r} is already imported from {existing_file}; "
            "rename the file or name the target as package.module:name"
        )
    hook.add_root(base)
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))
    importlib.invalidate_caches()
    return importlib.import_module(module_name)


def _import_module(target: str, module_name: str, hook: ImportHook) -> ModuleType:
    if not _dotted(module_name):
        raise UsageError(f"target {target!r}: {module_name!r} is not a dotted module name")
    # As ``python -m``: a module target is looked up from the current directory first.
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    importlib.invalidate_caches()
    top = PathFinder.find_spec(module_name.partition(".")[0])
    if top is not None:
        for location in top.submodule_search_locations or [top.origin or ""]:
            if location:
                hook.add_root(Path(location).parent)
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            raise UsageError(
                f"target {target!r}: no module named {missing!r}; run from the project's directory "
                "or name the target as path/to/file.py:name"
            ) from None
        raise


def _dotted(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))


def _opted_out(data: bytes) -> bool:
    head = data.split(b"\n", _MARKER_LINES)[:_MARKER_LINES]
    return any(NO_COMPILE_MARKER.encode() in line for line in head)


def _read_cache(path: Path, key: bytes) -> CodeType | None:
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    header = MAGIC_NUMBER + key
    if not blob.startswith(header):
        return None
    try:
        code = marshal.loads(blob[len(header) :])
    except (EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, CodeType) else None


def _write_cache(path: Path, key: bytes, code: CodeType) -> None:
    """Write the cache atomically; any failure (read-only tree, full disk) is ignored."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(MAGIC_NUMBER + key + marshal.dumps(code))
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
