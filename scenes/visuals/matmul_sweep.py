"""`MatmulSweep`: matrix multiplication as the row-times-column sweep, cell by cell, the products summed on
screen; inner dimensions cancel in the shape label; batched matmul as one sweep per batch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from manim import LEFT, RIGHT, UP, FadeIn, FadeOut, Scene, VGroup, Write

from scenes import theme
from scenes.anim import appear, glow, hide, note, restore, reveal
from scenes.mobjects.tensor_grid import TensorGrid
from scenes.mobjects.text import label
from scenes.trace import TensorEntry
from scenes.visuals.base import Area, TensorVisual, grid_cells

STEPPED = 3
MAX_TERMS = 4


def shape_label(
    a: tuple[int, ...], b: tuple[int, ...], c: tuple[int, ...], op: str
) -> tuple[VGroup, list[Any]]:
    """`(2x3) @ (3x4) -> (2x4)` with the inner dimensions in the colour that fades (they cancel)."""

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

    options: ClassVar[dict[str, str]] = {
        "op": "'@', 'mm', 'matmul' or 'bmm', as the shape label writes it (default '@')",
    }

    def steps(self) -> int:
        """The shape label; per sweep (one per batch, at most two): the grids, each of the first STEPPED
        cells, the rest at once (if any)."""
        a, b, c = (self.beat[n] for n in self.spec.tensors[:3])
        sweeps = [c.shape[1:]] * min(2, c.shape[0]) if a.ndim == 3 and b.ndim == 3 else [c.shape]
        cells = [len(grid_cells(shape)) for shape in sweeps]
        return 1 + sum(1 + min(STEPPED, n) + (1 if n > STEPPED else 0) for n in cells)

    def play(self, scene: Scene) -> Iterator[None]:
        a_name, b_name, c_name = self.spec.tensors[:3]
        a, b, c = self.beat[a_name], self.beat[b_name], self.beat[c_name]
        op = str(self.option("op", "@"))
        for name, _t in ((a_name, a), (b_name, b), (c_name, c)):
            self.shown.setdefault(name, {})
        self.shown["sums"] = []
        self.shown["shapes"] = [list(a.shape), list(b.shape), list(c.shape)]
        area, bottom = self.split_area(0.9)
        top = Area(area.x, area.y + area.height / 2 - 0.3, area.width, 0.6)
        main = Area(area.x, area.y - 0.35, area.width, area.height - 0.7)
        shapes, inner = shape_label(a.shape, b.shape, c.shape, op)
        top.fit(shapes)
        scene.play(Write(shapes), run_time=0.8)
        scene.play(*[m.animate.set_opacity(0.3) for m in inner], run_time=0.5)
        yield
        if a.ndim == 3 and b.ndim == 3:
            batches = list(range(c.shape[0]))[:2]
            for k in batches:
                yield from self.sweep(
                    scene, main, bottom, a.select(k), b.select(k), c.select(k), batch=k, last=k == batches[-1]
                )
        else:
            yield from self.sweep(scene, main, bottom, a, b, c, batch=None, last=True)

    def sweep(
        self,
        scene: Scene,
        main: Area,
        bottom: Area,
        a: TensorEntry,
        b: TensorEntry,
        c: TensorEntry,
        batch: int | None,
        last: bool,
    ) -> Iterator[None]:
        a_name, b_name, c_name = self.spec.tensors[:3]
        d = self.digits
        ga = TensorGrid(a, role="input", digits=d, name=a.name)
        gb = TensorGrid(b, role="selected", digits=d, name=b.name)
        gc = TensorGrid(c, role="output", digits=d, name=c.name)
        prefix = () if batch is None else (batch,)
        for name, g in ((a_name, ga), (b_name, gb), (c_name, gc)):
            self.shown[name].update({",".join(map(str, (*prefix, *i))): t for i, t in g.shown.items()})
        # A at the lower left, B above the result, C lower right: row i of A and column j of B meet at C[i, j]
        gb.next_to(gc, UP, buff=0.35)
        ga.next_to(gc, LEFT, buff=0.5)
        picture = VGroup(ga, gb, gc)
        self.fit(picture, main)
        hide(gc.cells.values())
        scene.play(appear(ga), appear(gb), appear(gc), run_time=1.0)
        yield
        drawn = [i for i in c.indices() if gc.has(i)]
        inner = a.shape[-1]
        for n, idx in enumerate(drawn):
            i, j = idx if c.ndim == 2 else (0, idx[-1])
            pairs = [((i, k) if a.ndim == 2 else (k,), (k, j) if b.ndim == 2 else (k,)) for k in range(inner)]
            terms = [(a.label(*pa, digits=d), b.label(*pb, digits=d)) for pa, pb in pairs]
            result = c.label(*idx, digits=d)
            self.shown["sums"].append(
                {
                    "cell": [*(() if batch is None else (batch,)), *idx],
                    "terms": [list(t) for t in terms],
                    "result": result,
                }
            )
            if n >= STEPPED:
                continue
            text = " + ".join(f"{x}·{y}" for x, y in terms[:MAX_TERMS]) + (
                " + …" if len(terms) > MAX_TERMS else ""
            )
            where = f"{c_name}[{', '.join(map(str, (*(() if batch is None else (batch,)), *idx)))}]"
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
        rest = [gc.cell(*i) for i in drawn[STEPPED:]]
        if rest:
            scene.play(reveal(rest), run_time=0.7)
            yield
        if not last:
            scene.play(FadeOut(VGroup(ga, gb, gc)), run_time=0.4)
