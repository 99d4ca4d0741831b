"""A run's waterfall as the run page draws it: step attempts grouped into a tree by their keys
(helper scopes and gather/TaskGroup children under the step that opened them), and the attempts
of the task body, each of which replays what the ones before it recorded; the run's executions
(a lane of its own, with the ones that ended unrecorded marked); and the log records each step
attempt wrote.

The tree comes from the key grammar (docs/runtime.md, "Steps"): ``3.0`` is a step of the helper
scope opened by step ``3``, ``3:1`` the second child of the gather at step ``3``; other keys
(``2<``, ``4#1``) are steps of the scope they sit in.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from durablec.runtime.model import ExecutionInfo, LogInfo, StepInfo, Timeline

__all__ = ["Attempt", "Bar", "Execution", "Node", "Waterfall", "waterfall"]

Relation = Literal["step", "scope", "child"]
"""How a node hangs under its parent: a plain step, a step of a helper scope (``.``), or a
gather/TaskGroup child (``:``)."""


@dataclass(frozen=True, slots=True)
class Bar:
    """One step attempt: ``index`` is its position in the timeline (its detail's id), ``left``
    and ``width`` percent of the waterfall's span, ``attempt`` the body attempt that recorded it."""

    step: StepInfo
    index: int
    left: float
    width: float
    attempt: int


@dataclass(slots=True)
class Node:
    """A key: its own attempts, and the keys under it (empty for a plain step)."""

    key: str
    relation: Relation
    bars: list[Bar] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)

    def all_bars(self) -> list[Bar]:
        found = list(self.bars)
        for child in self.children:
            found.extend(child.all_bars())
        return found

    @property
    def title(self) -> str:
        """What the group is: the callee that opened it, else that of its first step."""
        if self.bars:
            return self.bars[-1].step.callee
        return self.children[0].title if self.children else ""

    @property
    def what(self) -> str:
        """The group in words: a gather (its children are keyed ``K:N``), a child, a scope."""
        if self.relation == "child":
            return "gather/TaskGroup child"
        if any(child.relation == "child" for child in self.children):
            return "gather"
        return "helper scope"

    @property
    def steps(self) -> int:
        """Step attempts under this node, its own included."""
        return len(self.all_bars())

    @property
    def extent(self) -> tuple[float, float]:
        """Left and width (percent) from the node's first start to its last end."""
        bars = self.all_bars()
        left = min(b.left for b in bars)
        return left, round(max(b.left + b.width for b in bars) - left, 3)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt of the task body: the failed ones have a ``body`` row (``bar``); the last one,
    still running or finished, has none. ``replayed``: keys recorded by earlier attempts and not
    recorded again by this one, the steps it took from the journal without running them."""

    number: int
    left: float
    width: float
    bar: Bar | None
    live: tuple[str, ...]
    replayed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Execution:
    """One execution on the axis. A recorded one (``info``) spans its start to its end. A lost
    one (``info`` None: the process was killed or lost its lease, so it wrote no row; ``first``
    to ``last`` when several epochs are missing in a row) spans from the end of the one before
    it to the start of the one after it, where it is marked: that start is the first sign of
    its end the journal holds."""

    first: int
    last: int
    info: ExecutionInfo | None
    left: float
    width: float

    @property
    def label(self) -> str:
        which = (f"execution {self.first}" if self.first == self.last
                 else f"executions {self.first}-{self.last}")
        info = self.info
        if info is None:
            return f"{which} killed / lease lost"
        if not info.resumed:
            return f"{which} started"
        return f"{which} resumed ({info.replayed} step{'' if info.replayed == 1 else 's'} replayed)"

    @property
    def title(self) -> str:
        """The whole story, for the hover text the row's narrow label may cut."""
        info = self.info
        if info is None:
            return (f"{self.label}: ended unrecorded (process killed or lease lost); "
                    "noticed when the next execution took the run")
        ran = f"{info.live} step{'' if info.live == 1 else 's'} run live"
        return f"{self.label} on {info.worker}; {ran}; ended {info.status}" + (
            f": {info.reason}" if info.reason else "")


