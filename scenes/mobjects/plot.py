"""Charts drawn from traced numbers: `Plot` (axes with readable ticks, axis names, data-to-screen mapping,
lines through traced points), `Bars` (one bar per value, its label over it) and `Legend`.

Built at their final size so their text stays the size the theme asks for; tick values are round numbers
chosen to cover the data's range (they describe the axes, the data itself comes from the trace).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, DashedLine, Dot, Line, Rectangle, VGroup, VMobject

from scenes import theme
from scenes.mobjects.text import label

TICK_SIZE = 18  # digits about 11 px tall at 480p
NAME_SIZE = 20
TICK_LENGTH = 0.1


def xyz(x: float, y: float) -> np.ndarray:
    return np.array([x, y, 0.0])


def nice_step(span: float, count: int = 5) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about `count` intervals over `span`."""
    raw = max(span, 1e-12) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw * 0.999)


def nice_range(lo: float, hi: float, count: int = 5) -> tuple[float, float, float]:
    """(start, stop, step): the data range widened to whole steps, so the axis ends on a tick."""
    if hi - lo < 1e-12:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo, count)
    start = math.floor(lo / step + 1e-9) * step
    stop = math.ceil(hi / step - 1e-9) * step
    return start, stop, step


def tick_text(value: float, step: float) -> str:
    """A tick label with as many decimals as the step needs (`0.5`, `2`, `-0.25` never, steps are 1-2-5)."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text


class Plot(VGroup):
    """An x/y chart of `width` x `height` units: a frame with ticks and tick labels on the left and bottom,
    a faint zero line when zero is inside a range, and the axis names (the y name above its axis, level, so
    it reads like every other label). `point(x, y)` maps data to the screen, `value(p)` back again."""

    def __init__(self, x_range: tuple[float, float], y_range: tuple[float, float], width: float, height: float,
                 x_name: str = "", y_name: str = "", ticks: int = 5):
        super().__init__()
        self.x0, self.x1, self.x_step = nice_range(*x_range, ticks)
        self.y0, self.y1, self.y_step = nice_range(*y_range, ticks)
        self.x_ticks = self._ticks(self.x0, self.x1, self.x_step)
        self.y_ticks = self._ticks(self.y0, self.y1, self.y_step)
        y_labels = [label(tick_text(v, self.y_step), TICK_SIZE, theme.MUTED) for v in self.y_ticks]
        left = max(t.width for t in y_labels) + TICK_LENGTH + 0.15
        bottom = label("0", TICK_SIZE).height + TICK_LENGTH + 0.15 + (0.4 if x_name else 0.0)
        top = 0.45 if y_name else 0.1
        self.box_w, self.box_h = width - left - 0.3, height - bottom - top
        self.origin = np.array([-width / 2 + left, -height / 2 + bottom, 0.0])
        corner = self.origin + np.array([self.box_w, self.box_h, 0.0])
        self.frame = VGroup(
            Line(self.origin, xyz(corner[0], self.origin[1]), color=theme.MUTED, stroke_width=2),
            Line(self.origin, xyz(self.origin[0], corner[1]), color=theme.MUTED, stroke_width=2),
        )
        self.zero_lines = VGroup()
        if self.y0 < 0 < self.y1:
            self.zero_lines.add(DashedLine(self.point(self.x0, 0), self.point(self.x1, 0),
                                           color=theme.PANEL_EDGE, stroke_width=1.5))
        if self.x0 < 0 < self.x1:
            self.zero_lines.add(DashedLine(self.point(0, self.y0), self.point(0, self.y1),
                                           color=theme.PANEL_EDGE, stroke_width=1.5))
        self.tick_labels = VGroup()
        self.marks = marks = VGroup()
        for v in self.x_ticks:
            p = self.point(v, self.y0)
            marks.add(Line(p, p + DOWN * TICK_LENGTH, color=theme.MUTED, stroke_width=2))
            self.tick_labels.add(label(tick_text(v, self.x_step), TICK_SIZE, theme.MUTED)
                                 .next_to(p + DOWN * TICK_LENGTH, DOWN, buff=0.08))
        for v, text in zip(self.y_ticks, y_labels, strict=True):
            p = self.point(self.x0, v)
            marks.add(Line(p, p + LEFT * TICK_LENGTH, color=theme.MUTED, stroke_width=2))
            self.tick_labels.add(text.next_to(p + LEFT * TICK_LENGTH, LEFT, buff=0.08))
        self.names = VGroup()
        if x_name:
            self.names.add(label(x_name, NAME_SIZE, theme.TEXT)
                           .next_to(self.tick_labels[: len(self.x_ticks)], DOWN, buff=0.12)
                           .set_x(self.origin[0] + self.box_w / 2))
        if y_name:
            self.names.add(label(y_name, NAME_SIZE, theme.TEXT)
                           .next_to(self.point(self.x0, self.y1), UP, buff=0.15)
                           .align_to(self.tick_labels[-1], LEFT))
        self.add(self.zero_lines, self.frame, marks, self.tick_labels, self.names)

    @staticmethod
    def _ticks(start: float, stop: float, step: float) -> list[float]:
        n = int(round((stop - start) / step))
        return [start + k * step for k in range(n + 1)]

    def point(self, x: float, y: float) -> np.ndarray:
        """The screen point of data (x, y) (follows the plot when it is moved or scaled)."""
        fx = (x - self.x0) / (self.x1 - self.x0)
        fy = (y - self.y0) / (self.y1 - self.y0)
        o, w, h = self._placement()
        return o + np.array([fx * w, fy * h, 0.0])

    def value(self, p: np.ndarray) -> tuple[float, float]:
        """The data (x, y) at screen point `p`: the inverse of `point`, to check what a line passes through."""
        o, w, h = self._placement()
        return (self.x0 + (p[0] - o[0]) / w * (self.x1 - self.x0), self.y0 + (p[1] - o[1]) / h * (self.y1 - self.y0))

    def _placement(self) -> tuple[np.ndarray, float, float]:
        """Origin and box size now: the frame's two axis lines move and scale with the plot."""
        if not hasattr(self, "frame"):
            return self.origin, self.box_w, self.box_h
        x_axis, y_axis = self.frame
        o = x_axis.get_start()
        return o, x_axis.get_end()[0] - o[0], y_axis.get_end()[1] - o[1]

    def line(self, xs: Sequence[float | None], ys: Sequence[float | None], color: str,
             width: float = 4) -> VGroup:
        """A line through the points (x, y); a None in either breaks the line there (a gap)."""
        runs: list[list[np.ndarray]] = [[]]
        for x, y in zip(xs, ys, strict=True):
            if x is None or y is None:
                runs.append([])
            else:
                runs[-1].append(self.point(x, y))
        pieces = VGroup()
        for run in runs:
            if len(run) >= 2:
                pieces.add(VMobject(color=color, stroke_width=width).set_points_as_corners(run))
            elif len(run) == 1:
                pieces.add(Dot(run[0], radius=0.03, color=color))
        return pieces

    def contains(self, x: float, y: float) -> bool:
        return self.x0 - 1e-9 <= x <= self.x1 + 1e-9 and self.y0 - 1e-9 <= y <= self.y1 + 1e-9


