"""The screenplay: a `Lesson` is a list of `Beat`s, each one idea with narration, computation, visual, slide.

Lesson scripts import only this module, `scenes.vocabulary` and torch. Loading a script turns any error
into a `LessonError` that names the script file and line.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from render.errors import ClaimFailed, LessonError
from scenes.spec import VisualSpec

Compute = Callable[[Any], dict[str, Any]]


@dataclass
class Beat:
    """One idea: narration + computation + visual + slide."""

    name: str
    title: str
    narration: str
    compute: Compute
    visual: VisualSpec
    bullets: tuple[str, ...] = ()
    line: int = 0

    @property
    def source(self) -> str:
        """The exact source of the compute function: the code that ran is the code we show."""
        lines = textwrap.dedent(inspect.getsource(self.compute)).splitlines(keepends=True)
        start = next(i for i, line in enumerate(lines) if line.startswith(("def ", "async def ")))
        return "".join(lines[start:])


@dataclass
class Lesson:
    """A lesson script's content. Metadata (id, title) comes from the course manifest."""

    objectives: list[str] = field(default_factory=list)
    recap: list[str] = field(default_factory=list)
    challenge: str = ""
    seed: int = 0
    beats: list[Beat] = field(default_factory=list)
    script: Path | None = None

    def describe(self) -> dict[str, Any]:
        """The lesson as plain data (everything but the compute functions), carried in its trace so the
        build never imports a lesson script itself."""
        return {
            "objectives": list(self.objectives), "recap": list(self.recap), "challenge": self.challenge,
            "seed": self.seed,
            "beats": [{"name": b.name, "title": b.title, "narration": b.narration, "visual": b.visual.to_json(),
                       "bullets": list(b.bullets), "line": b.line} for b in self.beats],
        }

    @classmethod
    def described(cls, data: dict[str, Any], script: Path) -> Lesson:
        """A lesson rebuilt from `describe()`'s data; its beats cannot compute (the trace already did)."""
        beats = [Beat(b["name"], b["title"], b["narration"], _traced, VisualSpec.from_json(b["visual"]),
                      tuple(b["bullets"]), b["line"]) for b in data["beats"]]
        return cls(list(data["objectives"]), list(data["recap"]), data["challenge"], data["seed"], beats, script)

    def beat(
        self,
        title: str,
        *,
        narration: str,
        visual: VisualSpec,
        slide: list[str] | tuple[str, ...] = (),
        name: str | None = None,
    ) -> Callable[[Compute], Compute]:
        """Decorate a compute function `f(device) -> {name: tensor or value}` to add it as the next beat."""

        def add(compute: Compute) -> Compute:
            beat_name = name or compute.__name__
            if any(b.name == beat_name for b in self.beats):
                raise ValueError(f"two beats are named {beat_name!r}")
            self.beats.append(
                Beat(
                    name=beat_name,
                    title=title,
                    narration=normalise_space(narration),
                    compute=compute,
                    visual=visual,
                    bullets=tuple(slide),
                    line=compute.__code__.co_firstlineno,
                )
            )
            return compute

        return add


def _traced(device: Any) -> dict[str, Any]:
    raise RuntimeError("this beat was rebuilt from its trace and does not compute again")


def normalise_space(text: str) -> str:
    return re.sub(r"\s+", " ", textwrap.dedent(text)).strip()


def load_lesson(script: Path) -> Lesson:
    """Import a lesson script and return its `lesson`; every failure becomes a `LessonError`."""
    module_name = f"_lesson_{script.parent.name}_{script.stem}".replace("-", "_")
    try:
        spec = importlib.util.spec_from_file_location(module_name, script)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {script}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        sys.path.insert(0, str(script.parent))  # helper modules beside the script (`from _models import MLP`)
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(script.parent))
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise LessonError.from_exception(script, exc) from exc
    lesson = getattr(module, "lesson", None)
    if not isinstance(lesson, Lesson):
        raise LessonError(script, None, "defines no `lesson = Lesson(...)`")
    if not lesson.beats:
        raise LessonError(script, None, "has no beats")
    lesson.script = script
    return lesson


