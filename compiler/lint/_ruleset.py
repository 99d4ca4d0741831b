"""The selected rules as the walk consults them: one table of banned names for all rules, and
for each hook the rules that override it, built once per distinct configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from durablec.compiler.lint._config import BannedName
from durablec.compiler.lint._rule import Rule
from durablec.compiler.lint.rules import ALL_RULES

__all__ = ["Hit", "Ruleset", "ruleset"]


@dataclass(frozen=True, slots=True)
class Hit:
    """What a banned name means under one configuration."""

    code: str
    message: str
    replacement: str
    min_args: int
    fix: str | None
    exempt_when_awaited: bool
    calls: bool
    """False: calls are left to the rule's ``visit_call`` hook (see ``Ban.calls``)."""


@dataclass(frozen=True, slots=True)
class Ruleset:
    """The selected rules, as the walk consults them: banned names, and who overrides a hook."""

    banned: Mapping[str, Hit]
    call_hooks: tuple[type[Rule], ...]
    iteration_hooks: tuple[type[Rule], ...]
    suppression_hooks: tuple[type[Rule], ...]


@lru_cache(maxsize=64)
def ruleset(select: frozenset[str], banned: tuple[BannedName, ...]) -> Ruleset:
    """The rules of a configuration, built once per distinct configuration."""
    table: dict[str, Hit] = {}
    rules = [rule for rule in ALL_RULES if rule.CODE in select]
    for rule in rules:
        for name, ban in rule.BANNED.items():
            table[name] = Hit(rule.CODE, rule.MESSAGE, ban.replacement, ban.min_args, ban.fix,
                              rule.CHECKPOINT_EXEMPT, ban.calls)
    for entry in banned:
        if entry.code in select:
            table[entry.name] = Hit(entry.code, entry.message, entry.replacement, 0, None, True, True)
    return Ruleset(
        table,
        tuple(r for r in rules if _overrides(r, "visit_call")),
        tuple(r for r in rules if _overrides(r, "visit_iteration")),
        tuple(r for r in rules if _overrides(r, "visit_suppression")),
    )


def _overrides(rule: type[Rule], hook: str) -> bool:
    """Whether a rule (or a base between it and Rule) defines the hook, so it must be called."""
    return any(hook in vars(cls) for cls in rule.__mro__ if cls is not Rule)
