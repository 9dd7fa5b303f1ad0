"""`TensorGrid`: a tensor from the trace as labelled cells, 0-D to 4-D, large ones elided with ellipses."""

from __future__ import annotations

import math
from typing import Any

from manim import DOWN, LEFT, PI, RIGHT, UP, DashedVMobject, Rectangle, Text, VGroup, VMobject

from scenes import theme
from scenes.errors import VisualError
from scenes.mobjects.text import label
from scenes.trace import TensorEntry, format_number, legible_digits, shape_text, short_name

ELLIPSIS = "…"


def kept_indices(n: int, limit: int) -> list[int | None]:
    """Indices to draw along an axis of size n; None marks the ellipsis (first and last ones kept)."""
    if n <= limit:
        return list(range(n))
    head = limit // 2
    tail = limit - 1 - head
    return [*range(head), None, *range(n - tail, n)]


SLICE_GAP = 0.32  # between the frames of two slices (and a slice and an ellipsis)
SLICE_PAD = 0.1  # between a slice's cells (with their index labels) and its frame
TAG_GAP, BADGE_GAP = 0.22, 0.2  # between the body and the shape tag above it, the badge below it
ROOM_ASPECT = 16 / 9  # the width:height a 3-D grid's slices wrap towards (one row of slices, or two)

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

    A 3-D tensor is its 2-D slices side by side (wrapping to two rows when one row would be much wider than
    the screen's shape), each a framed matrix headed by its index (`[1]`, or `B=1` with axis names); a 4-D
    tensor is a grid of slices, its rows following axis 0 and its columns axis 1 (`[0, 1]`, `B=0 H=1`).
    Slices never overlap, so every value drawn is visible. Large axes keep their first and last indices
    around an ellipsis instead of shrinking into illegibility: `max_rows`/`max_cols` in each slice,
    `max_slabs` slices along a 3-D tensor's axis 0 (a 4-D tensor's axis 1), `max_blocks` along a 4-D
    tensor's axis 0. `cells[(i, j, ...)]` is the cell group (box, value) for a logical index; `shown` maps
    every index drawn to its label, so tests compare the picture with the trace. `axis_labels[axis]` holds
    the index labels (or axis letters, or slice headers) drawn for that axis.
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
        digits = legible_digits(tensor.flat()[:4096], tensor.dtype, digits) if not tensor.no_data else digits
        self.digits = digits
        self.font_size = font_size
        self.axis_names = axis_names
        self.cells: dict[tuple[int, ...], VGroup] = {}
        self.shown: dict[tuple[int, ...], str] = {}
        self.axis_labels: dict[int, list[Any]] = {}
        self.slice_rows = self.default_slice_rows = 1  # rows of 2-D slices (a 3-D or 4-D tensor has several)
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
        else:
            body = self._slices(max_slabs, max_blocks, max_rows, max_cols, show_indices)
        self.body = body
        self.add(body)
        title = tag if tag is not None else f"{short_name(name or tensor.name)}  {shape_text(shape)}"
        self.tag = label(title, theme.CAPTION_SIZE, theme.TEXT).next_to(body, UP, buff=TAG_GAP)
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
            self.badge = VGroup(*parts).arrange(RIGHT, buff=0.25).next_to(body, DOWN, buff=BADGE_GAP)
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

    def _matrix(self, prefix: tuple[int, ...], max_rows: int, max_cols: int, show_indices: bool) -> VGroup:
        """The 2-D (or 1-D, or 0-D) part of the tensor at `prefix`: cells in rows, column indices above,
        row indices on the left (and the axis letters, with axis names)."""
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
        if show_indices and shape:
            small = self.font_size * 0.68
            col_labels = VGroup(
                *[self._axis_label(c, small).next_to(cell, UP, buff=0.08)
                  for c, cell in zip(cols, grid[0], strict=True)]
            )
            self.axis_labels.setdefault(ndim - 1, []).extend(col_labels)
            grid.add(col_labels)
            if self.axis_names:
                letter = label(self.axis_names[-1], self.font_size * 0.9, theme.ACCENT)  # a letter the lesson names
                letter.next_to(col_labels, LEFT, buff=0.2)
                if not one_row:
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
                    letter = label(self.axis_names[-2], self.font_size * 0.9, theme.ACCENT)
                    letter.next_to(row_labels, UP, buff=0.12).align_to(row_labels, RIGHT)
                    letter.shift(0.32 * LEFT)
                    self.axis_labels[ndim - 2].append(letter)
                    grid.add(letter)
        return grid

    def _slice(self, prefix: tuple[int, ...], max_rows: int, max_cols: int, show_indices: bool) -> VGroup:
        """The 2-D slice at `prefix` (one or two leading indices) as its own framed matrix, headed by its index:
        `[1]` / `[0, 1]`, or `B=1` / `B=0 H=1` with axis names. Each index of the header is its own text, kept
        in `axis_labels` of its axis."""
        matrix = self._matrix(prefix, max_rows, max_cols, show_indices)
        frame = Rectangle(width=matrix.width + 2 * SLICE_PAD, height=matrix.height + 2 * SLICE_PAD,
                          stroke_color=theme.PANEL_EDGE, stroke_width=1.5, fill_opacity=0).move_to(matrix)
        size = self.font_size * 0.8
        color = theme.ACCENT
        if self.axis_names:
            texts = [f"{self.axis_names[a]}={i}" for a, i in enumerate(prefix)]
        else:
            texts = [f"[{prefix[0]}]"] if len(prefix) == 1 else [f"[{prefix[0]},", f"{prefix[1]}]"]
        parts = [label(t, size, color) for t in texts]
        header = VGroup(*parts).arrange(RIGHT, buff=0.18 if self.axis_names else 0.1, aligned_edge=DOWN)
        header.next_to(frame, UP, buff=0.08)
        for axis, part in enumerate(parts):
            self.axis_labels.setdefault(axis, []).append(part)
        return VGroup(frame, matrix, header)

    def _dots(self, direction: str) -> VMobject:
        """The ellipsis standing for elided slices: across (`h`), down (`v`) or both (`d`)."""
        dots = label(ELLIPSIS, self.font_size * 1.4, theme.MUTED)
        return dots.rotate({"h": 0.0, "v": PI / 2, "d": -PI / 4}[direction])

    def _slices(self, max_slabs: int, max_blocks: int, max_rows: int, max_cols: int, show_indices: bool) -> VGroup:
        """A 3-D tensor's slices in a row (or wrapped, when that is nearer the screen's shape), a 4-D tensor's in
        a grid (rows: axis 0, columns: axis 1), an ellipsis where slices are elided, a gap between frames."""
        shape = self.tensor.shape
        items: list[VMobject] = []
        if len(shape) == 3:
            for d in kept_indices(shape[0], max_slabs):
                items.append(self._dots("h") if d is None else self._slice((d,), max_rows, max_cols, show_indices))
            body = VGroup(*items)
            self.default_slice_rows = self._wrap(items)
            self._place(body, self.default_slice_rows, 1.0)
            return body
        outer, inner = kept_indices(shape[0], max_blocks), kept_indices(shape[1], max_slabs)
        for i in outer:
            for j in inner:
                if i is None or j is None:
                    items.append(self._dots("d" if i is None and j is None else "v" if i is None else "h"))
                else:
                    items.append(self._slice((i, j), max_rows, max_cols, show_indices))
        body = VGroup(*items)
        self.default_slice_rows = self.slice_rows = len(outer)
        body.arrange_in_grid(rows=len(outer), cols=len(inner), buff=(SLICE_GAP, SLICE_GAP))
        return body

    def _place(self, body: VGroup, rows: int, scale: float) -> None:
        """A 3-D tensor's slices in `rows` rows (as many as there are slices: one column, its ellipsis upright)."""
        items = list(body.submobjects)
        upright = rows == len(items) > 1
        for dots in items:
            if isinstance(dots, Text) and getattr(dots, "upright", False) != upright:
                dots.rotate(PI / 2 if upright else -PI / 2)
                dots.upright = upright  # type: ignore[attr-defined]
        center = body.get_center()
        gap = SLICE_GAP * scale
        body.arrange_in_grid(rows=rows, cols=math.ceil(len(items) / rows), buff=(gap, gap)).move_to(center)
        self.slice_rows = rows

    def arrange_slices(self, rows: int | None = None) -> TensorGrid:
        """Lay a 3-D grid's slices out again in `rows` rows (1: side by side; as many as there are slices: one
        column; None: the grid's own choice), the tag above and the badge below, centred where the body was.
        `largest_arrangement` tries a column of slices for the 3-D grids of a picture. Other grids are left as
        they are."""
        if len(self.tensor.shape) != 3 or not self.tensor.numel:
            return self
        rows = min(max(1, rows or self.default_slice_rows), len(self.body))
        if rows == self.slice_rows:
            return self
        scale = next(iter(self.cells.values()))[0].width / self.cell_width
        self._place(self.body, rows, scale)
        self.tag.next_to(self.body, UP, buff=TAG_GAP * scale)
        if len(self.badge):
            self.badge.next_to(self.body, DOWN, buff=BADGE_GAP * scale)
        return self

    @staticmethod
    def _wrap(items: list[VMobject]) -> int:
        """The rows a 3-D tensor's slices take: one, or two when three slices or more (not an ellipsis between
        the first and last) make one row much wider than the screen's shape."""
        if len(items) < 3 or (len(items) == 3 and any(isinstance(m, Text) for m in items)):
            return 1

        def off(rows: int) -> float:
            cols = math.ceil(len(items) / rows)
            lines = [items[k : k + cols] for k in range(0, len(items), cols)]
            w = max(sum(m.width for m in line) + (len(line) - 1) * SLICE_GAP for line in lines)
            h = sum(max(m.height for m in line) for line in lines) + (rows - 1) * SLICE_GAP
            return abs(math.log(w / h / ROOM_ASPECT))

        return 2 if off(2) < off(1) else 1

    # access ----------------------------------------------------------------------------------------
    def cell(self, *index: int) -> VGroup:
        return self.cells[tuple(index)]

    def has(self, index: tuple[int, ...]) -> bool:
        return tuple(index) in self.cells

    def shown_values(self) -> dict[str, str]:
        """Every value label drawn, keyed `"i,j"` (the form visuals put into `shown`)."""
        return {key(i): t for i, t in self.shown.items()}