@dataclass(frozen=True, slots=True)
class Waterfall:
    nodes: list[Node]
    attempts: list[Attempt]
    """Empty when the body never failed: one attempt, nothing replayed by a retry."""
    seconds: float
    """The time the bars span, for the axis."""
    executions: list[Execution]
    logs: dict[int, list[LogInfo]]
    """The records shown with each step attempt, by its index in the timeline."""

    @property
    def summary(self) -> str:
        """The executions in words, for the run's header ("" when none was recorded)."""
        if not self.executions:
            return ""
        total = self.executions[-1].last
        lost = sum(e.last - e.first + 1 for e in self.executions if e.info is None)
        resumed = [e.info for e in self.executions if e.info is not None and e.info.resumed]
        parts = [f"{total} execution{'' if total == 1 else 's'}"]
        if lost:
            parts.append(f"{lost} ended unrecorded (process killed or lease lost)")
        if resumed:
            replayed = sum(info.replayed for info in resumed)
            parts.append(f"resumed {len(resumed)}× ({replayed} step"
                         f"{'' if replayed == 1 else 's'} replayed)")
        return parts[0] + (": " + ", ".join(parts[1:]) if parts[1:] else "")

    def ticks(self, count: int = 5) -> list[tuple[float, str]]:
        """``count`` evenly spaced axis marks: percent from the left, and a label."""
        scale, unit = (1, "s") if self.seconds >= 1 else (1000, "ms")
        whole = self.seconds * scale
        digits = 0 if whole >= 10 else 1 if whole >= 1 else 2
        return [(100 * n / (count - 1), f"{whole * n / (count - 1):.{digits}f} {unit}")
                for n in range(count)]


def _outermost(keys: Iterable[str]) -> tuple[str, ...]:
    """``keys`` without those under another of them: a helper that finished replays whole."""
    chosen = list(keys)
    kept = set(chosen)

    def inside(key: str) -> bool:
        parent, relation = _parent(key)
        return relation != "step" and (parent in kept or inside(parent))

    return tuple(k for k in chosen if not inside(k))


def _parent(key: str) -> tuple[str, Relation]:
    cut = max(key.rfind("."), key.rfind(":"))
    if cut < 0:
        return "", "step"
    return key[:cut], "scope" if key[cut] == "." else "child"


def waterfall(timeline: Timeline) -> Waterfall:
    """Group ``timeline``'s step attempts for drawing."""
    steps = timeline.steps
    span = _Span(timeline)
    # Rows are recorded in order and a failed body attempt's row is written when it ends, so a
    # row belongs to the attempt counted by the body rows recorded before it.
    body_ids = sorted(s.id for s in steps if s.kind == "body" and s.key == "")
    nodes: dict[str, Node] = {"": Node("", "step")}
    body_bars: list[Bar] = []

    def node(key: str) -> Node:
        found = nodes.get(key)
        if found is None:
            parent_key, relation = _parent(key)
            found = nodes[key] = Node(key, relation)
            node(parent_key).children.append(found)
        return found

    for index, step in enumerate(steps):
        attempt = 1 + bisect_left(body_ids, step.id)
        bar = Bar(step, index, *span.place(step.started_at, step.finished_at), attempt)
        if step.kind == "body" and step.key == "":
            body_bars.append(bar)
        else:
            node(step.key).bars.append(bar)

    def order(tree: Node) -> None:
        tree.children.sort(key=lambda n: min((b.step.started_at, b.step.id)
                                             for b in n.all_bars()))
        for child in tree.children:
            order(child)

    top = nodes[""]
    order(top)
    return Waterfall(top.children, _attempts(timeline, body_bars, top.all_bars(), span),
                     span.length, _executions(timeline, span), _step_logs(steps, timeline.logs))


