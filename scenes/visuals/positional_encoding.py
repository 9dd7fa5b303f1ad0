"""`PositionalEncoding`: the sinusoidal table as a positions-by-dimensions heatmap, a few of its columns as
waves against position, and a token's embedding plus its position's row. Every value is torch's, from the
trace: the scene draws the table it is given and computes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    Create,
    Dot,
    FadeIn,
    FadeOut,
    Line,
    Scene,
    TransformFromCopy,
    VGroup,
    VMobject,
    Write,
)

from scenes import theme
from scenes.anim import appear, note, sign
from scenes.errors import VisualError
from scenes.mobjects.column import settle
from scenes.mobjects.heatmap import Heatmap, ticks
from scenes.mobjects.tensor_grid import TensorGrid
from scenes.mobjects.text import label
from scenes.trace import TensorEntry, format_number, shape_text
from scenes.visuals.base import Area, TensorVisual

MAX_WAVES = 4
TICK = 18


def default_dims(d: int) -> list[int]:
    """The first sines (even dimensions), each slower than the one before: the spread of frequencies."""
    return [k for k in (0, 2, 4, 6) if k < d]


def wave_plot(table: TensorEntry, dims: list[int], area: Area) -> tuple[VGroup, dict[int, VMobject]]:
    """Axes (position across, value up, ticks from the table's range) and one line with dots per dimension."""
    positions = table.shape[0]
    column = {d: [float(table.at(p, d)) for p in range(positions)] for d in dims}
    lo = min(min(v) for v in column.values())
    hi = max(max(v) for v in column.values())
    span = (hi - lo) or 1.0
    w, h = area.width - 1.4, area.height - 1.1
    origin = np.array([area.x - area.width / 2 + 1.1, area.y - area.height / 2 + 0.7, 0.0])

    def point(p: float, v: float) -> np.ndarray:
        return origin + np.array([p / max(positions - 1, 1) * w, (v - lo) / span * h, 0.0])

    axes = VGroup(
        Line(point(0, lo), point(positions - 1, lo), color=theme.MUTED, stroke_width=2),
        Line(point(0, lo), point(0, hi), color=theme.MUTED, stroke_width=2),
    )
    for p in ticks(positions, 5):
        axes.add(label(str(p), TICK, theme.MUTED).next_to(point(p, lo), DOWN, buff=0.1))
    for v in sorted({lo, hi}):  # a constant table has one value to write, once
        axes.add(label(format_number(v, table.dtype, 2), TICK, theme.MUTED).next_to(point(0, v), LEFT, buff=0.1))
    axes.add(label("position →", TICK + 2, theme.ACCENT).next_to(axes[0], DOWN, buff=0.45))
    lines: dict[int, VMobject] = {}
    for k, d in enumerate(dims):
        color = theme.SERIES[k % len(theme.SERIES)]
        pts = [point(p, v) for p, v in enumerate(column[d])]
        line = VMobject(stroke_color=color, stroke_width=3).set_points_as_corners(pts)
        dots = VGroup(*[Dot(pt, radius=0.035, color=color) for pt in pts])
        lines[d] = VGroup(line, dots)
    legend = VGroup(*[label(f"dim {d}", TICK + 2, theme.SERIES[k % len(theme.SERIES)])
                      for k, d in enumerate(dims)]).arrange(RIGHT, buff=0.35)
    legend.next_to(axes, UP, buff=0.15)
    return VGroup(axes, legend), lines


class PositionalEncoding(TensorVisual):
    """The table `pe` (positions x dimensions) as a heatmap; then chosen columns as waves (each a sine or
    cosine of its own frequency); then, with `token` and `x` given, `token + pe[position] = x`."""

    takes: ClassVar[str] = "pe, [token, x]"

    options: ClassVar[dict[str, str]] = {
        "dims": "dimensions drawn as waves, up to 4, e.g. [0, 1, 6] (default: the sines 0, 2, 4, 6)",
        "position": "the position whose row is added to the token (default 1)",
        "digits": "decimals shown for floats (default 2)",
    }

    def check(self) -> tuple[TensorEntry, list[int], int]:
        names = self.spec.tensors
        if len(names) not in (1, 3):
            raise VisualError("PositionalEncoding", None,
                              f"give the table, or table, token and sum; got {len(names)} names")
        table = self.beat[names[0]]
        if table.ndim != 2 or table.numel == 0:
            raise VisualError("PositionalEncoding", names[0],
                              f"expects a positions x dimensions table, got shape {shape_text(table.shape)}")
        if table.truncated:
            raise VisualError("PositionalEncoding", names[0], f"{table.numel} values are too many to trace")
        if table.dtype.startswith(("int", "uint", "bool", "complex")):
            raise VisualError("PositionalEncoding", names[0], f"a {table.dtype} table has no colour scale")
        dims = [int(d) for d in self.option("dims", default_dims(table.shape[1]))]
        bad = [d for d in dims if not 0 <= d < table.shape[1]]
        if bad or not dims or len(dims) > MAX_WAVES:
            raise VisualError("PositionalEncoding", names[0],
                              f"dims {dims} must be 1 to {MAX_WAVES} of 0..{table.shape[1] - 1}")
        position = int(self.option("position", 1))
        if len(names) == 3:
            if not 0 <= position < table.shape[0]:
                raise VisualError("PositionalEncoding", names[0], f"position {position} is not a row of the table")
            for name in names[1:]:
                got = shape_text(self.beat[name].shape)
                if self.beat[name].shape != (table.shape[1],):
                    raise VisualError("PositionalEncoding", name,
                                      f"expects one vector of {table.shape[1]} values, got {got}")
        return table, dims, position

    def steps(self) -> int:
        return 2 + (len(self.spec.tensors) == 3)

    def play(self, scene: Scene) -> Iterator[None]:
        table, dims, position = self.check()
        name = self.spec.tensors[0]
        main, bottom = self.split_area(0.8)
        left = Area(main.x - main.width / 4 - 0.1, main.y, main.width / 2 - 0.2, main.height)
        right = Area(main.x + main.width / 4 + 0.1, main.y, main.width / 2 - 0.2, main.height)
        heat = Heatmap(table, width=left.width - 1.6, height=main.height - 1.0,
                       row_name="position", col_name="dimension", digits=self.digits)
        main.fit(heat, max_scale=1.0)
        self.shown[name] = dict(heat.shown)
        self.shown["legend"] = heat.legend_values
        lead = note(f"{name}: {shape_text(table.shape)}, one row per position, one column per dimension",
                    theme.MUTED)
        bottom.fit(lead, max_scale=1.0)
        scene.play(FadeIn(heat.image), FadeIn(heat.frame), FadeIn(heat.axes), FadeIn(lead), run_time=0.9)
        scene.play(FadeIn(heat.legend), run_time=0.4)
        yield
        scene.play(heat.animate.scale(min(1.0, left.width / heat.width, left.height / heat.height))
                   .move_to(np.array([left.x, left.y, 0.0])), run_time=0.7)
        axes, lines = wave_plot(table, dims, right)
        boxes = VGroup(*[heat.column_box(d, theme.SERIES[k % len(theme.SERIES)]) for k, d in enumerate(dims)])
        self.shown["waves"] = {str(d): [table.label(p, d, digits=self.digits) for p in range(table.shape[0])]
                               for d in dims}
        waves_note = note("each column is a sine or cosine of position; the frequency falls as the dimension grows",
                          theme.MUTED)
        bottom.fit(waves_note, max_scale=1.0)
        scene.play(FadeOut(lead), run_time=0.25)  # the old note leaves before the new one comes: no cross-fade
        scene.play(FadeIn(axes), Create(boxes), FadeIn(waves_note), run_time=0.7)
        scene.play(*[Create(lines[d]) for d in dims], run_time=1.4)
        yield
        if len(self.spec.tensors) == 3:
            yield from self.add_position(scene, heat, VGroup(axes, *lines.values(), boxes), waves_note,
                                         right, bottom, table, position)

    def add_position(self, scene: Scene, heat: Heatmap, waves: VGroup, old_note: Any,
                     right: Area, bottom: Area, table: TensorEntry, position: int) -> Iterator[None]:
        """`token + pe[position] = x`: three rows, the table's row framed where it comes from."""
        name, token_name, sum_name = self.spec.tensors
        token = self.grid(token_name)
        row = TensorGrid(table.select(position), role="selected", digits=self.digits,
                         tag=f"{name}[{position}]  (position {position})")
        self.shown.setdefault("rows", {})[name] = {f"{position},{k}": v for (k,), v in row.shown.items()}
        total = self.grid(sum_name, role="output")
        plus, equals = sign("+"), sign("=")
        stack = VGroup(token, plus, row, equals, total).arrange(DOWN, buff=0.25)
        right.fit(stack, max_scale=1.0)
        frame = heat.row_box(position, theme.ROLES["selected"])
        self.shown["added"] = [
            [self.beat[token_name].label(k, digits=self.digits), table.label(position, k, digits=self.digits),
             self.beat[sum_name].label(k, digits=self.digits)]
            for (k,) in total.cells
        ]
        text = note(f"the embedding of the token at position {position} plus row {position} of the table",
                    theme.MUTED)
        bottom.fit(text, max_scale=1.0)
        scene.play(FadeOut(waves), FadeOut(old_note), Create(frame), run_time=0.6)
        scene.play(appear(token), FadeIn(plus), FadeIn(text), run_time=0.6)
        scene.play(TransformFromCopy(frame, row.body), Write(row.tag), run_time=0.8)
        scene.add(row)
        scene.play(FadeIn(equals), appear(total), run_time=0.7)
        settle(scene, token, total)
        yield

