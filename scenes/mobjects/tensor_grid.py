"""`TensorGrid`: a tensor from the trace as labelled cells, 0-D to 4-D, large ones elided with ellipses."""

from __future__ import annotations

from typing import Any

from manim import DOWN, LEFT, RIGHT, UP, Rectangle, VGroup

from scenes import theme
from scenes.mobjects.text import label
from scenes.trace import TensorEntry, format_number, shape_text

ELLIPSIS = "…"


def kept_indices(n: int, limit: int) -> list[int | None]:
    """Indices to draw along an axis of size n; None marks the ellipsis (first and last ones kept)."""
    if n <= limit:
        return list(range(n))
    head = (limit - 1 + 1) // 2
    tail = limit - 1 - head
    return [*range(head), None, *range(n - tail, n)]


class TensorGrid(VGroup):
    """Cells with values formatted by dtype, index labels, a shape tag and a dtype/device badge.

    `cells[(i, j, ...)]` is the cell group (box + value) for a logical index; `shown` lists every value
    label drawn, keyed by index, so tests compare the picture with the trace.
    """

    def __init__(
        self,
        tensor: TensorEntry,
        *,
        name: str | None = None,
        role: str = "input",
        digits: int = 2,
        max_rows: int = 6,
        max_cols: int = 7,
        max_slabs: int = 3,
        cell_width: float | None = None,
        cell_height: float = theme.CELL_HEIGHT,
        font_size: float = theme.CELL_SIZE,
        show_indices: bool = True,
        show_badge: bool = True,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.tensor = tensor
        self.color = theme.ROLES.get(role, role)
        self.digits = digits
        self.font_size = font_size
        self.cells: dict[tuple[int, ...], VGroup] = {}
        self.shown: dict[tuple[int, ...], str] = {}
        labels = [format_number(v, tensor.dtype, digits) for v in tensor.flat()[:64]] or ["0"]
        widest = max(len(s) for s in labels)
        self.cell_width = cell_width or max(theme.CELL_WIDTH * 0.75, 0.16 * widest + 0.3)
        self.cell_height = cell_height
        shape = tensor.shape
        if len(shape) > 4:
            raise ValueError(f"TensorGrid draws up to 4-D tensors; {tensor.name} is {len(shape)}-D")

        body: VGroup
        if len(shape) <= 2:
            body = self._matrix((), max_rows, max_cols, show_indices)
        elif len(shape) == 3:
            body = self._slabs((), max_slabs, max_rows, max_cols, show_indices)
        else:
            blocks = VGroup()
            for b in kept_indices(shape[0], 3):
                if b is None:
                    blocks.add(label(ELLIPSIS, font_size * 1.4, theme.MUTED))
                else:
                    blocks.add(self._slabs((b,), 2, max_rows, max_cols, False))
            body = blocks.arrange(RIGHT, buff=0.5)
        self.body = body
        self.add(body)
        title = f"{name or tensor.name}  {shape_text(shape)}"
        self.tag = label(title, theme.CAPTION_SIZE, theme.TEXT).next_to(body, UP, buff=0.25)
        self.add(self.tag)
        if show_badge:
            dev = tensor.device.split(":")[0]
            self.badge = VGroup(
                label(tensor.dtype, theme.CAPTION_SIZE - 4, theme.dtype_color(tensor.dtype)),
                label(dev, theme.CAPTION_SIZE - 4, theme.device_color(dev)),
            ).arrange(RIGHT, buff=0.3).next_to(body, DOWN, buff=0.2)
            self.add(self.badge)

    def _cell(self, index: tuple[int, ...]) -> VGroup:
        text = format_number(self.tensor.at(*index), self.tensor.dtype, self.digits)
        box = Rectangle(width=self.cell_width, height=self.cell_height, stroke_color=self.color, stroke_width=2,
                        fill_color=theme.PANEL, fill_opacity=1)
        value = label(text, self.font_size, theme.TEXT)
        if value.width > self.cell_width * 0.9:
            value.scale_to_fit_width(self.cell_width * 0.9)
        value.move_to(box)
        cell = VGroup(box, value)
        self.cells[index] = cell
        self.shown[index] = text
        return cell

    def _blank(self) -> VGroup:
        box = Rectangle(width=self.cell_width, height=self.cell_height, stroke_width=0, fill_opacity=0)
        return VGroup(box, label(ELLIPSIS, self.font_size, theme.MUTED).move_to(box))

    def _matrix(self, prefix: tuple[int, ...], max_rows: int, max_cols: int, show_indices: bool) -> VGroup:
        shape = self.tensor.shape[len(prefix):]
        rows = kept_indices(shape[0], max_rows) if len(shape) == 2 else [None] if shape else [None]
        cols = kept_indices(shape[-1], max_cols) if shape else [None]
        grid = VGroup()
        one_row = len(shape) < 2
        for r in ([0] if one_row else rows):
            row = VGroup()
            for c in cols:
                if not shape:
                    row.add(self._cell(prefix))
                elif (r is None and not one_row) or c is None:
                    row.add(self._blank())
                else:
                    idx = (*prefix, c) if one_row else (*prefix, r, c)
                    row.add(self._cell(idx))
            grid.add(row.arrange(RIGHT, buff=0.06))
        grid.arrange(DOWN, buff=0.06)
        if show_indices and shape:
            small = self.font_size * 0.7
            col_labels = VGroup()
            for c, cell in zip(cols, grid[0], strict=True):
                col_labels.add(label("…" if c is None else str(c), small, theme.MUTED).next_to(cell, UP, buff=0.1))
            grid.add(col_labels)
            if not one_row:
                row_labels = VGroup()
                for r, row in zip(rows, grid[: len(rows)], strict=True):
                    text = "…" if r is None else str(r)
                    row_labels.add(label(text, small, theme.MUTED).next_to(row, LEFT, buff=0.15))
                grid.add(row_labels)
        return grid

    def _slabs(self, prefix: tuple[int, ...], max_slabs: int, max_rows: int, max_cols: int,
               show_indices: bool) -> VGroup:
        depth = self.tensor.shape[len(prefix)]
        slabs = VGroup()
        kept = kept_indices(depth, max_slabs)
        offset = 0.35
        for k, d in enumerate(reversed(kept)):  # back slab first, front slab drawn last (on top)
            pos = len(kept) - 1 - k
            if d is None:
                dots = label(ELLIPSIS, self.font_size * 1.4, theme.MUTED)
                slabs.add(dots.shift(pos * offset * (RIGHT + UP)))
                continue
            slab = self._matrix((*prefix, d), max_rows, max_cols, show_indices and pos == 0)
            slab.add(label(f"[{d}]", self.font_size * 0.7, theme.MUTED).next_to(slab, LEFT, buff=0.4)
                     if pos == 0 else VGroup())
            slab.shift(pos * offset * (RIGHT + UP))
            slabs.add(slab)
        return slabs

    def cell(self, *index: int) -> VGroup:
        return self.cells[tuple(index)]
