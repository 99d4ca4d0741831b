"""Lint rules: one module per rule. ``ALL_RULES`` is the registry, in code order."""

from __future__ import annotations

from durablec.compiler.lint._rule import Rule
from durablec.compiler.lint.rules.blocking_io import IoOutsideAwait
from durablec.compiler.lint.rules.blocking_sleep import BlockingSleep
from durablec.compiler.lint.rules.completion_order import CompletionOrderWait
from durablec.compiler.lint.rules.configured_ban import ConfiguredBannedName
from durablec.compiler.lint.rules.environment_read import EnvironmentRead
from durablec.compiler.lint.rules.global_random import GlobalRandomCall
from durablec.compiler.lint.rules.monotonic_clock import MonotonicClockCall
from durablec.compiler.lint.rules.os_entropy import OsEntropyCall
from durablec.compiler.lint.rules.random_uuid import RandomUuidCall
from durablec.compiler.lint.rules.set_iteration import StringSetIteration
from durablec.compiler.lint.rules.task_outside_await import TaskStartedOutsideAwait
from durablec.compiler.lint.rules.taskgroup_task import TaskGroupCreateTask
from durablec.compiler.lint.rules.thread_outside_await import ThreadStartedOutsideAwait
from durablec.compiler.lint.rules.unknown_suppression import UnknownSuppressionCode
from durablec.compiler.lint.rules.wall_clock import WallClockCall

__all__ = ["ALL_RULES", "RULES_BY_CODE"]

ALL_RULES: tuple[type[Rule], ...] = tuple(
    sorted(
        (
            UnknownSuppressionCode,
            WallClockCall,
            MonotonicClockCall,
            BlockingSleep,
            GlobalRandomCall,
            RandomUuidCall,
            OsEntropyCall,
            TaskStartedOutsideAwait,
            TaskGroupCreateTask,
            CompletionOrderWait,
            ThreadStartedOutsideAwait,
            EnvironmentRead,
            IoOutsideAwait,
            StringSetIteration,
            ConfiguredBannedName,
        ),
        key=lambda rule: rule.CODE,
    )
)

RULES_BY_CODE: dict[str, type[Rule]] = {rule.CODE: rule for rule in ALL_RULES}
