"""`DtypeLadder`: number types side by side, one rung each: bytes per element, the largest finite value, the
smallest positive normal value, the step from 1 to the next value, and the range drawn on a log scale. Every
number is one the lesson traced from `torch.finfo`, `torch.iinfo` and `element_size()`."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
from manim import (
    DOWN,
    RIGHT,
    FadeIn,
    Line,
    Rectangle,
    Scene,
    SurroundingRectangle,
    VGroup,
)

from scenes import theme
from scenes.mobjects.text import label
from scenes.trace import shape_text
from scenes.visuals.base import TensorVisual

MAX_RUNGS = 6
MAX_BYTES = 16
MAX_NAME = 16
SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
COLUMNS = ["dtype", "bytes", "largest", "smallest normal", "step after 1", "range (log scale)"]


def sci(value: float) -> str:
    """A traced number as the ladder writes it: integers up to a million plainly (127, 65504), anything else
    with three significant digits, in torch's e-notation when it is large or small (3.40e+38, 9.77e-04)."""
    v = float(value)
    if v.is_integer() and abs(v) < 1e6:
        return str(int(v))
    if 1e-2 <= abs(v) < 1e4:
        return f"{v:.3g}"
    return f"{v:.2e}"


class DtypeLadder(TensorVisual):
    """One rung (row) per number type: its name, its bytes per element drawn as boxes, its largest finite
    value, its smallest positive normal value (1 for an integer type), the step between 1 and the next value
    it holds, and a bar from smallest to largest on one shared log scale. The four tensors hold one entry
    per rung, in the order of the traced list of names."""

    takes: ClassVar[str] = "bytes, largest, smallest, step"

    options: ClassVar[dict[str, str]] = {
        "names": "traced value: the list of dtype names, one per rung (default 'dtypes')",
        "highlight": "dtype names whose rungs light up in a last step, the others dimmed",
    }

    def names(self) -> list[str]:
        names = self.text_value(self.option("names", "dtypes"))
        return list(names) if isinstance(names, list) else [names]

    def highlight(self) -> list[str]:
        chosen = self.option("highlight", [])
        return [chosen] if isinstance(chosen, str) else list(chosen)

    def validate(self) -> None:
        if len(self.spec.tensors) != 4:
            self.refuse(None, f"it takes four tensors (bytes, largest, smallest, step); got {len(self.spec.tensors)}")
        key = self.option("names", "dtypes")
        if key not in self.beat.values:
            # named after the first tensor: the list is missing, so it is no entry of the beat
            self.refuse(self.spec.tensors[0], f"the beat returned no list of dtype names called {key!r} "
                        "(option names) to label the rungs")
        names = self.names()
        if not 1 <= len(names) <= MAX_RUNGS:
            self.refuse(key, f"it draws 1 to {MAX_RUNGS} rungs; {key} lists {len(names)}")
        for n in names:
            if not isinstance(n, str) or not n.strip() or len(n) > MAX_NAME or "\n" in n or n != n.strip():
                self.refuse(key, f"each rung's name is a short dtype name ({MAX_NAME} characters at most, one "
                            f"line); {key} holds {str(n)[:30]!r}")
        for name in self.spec.tensors:
            t = self.beat[name]
            if t.no_data or t.truncated:
                self.refuse(name, f"{name} holds no values to write")
            if t.ndim != 1 or t.numel != len(names):
                self.refuse(name, f"{name} must be 1-D with one value per dtype ({len(names)}); it is "
                            f"{shape_text(t.shape)}")
            if t.dtype == "bool" or t.is_complex:
                self.refuse(name, f"{name} is {t.dtype}: it needs real numbers")
            for v in t.flat():
                if isinstance(v, str | bool) or not math.isfinite(float(v)) or float(v) <= 0:
                    self.refuse(name, f"{name} holds {v}: every value must be finite and above 0")
        for v in self.beat[self.spec.tensors[0]].flat():
            if not float(v).is_integer() or float(v) > MAX_BYTES:
                self.refuse(self.spec.tensors[0], f"bytes per element are whole numbers up to {MAX_BYTES}; got {v}")
        large, small = (self.beat[n].flat() for n in self.spec.tensors[1:3])
        for s, g in zip(small, large, strict=True):
            if float(g) < float(s):
                self.refuse(self.spec.tensors[2], f"the smallest value {s} is above the largest {g}")
        for h in self.highlight():
            if h not in names:
                self.refuse(key, f"highlight names {str(h)[:30]!r}, which is not one of the rungs {names}")

    def steps(self) -> int:
        """The frame (column heads and the log axis); one step per rung; the highlight, if any."""
        return 1 + len(self.names()) + (1 if self.highlight() else 0)

    def rung_values(self) -> list[list[float]]:
        """Per rung: bytes, largest, smallest, step, as traced."""
        columns = [self.beat[n].flat() for n in self.spec.tensors]
        return [[float(c[i]) for c in columns] for i in range(len(self.names()))]

    def play(self, scene: Scene) -> Iterator[None]:
        names = self.names()
        values = self.rung_values()
        size = theme.CAPTION_SIZE
        heads = [label(c, size - 2, theme.MUTED) for c in COLUMNS]
        cells: list[list[Any]] = []
        for name, (nbytes, largest, smallest, step) in zip(names, values, strict=True):
            color = theme.dtype_color(name)
            boxes = VGroup(*[Rectangle(width=0.22, height=0.3, stroke_color=color, stroke_width=2,
                                       fill_color=color, fill_opacity=0.5) for _ in range(int(nbytes))])
            boxes.arrange(RIGHT, buff=0.05)
            texts = [sci(nbytes), sci(largest), sci(smallest), sci(step)]
            self.shown.setdefault("rungs", []).append([name, *texts])
            self.shown.setdefault("values", []).append([name, nbytes, largest, smallest, step])
            byte_cell = VGroup(boxes, label(texts[0], size, theme.TEXT)).arrange(RIGHT, buff=0.15)
            cells.append([label(name, size, theme.TEXT), byte_cell,
                          *[label(t, size, theme.TEXT) for t in texts[1:]]])
        widths = [max([heads[c].width] + [r[c].width for r in cells]) for c in range(5)]
        bar_width = 3.2
        gap = 0.45
        starts = []
        x = 0.0
        for w in [*widths, bar_width]:
            starts.append(x)
            x += w + gap
        row_h = 0.62
        for c, head in enumerate(heads):
            head.move_to(np.array([starts[c] + head.width / 2, 0.0, 0.0]))
        for i, row in enumerate(cells):
            for c, mob in enumerate(row):
                mob.move_to(np.array([starts[c] + mob.width / 2, -(i + 1) * row_h, 0.0]))
        # the log axis: one scale for every rung, from the smallest power of ten to the largest
        lows = [math.log10(v[2]) for v in values]
        highs = [math.log10(v[1]) for v in values]
        lo, hi = math.floor(min(lows)), math.ceil(max(highs))
        if hi - lo < 2:
            lo, hi = lo - 1, hi + 1
        x0 = starts[5]

        def at(exponent: float) -> float:
            return x0 + (exponent - lo) / (hi - lo) * bar_width

        bottom_y = -(len(cells) + 0.6) * row_h
        axis = Line(np.array([x0, bottom_y, 0.0]), np.array([x0 + bar_width, bottom_y, 0.0]),
                    stroke_color=theme.MUTED, stroke_width=2)
        ticks = sorted({lo, hi} | ({0} if lo < 0 < hi else set()))
        tick_labels = VGroup()
        for e in ticks:
            text = "1" if e == 0 else "10" + str(e).translate(SUPERSCRIPT)
            tick_labels.add(label(text, size - 4, theme.MUTED).next_to(np.array([at(e), bottom_y, 0.0]), DOWN,
                                                                         buff=0.12))
        self.shown["axis"] = [lo, hi]
        grid_lines = VGroup(*[Line(np.array([at(e), -0.35 * row_h, 0.0]), np.array([at(e), bottom_y, 0.0]),
                                   stroke_color=theme.PANEL_EDGE, stroke_width=1.5) for e in ticks])
        bars = []
        for i, (name, low, high) in enumerate(zip(names, lows, highs, strict=True)):
            left, right = at(low), max(at(high), at(low) + 0.06)
            bar = Rectangle(width=right - left, height=0.3, stroke_width=0, fill_color=theme.dtype_color(name),
                            fill_opacity=0.85).move_to(np.array([(left + right) / 2, -(i + 1) * row_h, 0.0]))
            bars.append(bar)
            self.shown.setdefault("bars", []).append([name, low, high])
        heads[5].move_to(np.array([x0 + bar_width / 2, 0.0, 0.0]))
        for head in heads:  # tops in one line: words with and without descenders sit level
            head.shift(np.array([0.0, 0.15 - head.get_top()[1], 0.0]))
        frame = VGroup(*heads, axis, tick_labels, grid_lines)
        rungs = [VGroup(*row, bar) for row, bar in zip(cells, bars, strict=True)]
        picture = VGroup(frame, *rungs)
        self.fit(picture, self.area, max_scale=1.2)
        scene.play(FadeIn(frame), run_time=0.7)
        yield
        for rung in rungs:
            scene.play(FadeIn(rung, shift=0.2 * RIGHT), run_time=0.7)
            yield
        chosen = self.highlight()
        if chosen:
            self.shown["highlight"] = chosen
            frames = [SurroundingRectangle(rungs[names.index(h)], color=theme.ACCENT, buff=0.08,
                                           stroke_width=3) for h in chosen]
            left, right = min(r.get_left()[0] for r in rungs), max(r.get_right()[0] for r in rungs)
            for box in frames:  # every frame spans the whole row, however short its range bar
                box.stretch_to_fit_width(right - left + 0.16).set_x((left + right) / 2)
            others = [r for n, r in zip(names, rungs, strict=True) if n not in chosen]
            scene.play(*[FadeIn(b) for b in frames], *[r.animate.set_opacity(0.4) for r in others], run_time=0.8)
            yield
