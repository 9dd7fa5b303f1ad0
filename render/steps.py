"""Declared steps and the one runner that decides, runs, records and explains them.

A `Step` names its real inputs (hashed into its key), its outputs and its action. The `Runner` decides
whether it must run (forced, never built, an input changed, an output missing or not what was recorded),
runs it, and records it. A dry runner decides and explains but runs nothing: `render status` is the build's
plan run dry, so the two cannot disagree. Steps whose action runs in a worker pool are `start`ed (decided)
and `finish`ed (recorded) around the pool's work by the caller.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from render.hashing import digest
from render.state import StateFile, StepRecord, explain

Facts = dict[str, Any]


@dataclass
class Step:
    """One unit of work: `action` writes `outputs` (relative to `base`) from `inputs` and returns facts."""

    name: str
    inputs: dict[str, Any]
    outputs: list[str]
    base: Path
    state: StateFile
    action: Callable[[], Facts | None] | None = None
    label: str = ""  # how `render status` names it ("02-sum_dim: clip"); the name when empty

    @property
    def key(self) -> str:
        return digest(self.inputs)

    @property
    def record(self) -> StepRecord | None:
        return self.state.get(self.name)


@dataclass
class Outcome:
    """What the runner did with a step: done, cached, stale (a dry run's 'would run'), waiting or failed."""

    step: str
    status: str
    reason: str = ""
    label: str = ""
    facts: Facts = field(default_factory=dict)
    error: str = ""

    @property
    def ran(self) -> bool:
        return self.status == "done"


@dataclass(frozen=True)
class Spent:
    """What one step's work took: wall seconds from `start` (time.monotonic) and CPU seconds, its own and
    its finished subprocesses'."""

    phase: str  # the step's kind: its name up to the first colon (trace, narrate, clip, video, decks ...)
    start: float
    seconds: float
    cpu: float


def cpu_now() -> float:
    """CPU seconds of this process and of the subprocesses it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measured(call: Callable[..., Any], *args: Any) -> tuple[Any, float, float]:
    """`call(*args)` with the wall and CPU seconds it took where it ran (a pool worker measures its own job)."""
    wall0, cpu0 = time.monotonic(), cpu_now()
    value = call(*args)
    return value, time.monotonic() - wall0, cpu_now() - cpu0


class Runner:
    """Decides, runs, records and explains steps; `dry` decides and explains only. `spent` keeps what each
    run step's work took, for the per-phase timings of a build."""

    def __init__(self, force: bool = False, dry: bool = False):
        self.force = force
        self.dry = dry
        self.log: list[Outcome] = []
        self.spent: list[Spent] = []

    def took(self, step_name: str, seconds: float, cpu: float) -> None:
        """Note the work of a step run elsewhere (a pool job), ending now."""
        self.spent.append(Spent(step_name.split(":")[0], time.monotonic() - seconds, seconds, cpu))

    def why(self, step: Step) -> str:
        """'' when the step's record is current, else the reason it must run."""
        if self.force:
            return "forced (--force)"
        if step.record is None and step.state.problem:
            return step.state.problem
        return explain(step.record, step.inputs, step.base, step.outputs)

    def start(self, step: Step) -> Outcome:
        """Decide: 'cached' (with the recorded facts) or 'stale' with the reason it must run."""
        why = self.why(step)
        label = step.label or step.name
        if not why:
            record = step.record
            return self._log(Outcome(step.name, "cached", label=label, facts=dict(record.facts) if record else {}))
        outcome = Outcome(step.name, "stale", why, label)
        return self._log(outcome) if self.dry else outcome

    def finish(self, step: Step, facts: Facts | None = None, reason: str = "") -> Outcome:
        """Record a step whose outputs were just written."""
        step.state.record(step.name, StepRecord(step.key, step.inputs, list(step.outputs),
                                                facts=dict(facts or {})).seal(step.base))
        return self._log(Outcome(step.name, "done", reason, step.label or step.name, dict(facts or {})))

    def run(self, step: Step) -> Outcome:
        """Decide, and run the step's action here when it must run (not in a dry run)."""
        outcome = self.start(step)
        if outcome.status == "cached" or self.dry:
            return outcome
        assert step.action is not None, f"step {step.name} has no action"
        facts, seconds, cpu = measured(step.action)
        self.took(step.name, seconds, cpu)
        return self.finish(step, facts, outcome.reason)

    def waiting(self, label: str, upstream: str) -> Outcome:
        """A dry run's note for a step whose inputs come from a step that would run first."""
        return self._log(Outcome(label, "waiting", f"after {upstream}", label))

    def failed(self, step: Step, error: str) -> Outcome:
        return self._log(Outcome(step.name, "failed", label=step.label or step.name, error=error))

    def _log(self, outcome: Outcome) -> Outcome:
        self.log.append(outcome)
        return outcome


def phases(spent: list[Spent]) -> dict[str, dict[str, float]]:
    """Per phase: its steps, wall seconds (the time some step of it was running: phases overlap, as a lesson
    joins while the next one's clips render), the steps' summed seconds and their CPU seconds."""
    table: dict[str, dict[str, float]] = {}
    for phase in dict.fromkeys(s.phase for s in spent):
        mine = sorted((s for s in spent if s.phase == phase), key=lambda s: s.start)
        wall, reach = 0.0, float("-inf")
        for s in mine:
            end = s.start + s.seconds
            wall += max(0.0, end - max(s.start, reach))
            reach = max(reach, end)
        table[phase] = {"steps": len(mine), "wall": round(wall, 3), "work": round(sum(s.seconds for s in mine), 3),
                        "cpu": round(sum(s.cpu for s in mine), 3)}
    return table
