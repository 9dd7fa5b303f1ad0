"""`MemoryStrip`: a tensor's flat storage as one row of cells with their offsets; grids point into it."""

from __future__ import annotations

from typing import Any

from manim import DOWN, RIGHT, UP, Rectangle, VGroup

from scenes import theme
from scenes.mobjects.tensor_grid import ELLIPSIS, kept_indices
from scenes.mobjects.text import label
from scenes.trace import TensorEntry, format_number


def storage_values(tensors: list[TensorEntry]) -> dict[int, Any]:
    """Storage position -> value, read from tensors that share one storage (each element of each tensor
    sits at offset + sum(index * stride)); positions no tensor reaches stay unknown."""
    values: dict[int, Any] = {}
    for t in tensors:
        for idx in t.indices():
            values.setdefault(t.storage_position(*idx), t.at(*idx))
    return values


STRIP_CHARS = 80  # characters of values a strip holds: sixteen 5-character values, fewer wider ones


class MemoryStrip(VGroup):
    """Storage cells 0..n-1 with offset labels above; `cells[pos]` is a cell, `shown[pos]` its label."""

    def __init__(
        self,
        values: dict[int, Any],
        dtype: str,
        *,
        length: int | None = None,
        digits: int = 2,
        max_cells: int = 16,
        color: str = theme.MUTED,
        title: str = "storage",
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        n = length if length is not None else (max(values) + 1 if values else 0)
        texts = {p: format_number(v, dtype, digits) for p, v in values.items()}
        widest = max((len(t) for t in texts.values()), default=1)
        max_cells = min(max_cells, max(3, STRIP_CHARS // widest))  # wide values (complex, int64) get fewer cells
        width = max(0.6, 0.15 * widest + 0.28)
        self.cells: dict[int, VGroup] = {}
        self.shown: dict[int, str] = {}
        row = VGroup()
        offsets = VGroup()
        for p in kept_indices(n, max_cells):
            box = Rectangle(
                width=width,
                height=theme.CELL_HEIGHT,
                stroke_color=color,
                stroke_width=2,
                fill_color=theme.PANEL,
                fill_opacity=1,
            )
            if p is None:
                box.set_stroke(width=0).set_fill(opacity=0)
                row.add(VGroup(box, label(ELLIPSIS, theme.CELL_SIZE, theme.MUTED)))
                continue
            text = texts.get(p, "?")
            value = label(text, theme.CELL_SIZE, theme.TEXT if p in texts else theme.MUTED)
            if value.width > width * 0.88:
                value.scale_to_fit_width(width * 0.88)
            cell = VGroup(box, value.move_to(box))
            self.cells[p] = cell
            self.shown[p] = text
            row.add(cell)
        row.arrange(RIGHT, buff=0)
        for slot, p in zip(row, kept_indices(n, max_cells), strict=True):
            offsets.add(
                label("" if p is None else str(p), theme.CELL_SIZE * 0.62, theme.MUTED).next_to(
                    slot, UP, buff=0.08
                )
            )
        for offset in offsets:
            offset.annotation = True  # type: ignore[attr-defined]  # index labels: small on purpose, lint skips them
        self.row = row
        self.offsets = offsets
        self.title = label(title, theme.CAPTION_SIZE - 2, theme.MUTED).next_to(row, DOWN, buff=0.15)
        self.add(row, offsets, self.title)

    def has(self, pos: int) -> bool:
        return pos in self.cells

    def cell(self, pos: int) -> VGroup:
        return self.cells[pos]
