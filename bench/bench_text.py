"""How much a grid of 24 numbers costs to build: bare Manim `Text` cells, cached text (scenes.mobjects.text),
`DecimalNumber` cells (with and without an updater), and a whole `TensorGrid`; and the text of the torch.nn
function visuals (Softmax's bar charts, the Curve/Activation plot with ticks and legend, Activation's table)
against bare `Text` of the same strings. A benchmark with numbers, not a test:
`.venv/bin/python bench/bench_text.py [repeats]`."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from manim import (  # noqa: E402
    ORIGIN,
    RIGHT,
    Axes,
    DashedLine,
    DecimalNumber,
    Line,
    Rectangle,
    Scene,
    Text,
    VGroup,
    config,
)

from scenes import theme  # noqa: E402
from scenes.mobjects.plot import Bars, Legend, Plot, tick_text  # noqa: E402
from scenes.mobjects.tensor_grid import TensorGrid  # noqa: E402
from scenes.mobjects.text import _master, label  # noqa: E402
from scenes.trace import TensorEntry  # noqa: E402

config.media_dir = "/tmp/bench-text-media"  # never litter the repository
VALUES = [round(0.37 * i - 4.1, 2) for i in range(24)]  # 24 numbers, like a 4x6 grid
ENTRY = TensorEntry("x", [VALUES[r * 6:(r + 1) * 6] for r in range(4)], (4, 6), "float32", "cpu", (6, 1))


def cells(make: Callable[[float], object]) -> VGroup:
    group = VGroup()
    for v in VALUES:
        box = Rectangle(width=0.9, height=0.55)
        group.add(VGroup(box, make(v)))  # type: ignore[arg-type]
    return group


def bare_text() -> object:
    return cells(lambda v: Text(f"{v:.2f}", font_size=theme.CELL_SIZE, font=theme.FONT))


def cached_text() -> object:
    return cells(lambda v: label(f"{v:.2f}", theme.CELL_SIZE))


def decimal_number() -> object:
    return cells(lambda v: DecimalNumber(v, num_decimal_places=2, font_size=theme.CELL_SIZE, mob_class=Text))


def decimal_with_updater() -> object:
    def make(v: float) -> DecimalNumber:
        d = DecimalNumber(v, num_decimal_places=2, font_size=theme.CELL_SIZE, mob_class=Text)
        d.add_updater(lambda m: m.set_value(v))
        return d
    group = cells(make)
    for _ in range(15):  # one second at 15 fps: updaters rebuild the number's glyphs every frame
        group.update(1 / 15)
    return group


def tensor_grid() -> object:
    return TensorGrid(ENTRY)


CHARTS = [[round(v, 2) for v in (2.0 * k, 1.0, 0.1, -1.0, 0.5 * k, -0.25)] for k in (1, 2, 3)]  # 3 charts x 6 bars
FUNCTIONS = ["ReLU", "LeakyReLU", "GELU", "SiLU", "Tanh", "Sigmoid"]
TABLE = [f"{0.37 * i - 1.5:.2f}" for i in range(12)]  # Activation's input/output table, 4 rows x 3 columns


def softmax_bars() -> object:
    return VGroup(*[Bars(vals, [f"{v:.2f}" for v in vals], [str(i) for i in range(6)], theme.ROLES["input"])
                    for vals in CHARTS])


def softmax_bare() -> object:
    return VGroup(*[VGroup(Text(f"{v:.2f}", font_size=20, font=theme.FONT), Text(str(i), font_size=18, font=theme.FONT))
                    for vals in CHARTS for i, v in enumerate(vals)])


def plot_axes() -> object:
    return VGroup(Plot((-4, 4), (-1, 4), 9, 5.5, "x", "y"), Legend(FUNCTIONS, list(theme.SERIES)),
                  VGroup(*[label(t, 20, theme.TEXT, theme.MONO) for t in TABLE]))


def plot_bare() -> object:
    ticks = [tick_text(v, 2) for v in range(-4, 5, 2)] + [tick_text(v, 1) for v in range(-1, 5)]
    texts = [Text(t, font_size=18, font=theme.FONT) for t in ticks] + [Text(n, font_size=20, font=theme.FONT)
                                                                      for n in ["x", "y", *FUNCTIONS]]
    return VGroup(*texts, *[Text(t, font_size=20, font=theme.MONO) for t in TABLE])


def plot_manim() -> object:
    """The same chart as bare Manim draws it: `Axes` with tick numbers, dashed zero lines, axis names, and
    `Text` for the legend and the table (the fair comparison for the Plot rows, lines included)."""
    axes = Axes(x_range=(-4, 4, 2), y_range=(-1, 4, 1), x_length=8.2, y_length=4.6,
                axis_config={"include_numbers": True, "font_size": 18})
    zero = VGroup(DashedLine(axes.c2p(-4, 0), axes.c2p(4, 0)), DashedLine(axes.c2p(0, -1), axes.c2p(0, 4)))
    names = axes.get_axis_labels(Text("x", font_size=20, font=theme.FONT), Text("y", font_size=20, font=theme.FONT))
    legend = VGroup(*[VGroup(Line(ORIGIN, RIGHT * 0.4), Text(n, font_size=20, font=theme.FONT)) for n in FUNCTIONS])
    return VGroup(axes, zero, names, legend, *[Text(t, font_size=20, font=theme.MONO) for t in TABLE])


def measure(fn: Callable[[], object], repeats: int, clear: bool) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        if clear:
            _master.cache_clear()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, min(times) * 1000


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    Scene  # noqa: B018  (manim imported and configured before timing)
    Text("warm-up", font=theme.FONT)
    rows = [
        ("bare Manim Text, 24 cells", bare_text, False),
        ("cached label(), cold cache", cached_text, True),
        ("cached label(), warm cache", cached_text, False),
        ("DecimalNumber, 24 cells", decimal_number, False),
        ("DecimalNumber + updater, 15 frames", decimal_with_updater, False),
        ("TensorGrid 4x6, cold cache", tensor_grid, True),
        ("TensorGrid 4x6, warm cache", tensor_grid, False),
        ("Softmax bars 3x6: bare Manim Text", softmax_bare, False),
        ("Softmax bars 3x6 (Bars), cold cache", softmax_bars, True),
        ("Softmax bars 3x6 (Bars), warm cache", softmax_bars, False),
        ("Plot+legend+table: bare Manim Text", plot_bare, False),
        ("Plot+legend+table: bare Manim Axes+Text", plot_manim, False),
        ("Plot+legend+table, cold cache", plot_axes, True),
        ("Plot+legend+table, warm cache", plot_axes, False),
    ]
    print(f"{'what':40s} {'median ms':>10s} {'best ms':>9s}   ({repeats} repeats)")
    for name, fn, clear in rows:
        median, best = measure(fn, repeats, clear)
        print(f"{name:40s} {median:10.1f} {best:9.1f}")


if __name__ == "__main__":
    main()
