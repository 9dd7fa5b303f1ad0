"""How much a grid of 24 numbers costs to build: bare Manim `Text` cells, cached text (scenes.mobjects.text),
`DecimalNumber` cells (with and without an updater), and a whole `TensorGrid`. A benchmark with numbers,
not a test: `.venv/bin/python bench/bench_text.py [repeats]`."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from manim import DecimalNumber, Rectangle, Scene, Text, VGroup, config  # noqa: E402

from scenes import theme  # noqa: E402
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
    ]
    print(f"{'what':40s} {'median ms':>10s} {'best ms':>9s}   ({repeats} repeats)")
    for name, fn, clear in rows:
        median, best = measure(fn, repeats, clear)
        print(f"{name:40s} {median:10.1f} {best:9.1f}")


if __name__ == "__main__":
    main()
