"""`KeyTable`: a state_dict as rows of dotted keys, shapes and kinds (parameter or buffer), long ones elided."""

from __future__ import annotations

from typing import Any

from manim import DOWN, LEFT, UP, Mobject, VGroup, VMobject

from scenes import theme
from scenes.mobjects.module_boxes import BUFFER_COLOR, LINE_SIZE
from scenes.mobjects.tensor_grid import kept_indices
from scenes.mobjects.text import label, mono
from scenes.trace import TensorEntry, format_number, shape_text

KIND_COLORS = {"parameter": theme.ROLES["input"], "buffer": BUFFER_COLOR, "": theme.TEXT}


def preview(entry: TensorEntry, digits: int = 2, count: int = 2) -> str:
    """The first values of a tensor along its last axis, `[0.12, -0.40, …]`; a 0-D tensor's one value."""
    if entry.ndim == 0:
        return format_number(entry.at(), entry.dtype, digits)
    if entry.numel == 0:
        return "[]"
    lead = (0,) * (entry.ndim - 1)
    values = [entry.at(*lead, j) for j in range(min(count, entry.shape[-1])) if entry.has(*lead, j)]
    more = ", …" if entry.numel > len(values) else ""
    return "[" + ", ".join(format_number(v, entry.dtype, digits) for v in values) + more + "]"


class KeyTable(VGroup):
    """One row per key: the dotted key (coloured by kind), its shape, its kind, optionally its first values.

    `rows[key]` is a key's row group, `keys[key]` its key text, `values[key]` its value preview; `shown` lists
    [key, shape, kind] per row drawn. Past `max_rows` the middle rows become one "… n more" line.
    """

    def __init__(self, rows: list[tuple[str, TensorEntry, str]], *, title: str = "", max_rows: int = 10,
                 values: bool = False, digits: int = 2, **kwargs: Any):
        super().__init__(**kwargs)
        self.rows: dict[str, VGroup] = {}
        self.keys: dict[str, Mobject] = {}
        self.values: dict[str, Mobject] = {}
        self.kinds: dict[str, Mobject] = {}
        self.shown: list[list[Any]] = []
        self.previews: dict[str, str] = {}
        cells: list[list[VMobject]] = []
        for i in kept_indices(len(rows), max_rows):
            if i is None:
                cells.append([label(f"… {len(rows) - max_rows + 1} more", LINE_SIZE, theme.MUTED)])
                continue
            key, entry, kind = rows[i]
            row: list[VMobject] = [mono(key, LINE_SIZE, KIND_COLORS.get(kind, theme.TEXT)),
                                  mono(shape_text(entry.shape), LINE_SIZE, theme.MUTED),
                                  label(kind or "tensor", LINE_SIZE, KIND_COLORS.get(kind, theme.MUTED))]
            self.kinds[key] = row[2]
            if values:
                self.previews[key] = preview(entry, digits)
                row.append(mono(self.previews[key], LINE_SIZE, theme.ROLES["output"]))
                self.values[key] = row[-1]
            self.keys[key] = row[0]
            self.shown.append([key, list(entry.shape), kind])
            cells.append(row)
        widths = [max((r[c].width for r in cells if len(r) > c), default=0) for c in range(4)]
        widths[2] = max(widths[2], label("unexpected", LINE_SIZE).width)  # room for the load report
        lines = VGroup()
        for row in cells:
            group = VGroup(*row)
            x = 0.0
            for c, mob in enumerate(row):
                mob.move_to((x, 0, 0), aligned_edge=LEFT)
                x += widths[c] + 0.3
            lines.add(group)
            if len(row) > 1:
                self.rows[self.shown[len(self.rows)][0]] = group
        lines.arrange(DOWN, aligned_edge=LEFT, buff=0.1)
        self.lines = lines
        self.add(lines)
        self.title: VMobject = VGroup()
        if title:
            self.title = label(title, LINE_SIZE + 3, theme.TEXT, weight="BOLD").next_to(lines, UP, buff=0.2)
            self.title.align_to(lines, LEFT)
            self.add(self.title)

