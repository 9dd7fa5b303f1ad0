"""`MatmulSweep`: matrix multiplication as the row-times-column sweep, cell by cell, the products summed on
screen; inner dimensions cancel in the shape label; batched matmul as one sweep per batch."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
from manim import DL, DOWN, DR, LEFT, RIGHT, UP, UR, Create, FadeIn, FadeOut, Line, Scene, VGroup, Write

from scenes import theme
from scenes.anim import appear, glow, hide, note, restore, reveal
from scenes.errors import VisualError
from scenes.mobjects.tensor_grid import TensorGrid, fitted_cols
from scenes.mobjects.text import label
from scenes.trace import TensorEntry, broadcast_index, shape_text, sum_of_products
from scenes.visuals.base import Area, TensorVisual, grid_cells

STEPPED = 3
MAX_TERMS = 4


def shape_label(
    a: tuple[int, ...], b: tuple[int, ...], c: tuple[int, ...], op: str
) -> tuple[VGroup, list[Any]]:
    """`(2x3) @ (3x4) -> (2x4)` with the inner dimensions in the summed colour (they cancel)."""

    def part(shape: tuple[int, ...], inner_at: int) -> list:
        out = []
        for i, n in enumerate(shape):
            color = theme.ROLES["summed"] if i == inner_at else theme.TEXT
            out.append(label(str(n), theme.BODY_SIZE, color))
            if i < len(shape) - 1:
                out.append(label("x", theme.BODY_SIZE, theme.MUTED))
        return out

    sym = "@" if op in ("@", "matmul") else op
    pieces = [
        label("(", theme.BODY_SIZE),
        *part(a, len(a) - 1),
        label(")", theme.BODY_SIZE),
        label(f" {sym} ", theme.BODY_SIZE, theme.ACCENT),
        label("(", theme.BODY_SIZE),
        *part(b, len(b) - 2),
        label(")", theme.BODY_SIZE),
        label(" -> ", theme.BODY_SIZE, theme.ACCENT),
        label("(", theme.BODY_SIZE),
        *part(c, -1),
        label(")", theme.BODY_SIZE),
    ]
    group = VGroup(*pieces).arrange(RIGHT, buff=0.06)
    return group, [pieces[2 * (len(a) - 1) + 1], pieces[3 + 2 * len(a) + 2 * (len(b) - 2)]]


class MatmulSweep(TensorVisual):
    """A left, B above, the result where row and column meet. For each of the first cells: row i and
    column j glow, `a·b + a·b + ... = c` is written with the factors and torch's result, the cell fills."""

    takes: ClassVar[str] = "a, b, result"

    options: ClassVar[dict[str, str]] = {
        "op": "'@', 'mm', 'matmul' or 'bmm', as the shape label writes it (default '@')",
    }

    def operands(self) -> tuple[TensorEntry, TensorEntry, TensorEntry, list[tuple[int, ...]]]:
        """a, b, c and the batch indices swept (at most two): the result's leading dimensions, to which
        each operand's own batch dimensions broadcast (`(B, T, D) @ (D, E)`, `(2, 1, n, k) @ (3, k, m)`)."""
        names = self.spec.tensors[:3]
        if len(names) != 3:
            raise VisualError("MatmulSweep", None, f"give a, b and the result, got {len(names)} names")
        a, b, c = (self.beat[n] for n in names)
        if 0 in (a.ndim, b.ndim):
            raise VisualError("MatmulSweep", names[0] if a.ndim == 0 else names[1], "matmul needs 1-D or more")
        batch = c.shape[: c.ndim - (a.ndim >= 2) - (b.ndim >= 2)]
        expected = (*batch, *a.shape[-2:-1], *(b.shape[-1:] if b.ndim >= 2 else ()))
        if a.shape[-1] != (b.shape[-2] if b.ndim >= 2 else b.shape[0]) or tuple(c.shape) != expected:
            raise VisualError("MatmulSweep", names[2], f"{shape_text(c.shape)} is not the matmul of "
                              f"{shape_text(a.shape)} and {shape_text(b.shape)}")
        for name, t in zip(names[:2], (a, b), strict=True):
            own = t.shape[:-2]
            if len(own) > len(batch) or any(n not in (1, m) for n, m in zip(own, batch[len(batch) - len(own):],
                                                                            strict=True)):
                raise VisualError("MatmulSweep", name, f"its batch axes {shape_text(own)} do not broadcast to the "
                                  f"result's {shape_text(batch)}")
        if 0 in c.shape or a.shape[-1] == 0:
            raise VisualError("MatmulSweep", names[2], "an empty matmul has no products to sweep")
        sweeps = list(itertools.islice(itertools.product(*[range(n) for n in batch]), 2))
        return a, b, c, sweeps

    def steps(self) -> int:
        """The shape label; per sweep (one per batch index, at most two): the grids, each of the first
        STEPPED cells, the rest at once (if any)."""
        a, b, c, sweeps = self.operands()
        n = len(grid_cells(c.shape[len(sweeps[0]):], max_cols=fitted_cols(c, 7, self.digits)))
        return 1 + len(sweeps) * (1 + min(STEPPED, n) + (1 if n > STEPPED else 0))

    def play(self, scene: Scene) -> Iterator[None]:
        a_name, b_name, c_name = self.spec.tensors[:3]
        a, b, c, sweeps = self.operands()
        op = str(self.option("op", "@"))
        for name in (a_name, b_name, c_name):
            self.shown.setdefault(name, {})
        self.shown["sums"] = []
        self.shown["shapes"] = [list(a.shape), list(b.shape), list(c.shape)]
        area, bottom = self.split_area(0.6)
        shapes, inner = shape_label(a.shape, b.shape, c.shape, op)
        # the label sits top left, where the picture (A lower left, B upper right) usually leaves room
        corner = Area(area.x - area.width / 4, area.y + area.height / 2 - 0.25, area.width / 2, 0.5)
        corner.fit(shapes, max_scale=1.0)
        shapes.align_to(np.array([area.x - area.width / 2, 0.0, 0.0]), LEFT)
        self.shape_tag = shapes
        scene.play(Write(shapes), run_time=0.8)
        # the inner sizes cancel: underlined in their colour, still readable (faded, "(2x3)" read "(2x )")
        marks = [Line(m.get_corner(DL) + DOWN * 0.06, m.get_corner(DR) + DOWN * 0.06, color=theme.ROLES["summed"],
                      stroke_width=3) for m in inner]
        shapes.add(*marks)
        scene.play(*[Create(mark) for mark in marks], run_time=0.5)
        yield
        for n, index in enumerate(sweeps):
            yield from self.sweep(scene, area, bottom, (a, b, c), index, last=n == len(sweeps) - 1)

    def sweep(
        self,
        scene: Scene,
        main: Area,
        bottom: Area,
        operands: tuple[TensorEntry, TensorEntry, TensorEntry],
        batch: tuple[int, ...],
        last: bool,
    ) -> Iterator[None]:
        """One matrix product: the operands' slices at batch index `batch` (broadcast), swept cell by cell."""
        a_name, b_name, c_name = self.spec.tensors[:3]
        full_a, full_b, full_c = operands
        a_at = broadcast_index(batch, full_a.shape[: max(0, full_a.ndim - 2)])
        b_at = broadcast_index(batch, full_b.shape[: max(0, full_b.ndim - 2)])
        a, b, c = sliced(full_a, a_at), sliced(full_b, b_at), sliced(full_c, batch)
        d = self.digits
        # columns as the whole tensor's widest values allow, so every sweep draws (and steps() counts) the same
        cols = {n: fitted_cols(t, 7, d) for n, t in ((a_name, full_a), (b_name, full_b), (c_name, full_c))}
        ga = TensorGrid(a, role="input", digits=d, name=a.name, show_badge=False, max_cols=cols[a_name])
        gb = TensorGrid(b, role="selected", digits=d, name=b.name, show_badge=False, max_cols=cols[b_name])
        gc = TensorGrid(c, role="output", digits=d, name=c.name, show_badge=False, max_cols=cols[c_name])
        for name, g, prefix in ((a_name, ga, a_at), (b_name, gb, b_at), (c_name, gc, batch)):
            self.shown[name].update({",".join(map(str, (*prefix, *i))): t for i, t in g.shown.items()})
        # A at the lower left, B above the result, C lower right: row i of A and column j of B meet at C[i, j]
        gb.next_to(gc, UP, buff=0.35)
        ga.next_to(gc, LEFT, buff=0.5)
        picture = VGroup(ga, gb, gc)
        self.fit(picture, main, max_scale=2.0)
        if any(overlap(self.shape_tag, g) for g in (ga, gb, gc)):  # no room beside B: the picture goes below
            top = self.shape_tag.get_bottom()[1] - 0.15
            bottom_y = main.y - main.height / 2
            self.fit(picture, Area(main.x, (top + bottom_y) / 2, main.width, top - bottom_y), max_scale=2.0)
        hide(gc.cells.values())
        scene.play(appear(ga), appear(gb), appear(gc), run_time=1.0)
        yield
        drawn = [i for i in c.indices() if gc.has(i)]
        inner = a.shape[-1]
        for n, idx in enumerate(drawn):
            rest = list(idx)
            i = rest.pop(0) if a.ndim == 2 else None
            j = rest.pop(0) if b.ndim == 2 else None
            pairs = [((k,) if i is None else (i, k), (k,) if j is None else (k, j)) for k in range(inner)]
            terms = [(a.label(*pa, digits=d), b.label(*pb, digits=d)) for pa, pb in pairs]
            result = c.label(*idx, digits=d)
            self.shown["sums"].append({
                "cell": [*batch, *idx], "terms": [list(t) for t in terms], "result": result,
                "a": [[*a_at, *pa] for pa, _ in pairs], "b": [[*b_at, *pb] for _, pb in pairs],
            })
            if n >= STEPPED:
                continue
            text = sum_of_products(terms, "·", MAX_TERMS)
            where = f"{c_name}[{', '.join(map(str, (*batch, *idx)))}]"
            eq = note(
                f"{where} = {text} = {result}",
                theme.ROLES["selected"],
                theme.NOTE_SIZE,
                font_mono=True,
                width=90,
            )
            bottom.fit(eq)
            row = [ga.cell(*pa) for pa, _ in pairs if ga.has(pa)]
            col = [gb.cell(*pb) for _, pb in pairs if gb.has(pb)]
            scene.play(glow(row + col), FadeIn(eq), run_time=0.5)
            scene.play(reveal([gc.cell(*idx)]), run_time=0.4)
            yield
            scene.play(restore(row, ga.role_color), restore(col, gb.role_color), FadeOut(eq), run_time=0.3)
        rest_cells = [gc.cell(*i) for i in drawn[STEPPED:]]
        if rest_cells:
            scene.play(reveal(rest_cells), run_time=0.7)
            yield
        if not last:
            scene.play(FadeOut(VGroup(ga, gb, gc)), run_time=0.4)


def overlap(a: Any, b: Any) -> bool:
    """Whether two mobjects' bounding boxes intersect."""
    (ax0, ay0, _), (ax1, ay1, _) = a.get_corner(DL), a.get_corner(UR)
    (bx0, by0, _), (bx1, by1, _) = b.get_corner(DL), b.get_corner(UR)
    return bool(ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1)


def sliced(entry: TensorEntry, index: tuple[int, ...]) -> TensorEntry:
    """`entry[index]` over its leading dimensions (a view, as torch would give it)."""
    for i in index:
        entry = entry.select(i)
    return entry