_claims: list[list[str]] = []  # a stack: the claims of the beat being traced


def expect(condition: Any, claim: str) -> None:
    """Check a claim the beat's narration or slide makes, with torch's own answer: `condition` is a bool or a
    one-element bool tensor. It is recorded in the trace; when it does not hold, the beat fails with `claim`."""
    try:
        held = bool(condition)
    except Exception as exc:  # a tensor of many values has no single truth
        raise ClaimFailed(claim, f"the condition is not one true/false value: {exc}") from None
    if not held:
        raise ClaimFailed(claim, compared(sys._getframe(1)))
    if _claims:
        _claims[-1].append(claim)


def expect_each(cases: Any, holds: Callable[[Any], Any], claim: str) -> None:
    """Check a general claim ("always", "never", "every", "the same as") on several cases, not only the example on
    screen: `holds(case)` is the check for one case (other sizes, seeds, dtypes); it may draw random numbers, the
    random state is restored after each case. It is recorded with the number of cases; the first case it fails for
    fails the beat, named in the message."""
    import torch

    cases = list(cases)
    if not cases:
        raise ClaimFailed(claim, "no cases to check it on")
    for case in cases:
        try:
            # the random state is left as it was: the learner's code, which shows no checks, draws the same numbers
            with torch.random.fork_rng():
                held = bool(holds(case))
        except Exception as exc:
            raise ClaimFailed(claim, f"checking case {_short(case)} raised {type(exc).__name__}: {exc}") from None
        if not held:
            raise ClaimFailed(claim, f"it does not hold for case {_short(case)}")
    if _claims:
        _claims[-1].append(f"{claim} (checked on {len(cases)} cases)")


def compared(frame: Any) -> str:
    """For a failed `expect(a == b, ...)` whose sides are plain reads (names, attributes, indexing): what each side
    held, as the author needs to see it ("scores.shape[-1] is 3, head_dim is 4"); '' for any other condition."""
    import ast
    import linecache

    try:
        text = "".join(linecache.getline(frame.f_code.co_filename, n) for n in range(frame.f_lineno,
                       frame.f_lineno + 6))
        call = next(n for n in ast.walk(ast.parse(textwrap.dedent(_call_text(text))))
                    if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "expect")
        condition = call.args[0]
        if not (isinstance(condition, ast.Compare) and len(condition.comparators) == 1):
            return ""
        sides = [condition.left, condition.comparators[0]]
        if any(isinstance(n, ast.Call | ast.Lambda | ast.NamedExpr) for side in sides for n in ast.walk(side)):
            return ""
        said = []
        for side in sides:
            if isinstance(side, ast.Constant):
                continue
            value = eval(compile(ast.Expression(side), "<expect>", "eval"), frame.f_globals, frame.f_locals)  # noqa: S307
            said.append(f"{ast.unparse(side)} is {_short(value)}")
        return ", ".join(said)
    except Exception:  # the explanation is a courtesy: the claim's own words still say what failed
        return ""


def _call_text(text: str) -> str:
    """The source from an `expect(` call to its closing parenthesis (a call may span lines)."""
    start = text.index("expect(")
    depth = 0
    for i, ch in enumerate(text[start:], start):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and ch == ")":
            return text[start:i + 1]
    return text[start:]


def _short(value: Any) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


@contextmanager
def claims_recorded() -> Iterator[list[str]]:
    """Collect the `expect` claims made while a beat computes."""
    _claims.append([])
    try:
        yield _claims[-1]
    finally:
        _claims.pop()


def capture_error(fn: Callable[[], Any]) -> str:
    """Run `fn` and return the error it raises as text, for beats that show a failure; '' if it succeeds."""
    try:
        fn()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def line_naming(script: Path, start: int, word: str) -> int:
    """The first line from `start` on (a beat's decorator) where `word` appears as a word: the narration line
    that speaks a name, the `visual=` line; `start` when there is none."""
    import re

    lines = script.read_text(encoding="utf-8").splitlines()
    pattern = re.compile(rf"(?<![\w.]){re.escape(word)}(?!\w)")
    return next((i for i in range(start, len(lines) + 1) if pattern.search(lines[i - 1])), start)
