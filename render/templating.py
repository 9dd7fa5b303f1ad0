"""The one Jinja environment (autoescape for HTML, StrictUndefined everywhere) and narration rendering.

Narration is a template over the beat's trace, so every number spoken is one torch computed.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jinja2

from render.course import ROOT
from scenes.trace import BeatTrace, TensorEntry, shape_text

TEMPLATES = ROOT / "templates"


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """Autoescape on for HTML/XML templates; plain-text templates (narration) are not HTML-escaped."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "htm", "xml"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def spoken_number(value: Any, digits: int = 2) -> str:
    """How narration says a traced number: integers plainly, floats rounded with trailing zeros dropped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return {"nan": "not a number", "inf": "infinity", "-inf": "minus infinity"}.get(value, value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def join_spoken(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


class Spoken:
    """Traced values as narration says them: a number, or a list read as `1, 2 and 3`; indexable."""

    def __init__(self, value: Any, digits: int = 2):
        self.value = value
        self.digits = digits

    def __getitem__(self, index: int) -> Spoken:
        return Spoken(self.value[index], self.digits)

    def __len__(self) -> int:
        return len(self.value) if isinstance(self.value, list) else 1

    def __str__(self) -> str:
        if isinstance(self.value, list):
            return join_spoken([str(Spoken(v, self.digits)) for v in self.value])
        return spoken_number(self.value, self.digits)


class TensorView:
    """A traced tensor inside a narration template: `{{ x.shape }}`, `{{ x.values[0] }}`, `{{ x.item }}`."""

    def __init__(self, entry: TensorEntry):
        self.entry = entry

    @property
    def shape(self) -> str:
        return shape_text(self.entry.shape)

    @property
    def dtype(self) -> str:
        return self.entry.dtype

    @property
    def device(self) -> str:
        return self.entry.device

    @property
    def ndim(self) -> int:
        return self.entry.ndim

    @property
    def numel(self) -> int:
        return self.entry.numel

    @property
    def stride(self) -> str:
        return join_spoken([str(s) for s in self.entry.stride])

    @property
    def values(self) -> Spoken:
        return Spoken(self.entry.values)

    @property
    def item(self) -> Spoken:
        return Spoken(self.entry.flat()[0])

    @property
    def grad(self) -> TensorView:
        if self.entry.grad is None:
            raise jinja2.UndefinedError(f"{self.entry.name} has no grad in the trace")
        return TensorView(self.entry.grad)

    def __getitem__(self, index: int) -> Spoken:
        return Spoken(self.entry.values[index])

    def __str__(self) -> str:
        return str(self.values)


def narration_context(beat: BeatTrace) -> dict[str, Any]:
    context: dict[str, Any] = {name: TensorView(t) for name, t in beat.tensors.items()}
    for name, value in beat.values.items():
        context[name] = Spoken(value) if isinstance(value, int | float | list) else value
    context["device"] = beat.device
    return context


def render_narration(template: str, beat: BeatTrace) -> str:
    """Fill a beat's narration template with its traced values (StrictUndefined: unknown names fail)."""
    return environment().from_string(template).render(narration_context(beat)).strip()
