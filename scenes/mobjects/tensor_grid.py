"""`TensorGrid`: a tensor from the trace as labelled cells, 0-D to 4-D, large ones elided with ellipses."""

from __future__ import annotations

from typing import Any

from manim import DOWN, LEFT, RIGHT, UP, DashedVMobject, Rectangle, VGroup

from scenes import theme
from scenes.errors import VisualError
from scenes.mobjects.text import label
from scenes.trace import TensorEntry, format_number, shape_text, short_name

ELLIPSIS = "…"


def kept_indices(n: int, limit: int) -> list[int | None]:
    """Indices to draw along an axis of size n; None marks the ellipsis (first and last ones kept)."""
    if n <= limit:
        return list(range(n))
    head = limit // 2
    tail = limit - 1 - head
    return [*range(head), None, *range(n - tail, n)]


ROW_CHARS = 48  # characters of values a grid's row holds: wider values (int64 extremes, complex) get fewer columns


def fitted_cols(tensor: TensorEntry, max_cols: int, digits: int) -> int:
    """The columns a grid of `tensor` draws: `max_cols`, fewer (at least 3: first, ellipsis, last) when its widest
    value label would make a row wider than ROW_CHARS characters, so the grid stays legible where it is fitted.
    From the traced values alone, so a visual counts the cells it will draw without drawing them."""
    if tensor.no_data or not tensor.numel:
        return max_cols
    widest = max(len(format_number(v, tensor.dtype, digits)) for v in tensor.flat())
    return min(max_cols, max(3, ROW_CHARS // max(widest, 1)))


def key(index: tuple[int, ...]) -> str:
    """The `shown` key of a cell: `"1,2"` for index (1, 2), `""` for a scalar."""
    return ",".join(str(i) for i in index)


class TensorGrid(VGroup):
    """Cells with values formatted by dtype, index labels on each axis, a shape tag and a dtype/device badge.

    3-D tensors are layered slabs with a depth offset, 4-D tensors a row of those. Large axes keep their
    first and last indices around an ellipsis instead of shrinking into illegibility.
    `cells[(i, j, ...)]` is the cell group (box, value) for a logical index; `shown` maps every index
    drawn to its label, so tests compare the picture with the trace. `axis_labels[axis]` holds the index
    labels (or axis letters) drawn for that axis.
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
        max_blocks: int = 3,
        cell_width: float | None = None,
        cell_height: float = theme.CELL_HEIGHT,
        font_size: float = theme.CELL_SIZE,
        show_indices: bool = True,
        show_badge: bool = True,
        show_stride: bool = False,
        axis_names: str | None = None,
        tag: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.tensor = tensor
        self.role = role
        self.role_color: str = theme.ROLES.get(role, role)
        self.digits = digits
        self.font_size = font_size
        self.axis_names = axis_names
        self.cells: dict[tuple[int, ...], VGroup] = {}
        self.shown: dict[tuple[int, ...], str] = {}
        self.axis_labels: dict[int, list[Any]] = {}
        shape = tensor.shape
        if len(shape) > 4 and tensor.numel:
            raise VisualError("TensorGrid", tensor.name, f"a grid draws up to 4-D tensors; this one is "
                              f"{len(shape)}-D ({shape_text(shape)}): reshape it, or index a 4-D part")
        if tensor.no_data:
            raise VisualError("TensorGrid", tensor.name, f"a {tensor.device} tensor has no values to draw")
        if axis_names is not None and len(axis_names) != len(shape):
            raise ValueError(f"axis names {axis_names!r} do not fit {tensor.name}'s {len(shape)} axes")
        max_cols = fitted_cols(tensor, max_cols, digits)
        labels = [format_number(v, tensor.dtype, digits) for v in tensor.flat()[:256]] or ["0"]
        widest = max(len(s) for s in labels)
        self.cell_width = cell_width or max(theme.CELL_WIDTH * 0.75, 0.15 * widest + 0.28)
        self.cell_height = cell_height

        body: VGroup
        if tensor.numel == 0:
            body = self._empty()
        elif len(shape) <= 2:
            body = self._matrix((), max_rows, max_cols, show_indices)
        elif len(shape) == 3:
            body = self._slabs((), max_slabs, max_rows, max_cols, show_indices)
        else:
            blocks = VGroup()
            for b in kept_indices(shape[0], max_blocks):
                if b is None:
                    blocks.add(label(ELLIPSIS, font_size * 1.4, theme.MUTED))
                    continue
                block = self._slabs((b,), 2, max_rows, max_cols, show_indices and b == 0)
                text = f"{axis_names[0]}={b}" if axis_names else f"[{b}]"
                block_label = label(text, font_size * 0.75, theme.ACCENT if axis_names else theme.MUTED)
                self.axis_labels.setdefault(0, []).append(block_label.next_to(block, DOWN, buff=0.15))
                blocks.add(VGroup(block, block_label))
            body = blocks.arrange(RIGHT, buff=0.45, aligned_edge=DOWN)
        self.body = body
        self.add(body)
        title = tag if tag is not None else f"{short_name(name or tensor.name)}  {shape_text(shape)}"
        self.tag = label(title, theme.CAPTION_SIZE, theme.TEXT).next_to(body, UP, buff=0.22)
        self.add(self.tag)
        self.badge = VGroup()
        if show_badge:
            dev = tensor.device.split(":")[0]
            parts = [
                label(tensor.dtype, theme.BADGE_SIZE, theme.dtype_color(tensor.dtype)),
                label(tensor.device, theme.BADGE_SIZE, theme.device_color(dev)),
            ]
            if show_stride:
                parts.append(label(f"stride {tuple(tensor.stride)}", theme.BADGE_SIZE, theme.MUTED))
                parts.append(
                    label(
                        "contiguous" if tensor.is_contiguous else "not contiguous",
                        theme.BADGE_SIZE,
                        theme.ROLES["output"] if tensor.is_contiguous else theme.ROLES["error"],
                    )
                )
            self.badge = VGroup(*parts).arrange(RIGHT, buff=0.25).next_to(body, DOWN, buff=0.2)
            self.add(self.badge)
        for part in [*(m for labels in self.axis_labels.values() for m in labels), self.badge]:
            for text in part.get_family():
                text.annotation = True  # type: ignore[attr-defined]  # small on purpose: lint skips it

    # building blocks -------------------------------------------------------------------------------
    def _cell(self, index: tuple[int, ...]) -> VGroup:
        text = format_number(self.tensor.at(*index), self.tensor.dtype, self.digits)
        ghost = self.role == "ghost"
        box = Rectangle(
            width=self.cell_width,
            height=self.cell_height,
            stroke_color=self.role_color,
            stroke_width=1.5 if ghost else 2,
            fill_color=theme.PANEL,
            fill_opacity=0.35 if ghost else 1,
        )
        value = label(text, self.font_size, theme.MUTED if ghost else theme.TEXT)
        if value.width > self.cell_width * 0.88:
            value.scale_to_fit_width(self.cell_width * 0.88)
        value.move_to(box)
        cell = VGroup(box, value)
        self.cells[index] = cell
        self.shown[index] = text
        return cell

    def _empty(self) -> VGroup:
        """An empty tensor: a dashed outline with no cells (its shape tag says which axis is 0)."""
        box = DashedVMobject(Rectangle(width=self.cell_width * 2, height=self.cell_height,
                                       stroke_color=self.role_color, stroke_width=2), num_dashes=24)
        return VGroup(box, label("empty", self.font_size, theme.MUTED).move_to(box))

    def _blank(self) -> VGroup:
        box = Rectangle(width=self.cell_width, height=self.cell_height, stroke_width=0, fill_opacity=0)
        return VGroup(box, label(ELLIPSIS, self.font_size, theme.MUTED).move_to(box))

    def _axis_label(self, i: int | None, size: float) -> Any:
        return label(ELLIPSIS if i is None else str(i), size, theme.MUTED)

    def _matrix(
        self,
        prefix: tuple[int, ...],
        max_rows: int,
        max_cols: int,
        show_indices: bool,
        cols_below: bool = False,
    ) -> VGroup:
        shape = self.tensor.shape[len(prefix) :]
        ndim = len(self.tensor.shape)
        rows: list[int | None] = kept_indices(shape[0], max_rows) if len(shape) == 2 else [0]
        cols: list[int | None] = kept_indices(shape[-1], max_cols) if shape else [None]
        grid = VGroup()
        one_row = len(shape) < 2
        for r in rows:
            row = VGroup()
            for c in cols:
                if not shape:
                    row.add(self._cell(prefix))
                elif r is None or c is None:
                    row.add(self._blank())
                else:
                    row.add(self._cell((*prefix, c) if one_row else (*prefix, r, c)))
            grid.add(row.arrange(RIGHT, buff=0.06))
        grid.arrange(DOWN, buff=0.06)
        self._rows: list[Any] = list(grid)
        if show_indices and shape:
            small = self.font_size * 0.68
            col_labels = VGroup(
                *[
                    self._axis_label(c, small).next_to(cell, DOWN if cols_below else UP, buff=0.08)
                    for c, cell in zip(cols, grid[-1 if cols_below else 0], strict=True)
                ]
            )
            self.axis_labels.setdefault(ndim - 1, []).extend(col_labels)
            grid.add(col_labels)
            if self.axis_names:
                letter = label(self.axis_names[-1], small * 1.15, theme.ACCENT)
                letter.next_to(col_labels, LEFT, buff=0.2)
                if not one_row and not cols_below:
                    letter.shift(0.05 * UP)
                self.axis_labels[ndim - 1].append(letter)
                grid.add(letter)
            if not one_row:
                row_labels = VGroup(
                    *[
                        self._axis_label(r, small).next_to(row, LEFT, buff=0.12)
                        for r, row in zip(rows, grid[: len(rows)], strict=True)
                    ]
                )
                self.axis_labels.setdefault(ndim - 2, []).extend(row_labels)
                grid.add(row_labels)
                if self.axis_names:
                    letter = label(self.axis_names[-2], small * 1.15, theme.ACCENT)
                    letter.next_to(row_labels, UP, buff=0.12).align_to(row_labels, RIGHT)
                    letter.shift(0.32 * LEFT)
                    self.axis_labels[ndim - 2].append(letter)
                    grid.add(letter)
        return grid

    def _slabs(
        self, prefix: tuple[int, ...], max_slabs: int, max_rows: int, max_cols: int, show_indices: bool
    ) -> VGroup:
        """Layered slabs, each one cell up and one cell right of the slab in front of it, so every slab
        shows its top row and right column; the cells a nearer slab covers are drawn transparent (and
        are not counted as shown). Depth labels sit above each slab's first cell, column indices under
        the front slab; an elided depth adds a diagonal ellipsis behind the last slab."""
        axis = len(prefix)
        kept = kept_indices(self.tensor.shape[axis], max_slabs)
        depths = [d for d in kept if d is not None]
        # in a 4-D block, a gap sets each slab apart, so a back slab's right column and top row do not read
        # as one more column and row of the slab in front
        gap = 0.3 if prefix else 0.0
        step = (self.cell_width + 0.06 + gap) * RIGHT + (self.cell_height + 0.06 + gap / 2) * UP
        slabs = VGroup()
        labels = VGroup()
        for pos in reversed(range(len(depths))):  # back slab first, the front one drawn last (on top)
            d = depths[pos]
            slab = self._matrix((*prefix, d), max_rows, max_cols, show_indices and pos == 0, cols_below=True)
            rows = self._rows
            slab.shift(pos * step)
            if pos:
                for r, row in enumerate(rows):
                    for c, cell in enumerate(row):
                        if r >= 1 and c < len(row) - 1:
                            cell.set_opacity(0)
                            cell.covered = True  # type: ignore[attr-defined]
                            for index, drawn in list(self.cells.items()):
                                if drawn is cell:
                                    del self.shown[index]
            slabs.add(slab)
            text = f"{self.axis_names[axis]}={d}" if self.axis_names else f"[{d}]"
            depth_label = label(text, self.font_size * 0.62, theme.ACCENT if self.axis_names else theme.MUTED)
            depth_label.next_to(rows[0][0], UP, buff=0.06)
            self.axis_labels.setdefault(axis, []).append(depth_label)
            labels.add(depth_label)
            if None in kept and pos == len(depths) - 1:
                dots = label(ELLIPSIS, self.font_size, theme.MUTED).next_to(
                    depth_label, UP + RIGHT, buff=0.02
                )
                labels.add(dots)
        return VGroup(slabs, labels)

    # access ----------------------------------------------------------------------------------------
    def cell(self, *index: int) -> VGroup:
        return self.cells[tuple(index)]

    def has(self, index: tuple[int, ...]) -> bool:
        return tuple(index) in self.cells

    def shown_values(self) -> dict[str, str]:
        """Every value label drawn, keyed `"i,j"` (the form visuals put into `shown`)."""
        return {key(i): t for i, t in self.shown.items()}
