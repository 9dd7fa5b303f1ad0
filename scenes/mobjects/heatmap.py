"""`Heatmap`: a 2-D tensor from the trace as coloured cells (one block per value), with axis names, a few
tick labels and a colour legend; for tables too large to print as numbers (positional encodings).

Cells are filled rectangles, not an ImageMobject: Manim's image path breaks on the Pillow installed here."""

from __future__ import annotations

from typing import Any

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Rectangle, VGroup

from scenes import theme
from scenes.mobjects.text import label
from scenes.trace import TensorEntry, format_number

LOW = theme.ROLES["input"]  # negative values
HIGH = theme.ROLES["selected"]  # positive values
ZERO = theme.PANEL
TICK_SIZE = 18


def _rgb(hex_color: str) -> np.ndarray:
    h = hex_color.lstrip("#")
    return np.array([int(h[i : i + 2], 16) for i in (0, 2, 4)], dtype=float)


def colour_of(value: float, limit: float) -> str:
    """A diverging colour: LOW at -limit, the panel at 0, HIGH at +limit (a hex string)."""
    t = max(-1.0, min(1.0, value / limit)) if limit > 0 else 0.0
    end = _rgb(HIGH) if t >= 0 else _rgb(LOW)
    r, g, b = (_rgb(ZERO) + abs(t) * (end - _rgb(ZERO))).round().astype(int)
    return f"#{r:02x}{g:02x}{b:02x}"


def colour_cells(colours: list[list[str]], width: float, height: float) -> VGroup:
    """Rows of filled rectangles (no outline) spanning width x height."""
    rows, cols = len(colours), len(colours[0])
    w, h = width / cols, height / rows
    group = VGroup()
    for r, row in enumerate(colours):
        for c, colour in enumerate(row):
            cell = Rectangle(width=w, height=h, stroke_width=1, stroke_color=colour, fill_color=colour, fill_opacity=1)
            group.add(cell.move_to(np.array([(c + 0.5) * w - width / 2, height / 2 - (r + 0.5) * h, 0.0])))
    return group


def ticks(n: int, count: int = 4) -> list[int]:
    """About `count` evenly spaced indices from 0 to n - 1 (both ends kept)."""
    if n <= count:
        return list(range(n))
    step = max(1, round((n - 1) / (count - 1)))
    out = list(range(0, n - 1, step))
    if n - 1 - out[-1] < step / 2:
        out.pop()
    return [*out, n - 1]


class Heatmap(VGroup):
    """Rows by columns of colour; `shown` maps every coloured cell `"r,c"` to its value's label.

    `cell_center(r, c)`, `column_box(c)` and `row_box(r)` place highlights on it; `legend` is the colour bar
    with torch's smallest and largest values written at its ends.
    """

    def __init__(
        self,
        tensor: TensorEntry,
        *,
        width: float = 6.0,
        height: float = 4.0,
        row_name: str = "row",
        col_name: str = "column",
        digits: int = 2,
    ):
        super().__init__()
        if tensor.ndim != 2:
            raise ValueError(f"Heatmap draws 2-D tensors; {tensor.name} is {tensor.ndim}-D")
        self.tensor = tensor
        rows, cols = tensor.shape
        values = np.array([[float(tensor.at(r, c)) for c in range(cols)] for r in range(rows)])
        limit = float(np.abs(values).max()) if values.size else 1.0
        self.image = colour_cells([[colour_of(v, limit) for v in row] for row in values], width, height)
        self.frame = Rectangle(width=width, height=height, stroke_color=theme.PANEL_EDGE, stroke_width=2)
        self.frame.move_to(self.image)
        self.shown = {f"{r},{c}": format_number(values[r, c], tensor.dtype, digits)
                      for r in range(rows) for c in range(cols)}
        self.axes = self._axes(row_name, col_name)
        self.legend = self._legend(values, digits)
        self.add(self.image, self.frame, self.axes, self.legend)

    @property
    def cell_size(self) -> tuple[float, float]:
        rows, cols = self.tensor.shape
        return self.image.width / cols, self.image.height / rows

    def cell_center(self, r: int, c: int) -> np.ndarray:
        w, h = self.cell_size
        corner = self.image.get_corner(UP + LEFT)
        return corner + np.array([(c + 0.5) * w, -(r + 0.5) * h, 0.0])

    def column_box(self, c: int, color: str = theme.TEXT) -> Rectangle:
        w, _ = self.cell_size
        box = Rectangle(width=w, height=self.image.height, stroke_color=color, stroke_width=3)
        return box.move_to(np.array([self.cell_center(0, c)[0], self.image.get_center()[1], 0.0]))

    def row_box(self, r: int, color: str = theme.TEXT) -> Rectangle:
        _, h = self.cell_size
        box = Rectangle(width=self.image.width, height=h, stroke_color=color, stroke_width=3)
        return box.move_to(np.array([self.image.get_center()[0], self.cell_center(r, 0)[1], 0.0]))

    def _axes(self, row_name: str, col_name: str) -> VGroup:
        rows, cols = self.tensor.shape
        group = VGroup()
        for c in ticks(cols, 5):
            group.add(label(str(c), TICK_SIZE, theme.MUTED).next_to(self.cell_center(0, c), UP, buff=0)
                      .set_y(self.image.get_top()[1] + 0.2))
        for r in ticks(rows, 5):
            group.add(label(str(r), TICK_SIZE, theme.MUTED).set_y(self.cell_center(r, 0)[1])
                      .set_x(self.image.get_left()[0] - 0.3, direction=RIGHT))
        top = label(f"{col_name} →", TICK_SIZE + 2, theme.ACCENT)
        top.next_to(self.image, UP, buff=0.45)
        side = label(f"{row_name} ↓", TICK_SIZE + 2, theme.ACCENT).rotate(np.pi / 2)
        side.next_to(self.image, LEFT, buff=0.7)
        return group.add(top, side)

    def _legend(self, values: np.ndarray, digits: int) -> VGroup:
        lo, hi = float(values.min()), float(values.max())
        limit = max(abs(lo), abs(hi))
        bar = colour_cells([[colour_of(v, limit)] for v in np.linspace(hi, lo, 24)],
                           0.25, min(2.0, self.image.height * 0.8))
        bar.next_to(self.image, RIGHT, buff=0.35)
        top = label(format_number(hi, "float32", digits), TICK_SIZE, theme.TEXT).next_to(bar, RIGHT, buff=0.12)
        top.align_to(bar, UP)
        bottom = label(format_number(lo, "float32", digits), TICK_SIZE, theme.TEXT).next_to(bar, RIGHT, buff=0.12)
        bottom.align_to(bar, DOWN)
        self.legend_values = [top.text, bottom.text]
        return VGroup(bar, top, bottom)

    def ticks_shown(self) -> dict[str, Any]:
        """The axis tick labels drawn (row and column indices)."""
        rows, cols = self.tensor.shape
        return {"rows": ticks(rows, 5), "cols": ticks(cols, 5)}

