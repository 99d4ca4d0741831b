"""Lint configuration: ``[tool.durablec]`` in the nearest pyproject.toml.

Keys read here (other ``[tool.durablec]`` keys belong to other parts of durablec)::

    [tool.durablec]
    select = ["DC1", "DC201"]          # codes or code prefixes; default: every rule
    ignore = ["DC403"]                 # removed after select

    [tool.durablec.extend-banned."acme.clock.utcnow"]
    message = "reads the wall clock"   # required
    replacement = "`await durablec.now()`"
    code = "DC101"                     # optional; default DC901

    [tool.durablec.per-file-ignores]
    "tests/*" = ["DC401"]              # glob on the path relative to pyproject.toml, or the file name
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from durablec.compiler.lint.rules import ALL_RULES, RULES_BY_CODE
from durablec.errors import ConfigError

__all__ = ["BannedName", "LintConfig", "load_config"]

_CONFIGURED_CODE = "DC901"
_DEFAULT_REPLACEMENT = "a journaled alternative (an awaited call)"


@dataclass(frozen=True, slots=True)
class BannedName:
    """A project's own nondeterministic name, from ``extend-banned``."""

    name: str
    message: str
    replacement: str = _DEFAULT_REPLACEMENT
    code: str = _CONFIGURED_CODE


@dataclass(frozen=True, slots=True)
class LintConfig:
    """Which rules run and what else is banned. Immutable: ``for_path`` returns a new config."""

    select: frozenset[str]
    """The codes that are reported."""
    extend_banned: tuple[BannedName, ...] = ()
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    """(glob, codes) pairs; resolved into ``select`` by ``for_path``."""
    root: str | None = None
    """The directory ``per_file_ignores`` globs are relative to (the pyproject.toml's)."""
    source: str | None = None
    """The file this configuration was read from, for messages."""

    @classmethod
    def default(cls) -> LintConfig:
        """Every rule, nothing extra: what a project without ``[tool.durablec]`` gets."""
        return cls(select=frozenset(RULES_BY_CODE))

    @classmethod
    def from_table(
        cls, table: Mapping[str, object], *, source: str = "[tool.durablec]", root: str | None = None
    ) -> LintConfig:
        """Build a configuration from a ``[tool.durablec]`` table; raise ConfigError naming
        ``source`` for unknown codes and values of the wrong type."""
        where = f"{source}: [tool.durablec]"
        select = _expand(_codes(table, "select", where), where, "select") if "select" in table else set(RULES_BY_CODE)
        select -= _expand(_codes(table, "ignore", where), where, "ignore")
        banned = tuple(_banned(table.get("extend-banned", {}), where))
        ignores = []
        per_file = table.get("per-file-ignores", {})
        if not isinstance(per_file, Mapping):
            raise ConfigError(f"{where} per-file-ignores must be a table of glob = [codes]")
        for pattern, codes in per_file.items():
            key = f"per-file-ignores.{pattern!r}"
            ignores.append((str(pattern), frozenset(_expand(_code_list(codes, where, key), where, key))))
        return cls(
            select=frozenset(select),
            extend_banned=banned,
            per_file_ignores=tuple(ignores),
            root=root,
            source=source,
        )

    def for_path(self, path: str) -> LintConfig:
        """The configuration for one file, with its per-file ignores applied."""
        if not self.per_file_ignores:
            return self
        absolute = os.path.abspath(path)
        relative = os.path.relpath(absolute, self.root) if self.root else path
        candidates = (relative.replace(os.sep, "/"), os.path.basename(absolute))
        ignored: set[str] = set()
        for pattern, codes in self.per_file_ignores:
            if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates):
                ignored |= codes
        return dataclasses.replace(self, select=self.select - ignored, per_file_ignores=())

    def fingerprint(self) -> str:
        """A stable digest of everything that changes findings, for build caches. Independent of
        where the project lives on disk."""
        data = {
            "select": sorted(self.select),
            "banned": [dataclasses.astuple(b) for b in sorted(self.extend_banned, key=lambda b: b.name)],
            "per_file_ignores": [[p, sorted(c)] for p, c in self.per_file_ignores],
            "rules": _RULESET,
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def known_codes(self) -> frozenset[str]:
        """Every code a suppression comment may name."""
        return frozenset(RULES_BY_CODE)


# The rules' banned names are part of every fingerprint, so a new durablec that bans more
# invalidates cached builds linted by the old one.
_RULESET = hashlib.sha256(
    json.dumps({rule.CODE: sorted(rule.BANNED) for rule in ALL_RULES}, sort_keys=True).encode()
).hexdigest()


def load_config(path: str | os.PathLike[str]) -> LintConfig:
    """The configuration for ``path`` (a file or directory): the ``[tool.durablec]`` table of the
    nearest pyproject.toml above it that has one, else ``LintConfig.default()``."""
    directory = os.path.abspath(path)
    if not os.path.isdir(directory):
        directory = os.path.dirname(directory)
    while True:
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(candidate):
            try:
                with open(candidate, "rb") as f:
                    document = tomllib.load(f)
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"{candidate}: cannot read: {exc}; fix the TOML") from exc
            tool = document.get("tool", {})
            table = tool.get("durablec") if isinstance(tool, dict) else None
            if isinstance(table, dict):
                return LintConfig.from_table(table, source=candidate, root=directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            return LintConfig.default()
        directory = parent


def _codes(table: Mapping[str, object], key: str, where: str) -> list[str]:
    return _code_list(table.get(key, []), where, key)


def _code_list(value: object, where: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{where} {key} must be a list of rule codes such as ["DC101"]')
    return [str(v) for v in value]


def _expand(codes: Iterable[str], where: str, key: str) -> set[str]:
    """Codes and prefixes (``DC1`` is every DC1xx rule) to the set of codes they name."""
    result: set[str] = set()
    for code in codes:
        matched = {known for known in RULES_BY_CODE if known.startswith(code.upper())} if code else set()
        if not matched:
            raise ConfigError(
                f"{where} {key}: unknown rule code `{code}`; known codes: {', '.join(RULES_BY_CODE)}"
            )
        result |= matched
    return result


def _banned(value: object, where: str) -> Iterable[BannedName]:
    if not isinstance(value, Mapping):
        raise ConfigError(f'{where} extend-banned must be a table of "module.name" = {{ message = ... }}')
    for name, entry in value.items():
        key = f"extend-banned.{name!r}"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("message"), str):
            raise ConfigError(f'{where} {key} needs message = "why it breaks replay"')
        unknown = set(entry) - {"message", "replacement", "code"}
        if unknown:
            raise ConfigError(f"{where} {key}: unknown key {sorted(unknown)[0]!r}; use message, replacement, code")
        code = entry.get("code", _CONFIGURED_CODE)
        if code not in RULES_BY_CODE:
            raise ConfigError(
                f"{where} {key}: unknown rule code `{code}`; known codes: {', '.join(RULES_BY_CODE)}"
            )
        replacement = entry.get("replacement", _DEFAULT_REPLACEMENT)
        if not isinstance(replacement, str):
            raise ConfigError(f"{where} {key}: replacement must be a string")
        yield BannedName(str(name), entry["message"], replacement, str(code))