def _executions(timeline: Timeline, span: _Span) -> list[Execution]:
    found: list[Execution] = []
    seen = 0
    ended = span.start
    for info in timeline.executions:
        if info.epoch > seen + 1:
            found.append(Execution(seen + 1, info.epoch - 1, None,
                                   *span.place(ended, info.started_at)))
        found.append(Execution(info.epoch, info.epoch, info,
                               *span.place(info.started_at, info.ended_at)))
        seen, ended = info.epoch, info.ended_at
    return found


def _position(key: str) -> str:
    """Where a step sits, as a log record's position names it: ``K<`` (an ``async with``) and
    ``K#N`` (an ``async for`` item) are at ``K``."""
    cut = max(key.rfind("."), key.rfind(":")) + 1
    return key[:cut] + key[cut:].partition("#")[0].rstrip("<")


def _step_logs(steps: tuple[StepInfo, ...],
               logs: tuple[LogInfo, ...]) -> dict[int, list[LogInfo]]:
    """Each record goes with the step attempt it led to: the first attempt at its position that
    ended after it was written (a retry's records go with that retry); and with each attempt of
    an enclosing step (a helper scope, a gather child) that was running when it was written. A
    record that led to no recorded step (the body raised first) goes with the failed body
    attempt it was written in."""
    at_position: dict[str, list[int]] = {}
    for index, step in enumerate(steps):
        at_position.setdefault(_position(step.key), []).append(index)
    bodies = at_position.pop("", [])
    found: dict[int, list[LogInfo]] = {}

    def during(indexes: list[int], at: float) -> list[int]:
        return [i for i in indexes if steps[i].started_at <= at <= steps[i].finished_at]

    for log in logs:
        led_to = next((i for i in at_position.get(log.position, ())
                       if steps[i].finished_at >= log.at), None)
        chosen = [] if led_to is None else [led_to]
        key = log.position
        while key:
            key = _parent(key)[0]
            chosen += during(at_position.get(key, []), log.at)
        for i in chosen or during(bodies, log.at):
            found.setdefault(i, []).append(log)
    return found


class _Span:
    """The waterfall's time axis: the first step's or execution's start to the run's end (its
    last update while it runs); a bar is at least 0.4 % wide so that a fast step stays visible."""

    def __init__(self, timeline: Timeline) -> None:
        run = timeline.run
        self.start = min([s.started_at for s in timeline.steps]
                         + [e.started_at for e in timeline.executions], default=run.created_at)
        end = max([s.finished_at for s in timeline.steps]
                  + [e.ended_at for e in timeline.executions]
                  + [run.finished_at or run.updated_at])
        self.length = max(end - self.start, 1e-3)

    def place(self, at: float, until: float) -> tuple[float, float]:
        left = (at - self.start) / self.length * 100
        width = max((until - at) / self.length * 100, 0.4)
        return round(left, 3), round(min(width, 100 - left), 3)


def _attempts(timeline: Timeline, body_bars: list[Bar], bars: list[Bar],
              span: _Span) -> list[Attempt]:
    if not body_bars:
        return []
    run = timeline.run
    found = []
    seen: list[str] = []
    # The attempt after the last failed one exists when it recorded steps, or when the run went
    # on (it runs, waits or completed); a run the failure ended has had no attempt since.
    ended = run.status in ("failed", "dead_lettered", "paused", "cancelled")
    went_on = any(b.attempt > len(body_bars) for b in bars) or not ended
    for number in range(1, len(body_bars) + 1 + went_on):
        live = tuple(dict.fromkeys(b.step.key for b in bars if b.attempt == number))
        replayed = _outermost(k for k in dict.fromkeys(seen) if k not in live)
        seen.extend(b.step.key for b in bars
                    if b.attempt == number and b.step.outcome != "live")
        if number <= len(body_bars):
            body = body_bars[number - 1]
            found.append(Attempt(number, body.left, body.width, body, live, replayed))
        else:
            began = body_bars[-1].step.finished_at
            left, width = span.place(began, run.finished_at or run.updated_at)
            found.append(Attempt(number, left, width, None, live, replayed))
    return found