def corners(line: VGroup) -> list[np.ndarray]:
    """The points a `Plot.line` passes through, in order (each piece's corners, without repeats)."""
    out: list[np.ndarray] = []
    for piece in line:
        if isinstance(piece, Dot):
            out.append(piece.get_center())
            continue
        anchors = piece.get_anchors()
        for p in anchors:
            if not out or np.linalg.norm(out[-1] - p) > 1e-9:
                out.append(p)
    return out


class Legend(VGroup):
    """Coloured line samples with their names, one row each."""

    def __init__(self, names: Sequence[str], colors: Sequence[str], size: float = NAME_SIZE):
        super().__init__()
        for name, color in zip(names, colors, strict=True):
            swatch = Line(LEFT * 0.25, RIGHT * 0.25, color=color, stroke_width=6)
            self.add(VGroup(swatch, label(name, size, color)).arrange(RIGHT, buff=0.15))
        self.arrange(DOWN, aligned_edge=LEFT, buff=0.15)


class Bars(VGroup):
    """One bar per value on a shared baseline (negative values hang below it), the value's text over (or
    under) its bar and a name under the baseline. A value of None is a masked entry: no bar, a cross, and
    its text (`-inf`). `height` is the tallest bar's length; `bars[i]`, `texts[i]` and `names[i]` by index."""

    def __init__(self, values: Sequence[float | None], texts: Sequence[str], names: Sequence[str], color: str,
                 height: float = 2.0, slot: float = 0.7, size: float = TICK_SIZE + 2):
        super().__init__()
        finite = [abs(v) for v in values if v is not None]
        top = max(finite, default=1.0) or 1.0
        self.scale_factor = height / top
        self.bars, self.texts, self.names = VGroup(), VGroup(), VGroup()
        for i, (v, text) in enumerate(zip(values, texts, strict=True)):
            x = i * slot
            tag = label(text, size, theme.TEXT if v is not None else theme.ROLES["error"])
            if tag.width > slot * 0.96:
                tag.scale_to_fit_width(slot * 0.96)
            if v is None:
                bar: VMobject = VGroup(Line(xyz(x - 0.12, 0.12), xyz(x + 0.12, -0.12), color=theme.ROLES["error"]),
                                       Line(xyz(x - 0.12, -0.12), xyz(x + 0.12, 0.12), color=theme.ROLES["error"]))
                tag.next_to(bar, UP, buff=0.1)
            else:
                length = max(abs(v) * self.scale_factor, 0.02)
                bar = Rectangle(width=slot * 0.6, height=length, stroke_color=color, stroke_width=2,
                                fill_color=color, fill_opacity=0.55)
                bar.move_to(xyz(x, length / 2 if v >= 0 else -length / 2))
                tag.next_to(bar, UP if v >= 0 else DOWN, buff=0.08)
            self.bars.add(bar)
            self.texts.add(tag)
        self.baseline = Line(xyz(-slot / 2, 0), xyz((len(values) - 0.5) * slot, 0), color=theme.MUTED,
                             stroke_width=2)
        low = min([0.0] + [t.get_bottom()[1] for t in self.texts]) - 0.1
        for i, name in enumerate(names):
            self.names.add(label(name, TICK_SIZE, theme.MUTED).move_to(xyz(i * slot, low - 0.15)))
        self.add(self.baseline, self.bars, self.texts, self.names)
