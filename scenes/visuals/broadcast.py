"""`Broadcast`: shapes right-aligned, size-1 (and missing) axes stretched by ghost copies, then the op."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import ClassVar

from manim import DOWN, RIGHT, FadeIn, FadeOut, Rectangle, Scene, VGroup

from scenes import theme
from scenes.anim import appear, flow, glow, hide, note, reveal, sign
from scenes.errors import VisualError
from scenes.mobjects.tensor_grid import TensorGrid, key
from scenes.mobjects.text import label
from scenes.trace import TensorEntry, broadcast_index, format_number, shape_text
from scenes.visuals.base import TensorVisual, largest_arrangement


def shape_table(
    rows: list[tuple[str, tuple[int, ...]]], width: int, marks: dict[tuple[int, int], str]
) -> VGroup:
    """Shapes right-aligned in columns (one per axis of the widest); `marks[(row, column)]` colours a chip."""
    table = VGroup()
    for r, (name, shape) in enumerate(rows):
        line = VGroup(label(name, theme.BODY_SIZE, theme.TEXT))
        chips = VGroup()
        for col in range(width):
            axis = col - (width - len(shape))
            text = str(shape[axis]) if axis >= 0 else " "
            color = marks.get((r, col), theme.MUTED if axis >= 0 else theme.ROLES["ghost"])
            box = Rectangle(width=0.6, height=0.5, stroke_color=color, stroke_width=2 if axis >= 0 else 1)
            chips.add(VGroup(box, label(text, theme.BODY_SIZE, theme.TEXT).move_to(box)))
        chips.arrange(RIGHT, buff=0.1)
        table.add(VGroup(line, chips))
    names_w = max(row[0].width for row in table)
    for row in table:
        row[1].next_to(row[0], RIGHT, buff=0.3 + names_w - row[0].width)
    return table.arrange(DOWN, aligned_edge=RIGHT, buff=0.15)


def stretched(entry: TensorEntry, shape: tuple[int, ...]) -> TensorEntry:
    """`entry` as broadcasting reads it over `shape`: each cell holds the value at its broadcast index."""

    def build(prefix: tuple[int, ...]) -> object:
        if len(prefix) == len(shape):
            return entry.at(*broadcast_index(prefix, entry.shape))
        return [build((*prefix, i)) for i in range(shape[len(prefix)])]

    if entry.is_complex:
        raise VisualError("Broadcast", entry.name, "complex operands are drawn with Elementwise, not stretched")
    return dataclasses.replace(entry, values=build(()), shape=shape, stride=(0,) * len(shape), bits=None,
                               kept=None, truncated=False, imag=None)


def layout(beside: bool, lines: int) -> Callable[[VGroup], VGroup]:
    """An arrangement of (table, a, op, b, =, result): the sum on one line or two (`a op b` over `= result`),
    with the shape table beside it or above it."""

    def arrange(group: VGroup) -> VGroup:
        table, a, op, b, eq, res = group
        if lines == 1:
            row = VGroup(a, op, b, eq, res).arrange(RIGHT, buff=0.3)
        else:
            first = VGroup(a, op, b).arrange(RIGHT, buff=0.3)
            row = VGroup(first, VGroup(eq, res).arrange(RIGHT, buff=0.3)).arrange(DOWN, buff=0.4)
        VGroup(table, row).arrange(RIGHT if beside else DOWN, buff=theme.GAP * (1.2 if beside else 1.0))
        return group

    return arrange


class Broadcast(TensorVisual):
    """The shape table; each input drawn at the result's shape with only its real cells, the size-1
    axes light up and ghost copies stretch along them; then the element-wise op fills the result."""

    takes: ClassVar[str] = "a, b, result"

    options: ClassVar[dict[str, str]] = {
        "op": "the operator written between the inputs (default '+')",
    }

    def steps(self) -> int:
        """Shape table and inputs; size-1 axes stretched; the op fills the result."""
        return 3

    def check(self, a: TensorEntry, b: TensorEntry, res: TensorEntry) -> None:
        """The result must be the broadcast of both shapes, and drawable as one grid."""
        width = max(a.ndim, b.ndim)
        pad = [(1,) * (width - t.ndim) + tuple(t.shape) for t in (a, b)]
        expected = tuple(max(x, y) if min(x, y) != 0 else 0 for x, y in zip(*pad, strict=True))
        if tuple(res.shape) != expected or any(x not in (1, y) and y not in (1, x) for x, y in zip(*pad, strict=True)):
            raise VisualError("Broadcast", res.name, f"{shape_text(res.shape)} is not the broadcast of "
                              f"{shape_text(a.shape)} and {shape_text(b.shape)}")
        if res.ndim > 4 or res.numel == 0:
            raise VisualError("Broadcast", res.name, f"a {shape_text(res.shape)} result cannot be drawn as "
                              "a grid (empty, or more than 4-D)")

    def play(self, scene: Scene) -> Iterator[None]:
        a_name, b_name, res_name = self.spec.tensors[:3]
        op = str(self.option("op", "+"))
        a, b, res = self.beat[a_name], self.beat[b_name], self.beat[res_name]
        self.check(a, b, res)
        width = res.ndim
        marks: dict[tuple[int, int], str] = {}
        for r, t in enumerate((a, b)):
            for col in range(width):
                axis = col - (width - t.ndim)
                if (axis < 0 or t.shape[axis] == 1) and res.shape[col] != 1:
                    marks[(r, col)] = theme.ROLES["selected"]
        table = shape_table([(a_name, a.shape), (b_name, b.shape), (res_name, res.shape)], width, marks)
        self.shown["stretched_axes"] = sorted([list(m) for m in marks])
        main, bottom = self.split_area(0.6)
        grids = []
        ghosts_of = []
        self.shown["broadcast"] = []
        for name, t in ((a_name, a), (b_name, b)):
            g = TensorGrid(
                stretched(t, res.shape),
                role="input",
                digits=self.digits,
                tag=f"{name}  {shape_text(t.shape)} -> {shape_text(res.shape)}",
                show_badge=False,  # the result's badge says the dtype; the room goes to the values
            )
            real: dict[tuple[int, ...], tuple[int, ...]] = {}
            ghost: dict[tuple[int, ...], tuple[int, ...]] = {}
            for idx in res.indices():
                if idx not in g.shown:  # elided, or covered by a nearer slab
                    continue
                src = broadcast_index(idx, t.shape)
                self.shown["broadcast"].append([name, list(idx), list(src), g.shown[idx]])
                is_real = tuple(idx[len(idx) - len(src) :]) == src and all(
                    i == 0 for i in idx[: len(idx) - len(src)]
                )
                (real if is_real else ghost)[idx] = src
            for idx in ghost:
                g.cell(*idx)[0].set_stroke(theme.ROLES["ghost"], width=1.5).set_fill(opacity=0.3)
                g.cell(*idx)[1].set_color(theme.MUTED)
            self.shown.setdefault(name, {}).update({key(s): g.shown[i] for i, s in real.items()})
            grids.append(g)
            ghosts_of.append((real, ghost))
        rgrid = self.grid(res_name, role="output")
        eq_sign = sign("=", theme.ACCENT)
        op_sign = sign(op, theme.ACCENT)
        parts = VGroup(table, grids[0], op_sign, grids[1], eq_sign, rgrid)
        picture = largest_arrangement(parts, main, [layout(beside, lines) for beside in (True, False)
                                                    for lines in (1, 2)])
        self.fit(picture, main)
        for g, (_, ghost) in zip(grids, ghosts_of, strict=True):
            hide(g.cell(*i) for i in ghost)
        caption = note(
            "shapes line up on the right; an axis of size 1 (or a missing one) is stretched to "
            "match: no memory is copied",
            theme.MUTED,
            width=100,
        )
        bottom.fit(caption)
        scene.play(FadeIn(table), run_time=0.8)
        scene.play(*[appear(g) for g in grids], FadeIn(op_sign), run_time=0.8)
        yield
        chips = [table[r][1][c] for r, c in marks]
        scene.play(glow(chips), FadeIn(caption), run_time=0.6)
        for g, (real, ghost) in zip(grids, ghosts_of, strict=True):
            pairs = []
            for idx in ghost:
                # the ghost copies the nearest real cell: the one it was stretched from
                origin = next((r for r, s in real.items() if s == ghost[idx]), None)
                if origin is not None:
                    pairs.append((g.cell(*origin), g.cell(*idx)))
            flow(scene, pairs, run_time=0.9)
            scene.play(reveal([g.cell(*i) for i in ghost]), run_time=0.2)
        yield
        first = res.indices()[-1]  # the far corner: every stretched axis at work
        operands = [
            format_number(t.at(*broadcast_index(first, t.shape)), t.dtype, self.digits) for t in (a, b)
        ]
        result = res.label(*first, digits=self.digits)
        self.shown["equation"] = [list(first), operands, result]
        eq = note(
            f"{res_name}[{key(first)}] = {operands[0]} {op} {operands[1]} = {result}",
            theme.ROLES["selected"],
            font_mono=True,
        )
        bottom.fit(eq)
        scene.play(FadeOut(caption), run_time=0.25)  # the caption leaves before the equation comes: no cross-fade
        scene.play(FadeIn(eq_sign), appear(rgrid), FadeIn(eq), run_time=1.0)
        yield
