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

    def __init__(self, value: Any, digits: int = 2, path: str = "the value"):
        self.value = value
        self.digits = digits
        self.path = path  # how the narration reached it (`x[0]`), for a clear message when an index is wrong

    def __getitem__(self, index: int) -> Spoken:
        return Spoken(element(self.value, index, self.path), self.digits, f"{self.path}[{index}]")

    def __len__(self) -> int:
        return len(self.value) if isinstance(self.value, list) else 1

    def __bool__(self) -> bool:
        """`{% if flag %}` reads the traced value (False, 0, None, an empty list are false), not the wrapper."""
        return bool(self.value)

    # `{% if gpu_ms < cpu_ms %}`, `{% if n == 3 %}`: comparisons read the traced values too
    def __eq__(self, other: object) -> bool:
        return bool(self.value == _plain(other))

    def __hash__(self) -> int:
        return hash(repr(self.value))

    def __lt__(self, other: object) -> bool:
        return bool(self.value < _plain(other))

    def __le__(self, other: object) -> bool:
        return bool(self.value <= _plain(other))

    def __gt__(self, other: object) -> bool:
        return bool(self.value > _plain(other))

    def __ge__(self, other: object) -> bool:
        return bool(self.value >= _plain(other))

    def __str__(self) -> str:
        if isinstance(self.value, list):
            return join_spoken([str(Spoken(v, self.digits)) for v in self.value])
        return spoken_number(self.value, self.digits)


def _plain(value: object) -> Any:
    return value.value if isinstance(value, Spoken) else value


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
        return Spoken(self.entry.values, path=f"{self.entry.name}.values")

    @property
    def item(self) -> Spoken:
        return Spoken(self.entry.flat()[0])

    @property
    def grad(self) -> TensorView:
        if self.entry.grad is None:
            raise jinja2.UndefinedError(f"{self.entry.name} has no grad in the trace")
        return TensorView(self.entry.grad)

    def __getitem__(self, index: int) -> Spoken:
        name = self.entry.name
        value = element(self.entry.values, index, f"{name} (shape {shape_text(self.entry.shape) or 'scalar'})")
        return Spoken(value, path=f"{name}[{index}]")

    def __str__(self) -> str:
        return str(self.values)


def element(value: Any, index: Any, path: str) -> Any:
    """`value[index]` for a narration, or a message that says what there is to index (jinja would say only that
    an object has no such element)."""
    if not isinstance(value, list):
        raise jinja2.UndefinedError(f"{path} is a single value ({spoken_number(value)}): it has no [{index}]")
    try:
        return value[index]
    except (IndexError, TypeError):
        raise jinja2.UndefinedError(f"{path} has {len(value)} element{'s' if len(value) != 1 else ''} along "
                                    f"this axis (index 0 to {len(value) - 1}): [{index}] is not one of them") from None


def narration_context(beat: BeatTrace) -> dict[str, Any]:
    context: dict[str, Any] = {name: TensorView(t) for name, t in beat.tensors.items()}
    for name, value in beat.values.items():
        context[name] = Spoken(value) if isinstance(value, int | float | list) else value
    context["device"] = beat.device
    return context


def render_narration(template: str, beat: BeatTrace) -> str:
    """Fill a beat's narration template with its traced values (StrictUndefined: unknown names fail)."""
    return environment().from_string(template).render(narration_context(beat)).strip()


def narration_problem(exc: Exception, beat: BeatTrace) -> tuple[str, str | None]:
    """A narration that failed to fill, as an author reads it, and the name to look for in the script (an unknown
    `{{ name }}`: did you mean, and the names the beat has)."""
    import difflib
    import re

    text = str(exc)
    unknown = re.fullmatch(r"'(\w+)' is undefined", text)
    if not unknown:
        return f"narration: {text}" if isinstance(exc, jinja2.TemplateError) else f"narration: {type(exc).__name__}: " \
            f"{text}", None
    name, names = unknown[1], sorted(narration_context(beat))
    returned = [n for n in names if n != "device"]  # the device is the lesson's, not something the beat returns
    folded = {n.lower(): n for n in returned}
    close = [folded[name.lower()]] if name.lower() in folded else difflib.get_close_matches(name, returned, n=1)
    hint = f"did you mean {{{{ {close[0]} }}}}? " if close else ""
    also = " (and {{ device }})" if "device" in names else ""
    return (f"narration speaks {{{{ {name} }}}}, which this beat does not return: {hint}it returns "
            f"{', '.join(returned) or 'nothing'}{also}"), name
