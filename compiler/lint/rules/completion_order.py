"""DC303 completion-order-wait."""

from __future__ import annotations

import libcst as cst

from durablec.compiler.lint._rule import Ban, CallSite, Rule, Scope
from durablec.compiler.lint._syntax import dotted

__all__ = ["COMPLETION_CALLS", "CompletionOrderWait", "replayable"]

_USE = (
    "`asyncio.as_completed(tasks)` without a timeout, or `await asyncio.wait(tasks, ...)` as the "
    "awaited call, over tasks the task created: their completion order is journaled"
)

COMPLETION_CALLS = frozenset({"asyncio.as_completed", "asyncio.wait"})
"""The calls the compiler hands to the runtime's ``race`` entry when :func:`replayable`."""


def replayable(callee: str, call: cst.Call, awaited: bool) -> bool:
    """Whether the runtime journals and replays this completion-order call (the compiler
    rewrites exactly these, and DC303 reports the others).

    ``await asyncio.wait(...)`` must be the awaited call itself, so that it is one step.
    ``asyncio.as_completed(...)`` must not have a timeout (the time at which it gives up is
    not something a replay can reproduce) nor ``**`` arguments that might hold one.
    """
    if callee == "asyncio.wait":
        return awaited
    if awaited:  # `await asyncio.as_completed(...)` is a TypeError; leave it as it is
        return False
    for arg in call.args:
        if arg.star == "**":
            return False
        keyword = arg.keyword
        if keyword is not None and keyword.value == "timeout":
            value = arg.value
            return isinstance(value, cst.Name) and value.value == "None"
    return True


def _construct(site: CallSite) -> str:
    """How the message names the call: as written, and by its qualified name if that differs."""
    shown = dotted(site.node.func)
    return f"`{site.callee}()`" if shown in (None, site.callee) else f"`{shown}()` (`{site.callee}()`)"


class CompletionOrderWait(Rule):
    """What it does: finds the uses of ``asyncio.as_completed()`` and ``asyncio.wait()`` that
    durablec cannot replay: ``as_completed`` with a timeout, ``asyncio.wait(...)`` that is not
    itself the awaited expression, and either name handed out without being called
    (``pick = asyncio.wait``). The other uses are compiled so that, inside a run, the order in
    which the children completed is journaled and replayed: ``for fut in
    asyncio.as_completed(tasks): await fut`` gets the children in the recorded order, and
    ``done, pending = await asyncio.wait(tasks, return_when=...)`` the recorded sets.

    Why it breaks replay: both hand back work in the order it happened to finish, which differs
    from run to run. A timeout decides by the clock which children count as finished; a call
    the compiler cannot see as such (made through a reference, or a wait awaited later) is not
    journaled as completion order, and a wait's result, sets of live tasks, cannot be journaled
    as a value. At run time, a future that is not a child of the run (not created by the task's
    code) cannot be replayed either, and is refused with an error naming the line.

    Example::

        async def first_quote(providers):
            tasks = [asyncio.create_task(p.quote()) for p in providers]
            for fut in asyncio.as_completed(tasks, timeout=5):
                return await fut

    Use instead: drop the timeout and bound each child instead (``asyncio.timeout`` inside the
    child, whose outcome is journaled), or await ``asyncio.wait(tasks, timeout=5)`` directly,
    whose done and pending sets are journaled.
    """

    CODE = "DC303"
    NAME = "completion-order-wait"
    MESSAGE = "yields work in completion order in a form durablec cannot replay"
    BANNED = {name: Ban(_USE, calls=False) for name in COMPLETION_CALLS}
    VALID = (
        """
        import asyncio


        async def task(providers):
            tasks = [asyncio.create_task(p.quote()) for p in providers]
            for fut in asyncio.as_completed(tasks):
                print(await fut)
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            done, pending = await asyncio.wait(pending, timeout=5)
            return done
        """,
    )
    INVALID = (
        """
        import asyncio


        async def task(aws):
            for fut in asyncio.as_completed(aws, timeout=5):  # <-
                print(await fut)
            waiting = asyncio.wait(aws)  # <-
            pick = asyncio.as_completed  # <-
            return await asyncio.wait_for(waiting, 1), pick
        """,
    )

    @classmethod
    def visit_call(cls, site: CallSite, scope: Scope) -> None:
        if site.callee in COMPLETION_CALLS and not replayable(site.callee, site.node, site.awaited):
            shown = _construct(site)
            why = ("is not itself the awaited call" if site.callee == "asyncio.wait"
                   else "has a timeout (or `**` arguments that may hold one)")
            scope.report(
                cls.CODE, site.node,
                f"{shown} {why}, so durablec cannot replay the order its work completed in. "
                f"Use {_USE}",
            )
