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
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenes.spec import VisualSpec

Compute = Callable[[Any], dict[str, Any]]


class LessonError(Exception):
    """A lesson script that cannot be loaded or whose computation raised, located in its file."""

    def __init__(self, script: Path, line: int | None, message: str, beat: str | None = None):
        self.script = script
        self.line = line
        self.message = message
        self.beat = beat
        where = f"{script}:{line}" if line else str(script)
        super().__init__(f"{where}: {f'beat {beat!r}: ' if beat else ''}{message}")

    @classmethod
    def from_exception(cls, script: Path, exc: BaseException, beat: str | None = None) -> LessonError:
        """Locate `exc` in `script` (the deepest frame inside that file), or its syntax error line."""
        line = None
        if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == script.resolve():
            line = exc.lineno
        for frame in traceback.extract_tb(exc.__traceback__):
            if Path(frame.filename).resolve() == script.resolve():
                line = frame.lineno
        return cls(script, line, f"{type(exc).__name__}: {exc}", beat)


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
        spec.loader.exec_module(module)
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


def capture_error(fn: Callable[[], Any]) -> str:
    """Run `fn` and return the error it raises as text, for beats that show a failure; '' if it succeeds."""
    try:
        fn()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""
