"""The `Visual` protocol shared by every beat visual, and the content area it may draw in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from manim import Mobject, Scene

from scenes.spec import VisualSpec
from scenes.trace import BeatTrace


@dataclass(frozen=True)
class Area:
    """A rectangle of the frame in Manim units (centre and size)."""

    x: float
    y: float
    width: float
    height: float

    def fit(self, mob: Mobject, max_scale: float = 1.0) -> Mobject:
        """Scale `mob` down (never up past `max_scale`) to fit, and centre it in the area."""
        scale = min(max_scale, self.width / max(mob.width, 1e-6), self.height / max(mob.height, 1e-6))
        mob.scale(scale)
        return mob.move_to([self.x, self.y, 0])


class Visual:
    """A beat's picture. `play` is a generator: each `yield` ends a step, and the beat scene waits there
    for the next narration cue. `shown` records every value put on screen, for the truth check."""

    def __init__(self, spec: VisualSpec, beat: BeatTrace, area: Area):
        self.spec = spec
        self.beat = beat
        self.area = area
        self.shown: dict[str, Any] = {}

    def option(self, name: str, default: Any = None) -> Any:
        value = self.spec.options.get(name)
        return default if value is None else value

    def play(self, scene: Scene) -> Iterator[None]:
        raise NotImplementedError
        yield
