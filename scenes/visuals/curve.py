"""`Curve`: a line plot of traced series (loss against step, output against a parameter) with labelled axes
and round ticks. Every point drawn is a traced value; nothing is re-computed here."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from manim import DL, DOWN, RIGHT, UL, UP, UR, Create, FadeIn, Scene, VGroup

from scenes import theme
from scenes.errors import VisualError
from scenes.mobjects.plot import Legend, Plot, corners
from scenes.mobjects.text import label
from scenes.trace import TensorEntry, format_number
from scenes.visuals.base import Area, TensorVisual

MAX_SERIES = len(theme.SERIES)


def numbers(visual: str, entry: TensorEntry, what: str = "a curve") -> list[float | None]:
    """The traced values of a 1-D tensor as floats; nan and inf become None (a gap in the line)."""
    if entry.dtype.startswith("complex"):
        raise VisualError(visual, entry.name, f"{what} needs real values, {entry.name} is {entry.dtype}; "
                                              "return .real, .imag or .abs()")
    if entry.truncated:
        raise VisualError(visual, entry.name, f"only a summary of its {entry.numel} values is traced; "
                                              "sample fewer points (render.curves.sample, n <= 2048)")
    if entry.ndim != 1:
        raise VisualError(visual, entry.name, f"{what} needs a 1-D tensor, got shape {list(entry.shape)}")
    out: list[float | None] = []
    for v in entry.flat():
        if isinstance(v, bool | int | float):
            out.append(float(v))
        elif v in ("nan", "inf", "-inf"):
            out.append(None)
        else:
            raise VisualError(visual, entry.name, f"cannot plot the value {v!r}")
    return out


def span(*series: Sequence[float | None]) -> tuple[float, float]:
    """The smallest and largest finite value over the series."""
    finite = [v for s in series for v in s if v is not None]
    return min(finite), max(finite)


def drawn_points(plot: Plot, line: VGroup) -> list[list[float]]:
    """The data points a drawn line really passes through, read back from its corners on screen."""
    return [[round(x, 6), round(y, 6)] for x, y in (plot.value(p) for p in corners(line))]


class Curve(TensorVisual):
    """The axes appear, then each series is drawn in turn with its legend entry and its last value.

    `Curve("step", "loss")`: y against x; `Curve("loss")`: y against its index; more y names overlay series
    on one pair of axes (all the same length as x)."""

    takes: ClassVar[str] = "[x], ys..."

    options: ClassVar[dict[str, str]] = {
        "x_label": "name of the x axis (default: the x tensor's name, or 'index')",
        "y_label": "name of the y axis (default: the y tensor's name, or 'value' for several)",
        "labels": "legend names, one per y series (default: the tensor names)",
        "digits": "decimals of the values written at each line's end (default 2)",
    }

    def names(self) -> tuple[str | None, list[str]]:
        tensors = list(self.spec.tensors)
        if not tensors:
            raise VisualError("Curve", None, "name at least one traced series: Curve('x', 'y') or Curve('y')")
        return (None, tensors) if len(tensors) == 1 else (tensors[0], tensors[1:])

    def steps(self) -> int:
        return 1 + len(self.names()[1])

    def data(self) -> tuple[list[float | None], list[list[float | None]]]:
        """x and the y series, checked: same length, at most six series, something finite to draw."""
        x_name, y_names = self.names()
        if len(y_names) > MAX_SERIES:
            raise VisualError("Curve", y_names[MAX_SERIES], f"at most {MAX_SERIES} series fit one plot")
        ys = [numbers("Curve", self.beat[n]) for n in y_names]
        xs: list[float | None] = (numbers("Curve", self.beat[x_name]) if x_name
                                  else [float(i) for i in range(len(ys[0]))])
        if x_name and any(v is None for v in xs):
            raise VisualError("Curve", x_name, "x values must be finite")
        for name, y in zip(y_names, ys, strict=True):
            if len(y) != len(xs):
                raise VisualError("Curve", name, f"{len(y)} values against {len(xs)} x values")
            if len(y) < 2 or all(v is None for v in y):
                raise VisualError("Curve", name, "needs at least two points and a finite value")
        return xs, ys

    def legend_names(self, y_names: list[str]) -> list[str]:
        labels = self.option("labels")
        if labels is None:
            return y_names
        if isinstance(labels, str) or len(labels) != len(y_names):
            raise VisualError("Curve", None, f"labels must list one name per series ({len(y_names)})")
        return [str(v) for v in labels]

    def play(self, scene: Scene) -> Iterator[None]:
        require(self, "Curve", self.spec.tensors)
        x_name, y_names = self.names()
        xs, ys = self.data()
        colors = [theme.SERIES[i] for i in range(len(ys))]
        legend = Legend(self.legend_names(y_names), colors)
        a = self.area
        plot_area = Area(a.x - (legend.width + 0.4) / 2, a.y, a.width - legend.width - 0.4, a.height)
        default_y = y_names[0] if len(y_names) == 1 else "value"
        plot = Plot(span(xs), span(*ys), plot_area.width, plot_area.height,
                    str(self.option("x_label", x_name or "index")), str(self.option("y_label", default_y)))
        self.fit(plot, plot_area, max_scale=1.0)
        legend.next_to(plot.frame, RIGHT, buff=0.4).align_to(plot.frame, UP)
        self.shown["ticks"] = {"x": [t.text for t in plot.tick_labels[: len(plot.x_ticks)]],
                               "y": [t.text for t in plot.tick_labels[len(plot.x_ticks):]]}
        scene.play(Create(plot.frame), FadeIn(plot.zero_lines), FadeIn(plot.tick_labels), FadeIn(plot.names),
                   FadeIn(plot.marks), run_time=0.8)
        yield
        self.shown["curves"] = {}
        self.end_tags: list[Any] = []
        for i, (name, y) in enumerate(zip(y_names, ys, strict=True)):
            line = plot.line(xs, y, colors[i])
            self.shown["curves"][name] = drawn_points(plot, line)
            end = self.end_label(plot, xs, y, name, colors[i])
            scene.play(Create(line), FadeIn(legend[i]), run_time=1.2)
            scene.play(FadeIn(end), run_time=0.4)
            yield

    def end_label(self, plot: Plot, xs: list[float | None], y: list[float | None], name: str, color: str) -> Any:
        """The last finite value of a series, written by its end point (the trace's own label)."""
        k = max(i for i, v in enumerate(y) if v is not None)
        text = self.beat[name].label(k, digits=self.digits)
        self.shown.setdefault(name, {})[str(k)] = text
        tag = label(text, theme.BADGE_SIZE + 1, color)
        x, v = xs[k], y[k]
        assert x is not None and v is not None
        p = plot.point(x, v)
        tag.next_to(p, UL, buff=0.08)
        while any(overlap(tag, other) for other in self.end_tags):  # series ending at one point: labels stack
            tag.shift(DOWN * (tag.height + 0.08))
        self.end_tags.append(tag)
        return tag


def overlap(a: Any, b: Any) -> bool:
    """Whether two mobjects' bounding boxes intersect."""
    (ax0, ay0, _), (ax1, ay1, _) = a.get_corner(DL), a.get_corner(UR)
    (bx0, by0, _), (bx1, by1, _) = b.get_corner(DL), b.get_corner(UR)
    return bool(ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1)


def number_label(visual: TensorVisual, kind: str, name: str) -> str:
    """A traced number (a value the beat returned, or a one-element tensor) as the trace labels it; recorded
    in `shown` under its name (tensors) or under "values" (returned numbers)."""
    if name in visual.beat.tensors:
        entry = visual.beat[name]
        if entry.numel != 1:
            raise VisualError(kind, name, f"needs one number, got shape {list(entry.shape)}")
        idx = (0,) * entry.ndim
        text = entry.label(*idx, digits=visual.digits)
        visual.shown.setdefault(name, {})[",".join(map(str, idx))] = text
        return text
    if name not in visual.beat.values:
        raise VisualError(kind, name, f"the beat returned no {name!r}")
    value = visual.beat.values[name]
    if isinstance(value, list | dict) or value is None:
        raise VisualError(kind, name, f"needs one number, got {value!r}")
    dtype = "int64" if isinstance(value, int) and not isinstance(value, bool) else "float32"
    text = format_number(value, dtype, visual.digits)
    visual.shown.setdefault("values", {})[name] = text
    return text


def require(visual: TensorVisual, kind: str, *names: Any) -> None:
    """Every named trace entry exists (tensor or returned value); a missing one is the author's typo, said so."""
    have = sorted(visual.beat.tensors) + sorted(visual.beat.values)
    for name in names:
        for n in [name] if isinstance(name, str) else list(name or []):
            if n not in visual.beat.tensors and n not in visual.beat.values:
                raise VisualError(kind, n, f"the beat returned no {n!r}; it returned {', '.join(have)}")
