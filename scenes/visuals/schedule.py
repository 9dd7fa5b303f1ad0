"""`Schedule`: learning rates against the step, one line per scheduler, with one step marked: its dot and the
learning rate there. Every rate drawn is one the lesson's real scheduler gave (`sched.get_last_lr()` after each
`sched.step()`, traced); nothing is re-computed here.

Learning rates are small (1e-4 to 1e-1), so the y ticks and the marked value switch to scientific notation
(`5e-4`, `2.5e-3`) when plain decimals would need more than two zeros after the point."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, ClassVar

from manim import DOWN, LEFT, RIGHT, UP, BackgroundRectangle, Create, DashedLine, Dot, FadeIn, Scene, VGroup

from scenes import theme
from scenes.errors import VisualError
from scenes.mobjects.plot import TICK_LENGTH, TICK_SIZE, Legend, Plot, corners
from scenes.mobjects.text import label
from scenes.visuals.base import Area, TensorVisual
from scenes.visuals.curve import MAX_SERIES, numbers, overlap, require

MAX_LR = 1e4  # larger than any learning rate a scheduler gives: a sign the wrong tensor was named
MAX_STEPS = 2048
SCI_BELOW = 0.01  # values (and tick steps) under this are written 2.5e-3, not 0.0025


def lr_text(value: float, digits: int = 3) -> str:
    """A learning rate as the screen writes it: `digits` significant figures, trailing zeros dropped; scientific
    notation under 0.01 (`2.5e-4`, `1e-3`), plain decimals above (`0.1`, `0.0375`)."""
    if value == 0:
        return "0"
    if abs(value) < SCI_BELOW:
        exp = math.floor(math.log10(abs(value)))
        mantissa = round(value / 10**exp, max(digits - 1, 0))
        if abs(mantissa) >= 10:  # 9.996e-4 rounds up to 1e-3
            exp, mantissa = exp + 1, mantissa / 10
        return f"{_trim(f'{mantissa:.{max(digits - 1, 0)}f}')}e{exp}"
    decimals = max(digits - 1 - math.floor(math.log10(abs(value))), 0)
    return _trim(f"{value:.{decimals}f}")


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def tick_lr(value: float, step: float) -> str:
    """A y tick label: plain when the tick step is 0.01 or more, else scientific with the figures the step needs."""
    if abs(value) < step * 1e-6:
        return "0"
    if step >= SCI_BELOW:
        decimals = max(0, -math.floor(math.log10(step) + 1e-9))
        return f"{value:.{decimals}f}"
    figures = 1 + max(0, math.floor(math.log10(abs(value)) + 1e-9) - math.floor(math.log10(step) + 1e-9))
    return lr_text(value, figures)


class Schedule(TensorVisual):
    """The axes appear (step against learning rate), each schedule is drawn in turn with its legend entry (held
    from one step to the next: a rate changes at a step, never between), then
    (with `at`) the step `at` is marked on every line: a dashed line up from the axis, a dot and the rate there.

    `Schedule("lr")` or `Schedule("lr_a", "lr_b")`: 1-D float tensors of learning rates, one per step, all
    the same length (at most six). Ticks and the marked rates are written in scientific notation under 0.01."""

    takes: ClassVar[str] = "lrs..."

    options: ClassVar[dict[str, str]] = {
        "at": "a step index (int) to mark: a dot on each line and its learning rate written there",
        "labels": "legend names, one per schedule (default: the tensor names)",
        "x_label": "name of the x axis (default 'step')",
        "y_label": "name of the y axis (default 'learning rate')",
        "digits": "significant figures of the marked learning rate (default 3)",
    }

    @property
    def digits(self) -> int:
        return int(self.option("digits", 3))

    def names(self) -> list[str]:
        tensors = list(self.spec.tensors)
        if not tensors:
            raise VisualError("Schedule", None, "name at least one traced learning-rate tensor: Schedule('lr')")
        return tensors

    def steps(self) -> int:
        self.validate()
        return 1 + len(self.names()) + (1 if self.option("at") is not None else 0)

    def validate(self) -> None:
        self.data()

    def data(self) -> list[list[float]]:
        """The learning-rate series, checked: floats, 1-D, same length, finite, 0 to MAX_LR, not all zero."""
        names = self.names()
        require(self, "Schedule", names)
        if len(names) > MAX_SERIES:
            raise VisualError("Schedule", names[MAX_SERIES], f"at most {MAX_SERIES} schedules fit one plot")
        series: list[list[float]] = []
        for name in names:
            entry = self.beat[name]
            if not entry.dtype.startswith(("float", "bfloat")):
                raise VisualError("Schedule", name, f"learning rates are floats, {name} is {entry.dtype}")
            ys = numbers("Schedule", entry, "a schedule")
            if not 2 <= len(ys) <= MAX_STEPS:
                raise VisualError("Schedule", name, f"needs 2 to {MAX_STEPS} steps, got {len(ys)}")
            if any(v is None for v in ys):
                raise VisualError("Schedule", name, "a learning rate must be finite (nan or inf traced)")
            finite = [float(v) for v in ys if v is not None]
            if any(not 0 <= v <= MAX_LR for v in finite):
                raise VisualError("Schedule", name, f"learning rates lie between 0 and {MAX_LR:g}; "
                                                    f"got {min(finite):g} to {max(finite):g}")
            if series and len(finite) != len(series[0]):
                raise VisualError("Schedule", name, f"{len(finite)} steps against {len(series[0])} in {names[0]}")
            series.append(finite)
        if max(max(s) for s in series) < 1e-12:
            raise VisualError("Schedule", names[0], "every learning rate is 0: nothing to draw")
        at = self.option("at")
        if at is not None:
            if isinstance(at, bool) or not isinstance(at, int):
                raise VisualError("Schedule", names[0], f"at must be a step index (an int), got {at!r}")
            if not 0 <= at < len(series[0]):
                raise VisualError("Schedule", names[0], f"at={at} is outside steps 0 to {len(series[0]) - 1}")
        labels = self.option("labels")
        if labels is not None and (isinstance(labels, str) or len(labels) != len(names)):
            raise VisualError("Schedule", names[0], f"labels must list one name per schedule ({len(names)})")
        return series

    def play(self, scene: Scene) -> Iterator[None]:
        names = self.names()
        series = self.data()
        labels = [str(v) for v in (self.option("labels") or names)]
        colors = [theme.SERIES[i] for i in range(len(series))]
        legend = Legend(labels, colors)
        a = self.area
        plot_area = Area(a.x - (legend.width + 0.4) / 2, a.y, a.width - legend.width - 0.4, a.height)
        xs = [float(i) for i in range(len(series[0]))]
        plot = Plot((0.0, xs[-1]), (0.0, max(max(s) for s in series)), plot_area.width, plot_area.height,
                    str(self.option("x_label", "step")), str(self.option("y_label", "learning rate")))
        self.relabel_y(plot)
        self.fit(plot, plot_area, max_scale=1.0)
        legend.next_to(plot.frame, RIGHT, buff=0.4).align_to(plot.frame, UP)
        n_x = len(plot.x_ticks)
        self.shown["ticks"] = {"x": [t.text for t in plot.tick_labels[:n_x]],
                               "y": [t.text for t in plot.tick_labels[n_x:]],
                               "y_values": list(plot.y_ticks)}
        scene.play(Create(plot.frame), FadeIn(plot.zero_lines), FadeIn(plot.tick_labels), FadeIn(plot.names),
                   FadeIn(plot.marks), run_time=0.8)
        yield
        self.shown["curves"] = {}
        stairs = [held(xs, ys) for ys in series]
        for name, (hx, hy), color, entry in zip(names, stairs, colors, legend, strict=True):
            line = plot.line(hx, hy, color)
            self.shown["curves"][name] = [[round(x, 6), float(f"{y:.9g}")] for x, y in
                                          (plot.value(q) for q in corners(line))]
            scene.play(Create(line), FadeIn(entry), run_time=1.2)
            yield
        at = self.option("at")
        if at is None:
            return
        guide = DashedLine(plot.point(at, 0.0), plot.point(at, plot.y1), color=theme.PANEL_EDGE, stroke_width=2)
        marks, tags = VGroup(), VGroup()
        self.shown["at"] = {"step": at}
        lines = [dense([plot.point(x, y) for x, y in zip(hx, hy, strict=True)]) for hx, hy in stairs]
        for name, ys, color in zip(names, series, colors, strict=True):
            p = plot.point(at, ys[at])
            marks.add(Dot(p, radius=0.07, color=color))
            text = lr_text(ys[at], self.digits)
            self.shown["at"][name] = text
            tags.add(self.tag(plot, text, color, p, lines, list(tags)))
        scene.play(Create(guide), FadeIn(marks), run_time=0.6)
        scene.play(FadeIn(tags), run_time=0.5)
        yield

    def relabel_y(self, plot: Plot) -> None:
        """Write the y ticks as learning rates (scientific under 0.01), right-aligned by their tick marks."""
        n_x = len(plot.x_ticks)
        for k, v in enumerate(plot.y_ticks):
            old = plot.tick_labels[n_x + k]
            p = plot.point(plot.x0, v)
            new = label(tick_lr(v, plot.y_step), TICK_SIZE, theme.MUTED)
            new.next_to(p + LEFT * TICK_LENGTH, LEFT, buff=0.08)
            plot.tick_labels.submobjects[n_x + k] = new.move_to(old, aligned_edge=RIGHT)

    def tag(self, plot: Plot, text: str, color: str, p: Any, lines: list[list[Any]], others: list[Any]) -> Any:
        """The marked rate, written beside its dot: the nearest place (the dot's corners: above right, above left,
        below right, below left; then the same corners further out) where it crosses no drawn line and no
        earlier tag and stays over the plot. Where none is free it goes above the dot, below earlier tags, on a
        plate of the background's colour, so no line crosses its digits."""
        tag = label(text, theme.BADGE_SIZE + 2, color)
        left, right = plot.point(plot.x0, 0.0)[0], plot.point(plot.x1, 0.0)[0] + 0.3
        top, bottom = plot.point(0.0, plot.y1)[1] + 0.3, plot.point(0.0, plot.y0)[1]
        for lift in (0.0, 0.3, 0.6):
            for corner in (UP + RIGHT, UP + LEFT, DOWN + RIGHT, DOWN + LEFT):
                tag.next_to(p, corner, buff=0.12).shift(UP * corner[1] * lift)
                (x0, y0, _), (x1, y1, _) = tag.get_corner(DOWN + LEFT), tag.get_corner(UP + RIGHT)
                inside = left <= x0 and x1 <= right and y1 <= top and y0 >= bottom
                clear = not any(x0 - 0.05 <= q[0] <= x1 + 0.05 and y0 - 0.05 <= q[1] <= y1 + 0.05
                                for line in lines for q in line)
                if inside and clear and not any(overlap(tag, other) for other in others):
                    return tag
        tag.next_to(p, UP + RIGHT if p[0] < (left + right) / 2 else UP + LEFT, buff=0.12)
        while any(overlap(tag, other) for other in others):
            tag.shift(DOWN * (tag.height + 0.08))
        return VGroup(BackgroundRectangle(tag, color=theme.BACKGROUND, fill_opacity=0.9, buff=0.06), tag)

def held(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    """A schedule as the optimiser sees it: each step's rate held until the next step, where it changes at once
    (joining the samples would draw ramps between steps that no scheduler gives)."""
    hx, hy = xs[:1], ys[:1]
    for x, y in zip(xs[1:], ys[1:], strict=True):
        hx, hy = hx + [x], hy + [hy[-1]]
        if y != hy[-1]:
            hx, hy = hx + [x], hy + [y]
    return hx, hy


def dense(points: list[Any], per: int = 6) -> list[Any]:
    """The points of a drawn line with `per` more along each segment (a steep drop crosses a tag between
    two points)."""
    out = []
    for a, b in zip(points, points[1:], strict=False):
        out += [a + (b - a) * k / per for k in range(per)]
    return out + points[-1:]
