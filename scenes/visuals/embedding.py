"""`Embedding`: indices pick rows of the `(vocab, dim)` weight; the same result as `one_hot(idx) @ weight`;
the `padding_idx` row is zeros. Values, the one-hot matrix and the equality all come from the trace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
from manim import RIGHT, Create, FadeIn, Mobject, ReplacementTransform, Scene, SurroundingRectangle, VGroup

from scenes import theme
from scenes.anim import appear, flow, glow, hide, restore, reveal, sign
from scenes.errors import VisualError
from scenes.mobjects.caption import Caption
from scenes.mobjects.column import ColumnGrid, settle
from scenes.trace import TensorEntry, shape_text
from scenes.visuals.base import TensorVisual

MAX_ROWS = 8


def is_int(dtype: str) -> bool:
    return dtype.startswith(("int", "uint"))


class Embedding(TensorVisual):
    """`Embedding("idx", "weight", "out")`, optionally with the one-hot matrix as a fourth name: the index
    column, the weight and the result side by side; row `idx[t]` of the weight flows into row t; then the
    one-hot matrix times the weight gives the same rows; then the padding row, all zeros."""

    takes: ClassVar[str] = "idx, weight, out, [one_hot]"

    options: ClassVar[dict[str, str]] = {
        "padding_idx": "the index whose row stays zero (as given to nn.Embedding); adds a step",
        "equal": "name of a beat value: torch's verdict that one_hot(idx) @ weight equals the lookup",
        "digits": "decimals shown for floats (default 2)",
    }

    def check(self) -> tuple[TensorEntry, TensorEntry, TensorEntry, TensorEntry | None]:
        names = self.spec.tensors
        if len(names) not in (3, 4):
            raise VisualError("Embedding", None, f"give idx, weight, out (and one_hot); got {len(names)} names")
        idx, weight, out = (self.beat[n] for n in names[:3])
        onehot = self.beat[names[3]] if len(names) == 4 else None
        if idx.ndim != 1 or not is_int(idx.dtype) or idx.numel == 0:
            raise VisualError("Embedding", names[0], f"draws one sequence of integer indices, got a "
                              f"{shape_text(idx.shape)} {idx.dtype} tensor; pick one row, e.g. idx[0]")
        if weight.ndim != 2:
            raise VisualError("Embedding", names[1], f"the weight is (vocab, dim), got {shape_text(weight.shape)}")
        if out.shape != (idx.shape[0], weight.shape[1]):
            raise VisualError("Embedding", names[2], f"expected {idx.shape[0]}x{weight.shape[1]} rows looked up,"
                              f" got {shape_text(out.shape)}")
        bad = [int(i) for i in idx.values if not 0 <= int(i) < weight.shape[0]]
        if bad:
            raise VisualError("Embedding", names[0],
                              f"indices {bad} are outside the vocabulary 0..{weight.shape[0] - 1}")
        if onehot is not None and onehot.shape != (idx.shape[0], weight.shape[0]):
            raise VisualError("Embedding", names[3], f"one_hot(idx) is {idx.shape[0]}x{weight.shape[0]},"
                              f" got {shape_text(onehot.shape)}")
        pad = self.option("padding_idx")
        if pad is not None and not 0 <= int(pad) < weight.shape[0]:
            raise VisualError("Embedding", names[1], f"padding_idx {pad} is not a row of the weight")
        return idx, weight, out, onehot

    def steps(self) -> int:
        return 3 + (len(self.spec.tensors) == 4) + (self.option("padding_idx") is not None)

    def play(self, scene: Scene) -> Iterator[None]:
        idx, weight, out, onehot = self.check()
        idx_name, w_name, out_name = self.spec.tensors[:3]
        main, bottom = self.split_area(0.8)
        self.caption = Caption(bottom)
        self.col = col = ColumnGrid(idx, role="selected", digits=self.digits, max_rows=MAX_ROWS,
                                    show_badge=False)
        self.shown[idx_name] = col.shown_values()
        self.wgrid = self.grid(w_name, max_rows=MAX_ROWS)
        self.ogrid = self.grid(out_name, role="output", max_rows=MAX_ROWS)
        self.hgrid = col
        if onehot is not None:
            self.hgrid = self.grid(self.spec.tensors[3], role="selected", max_rows=MAX_ROWS, max_cols=MAX_ROWS)
        # the final layout, one_hot @ weight = out, decides the scale; the lookup is drawn centred first
        self.picture = VGroup(self.hgrid, sign("@"), self.wgrid, sign("="), self.ogrid).arrange(RIGHT, buff=0.4)
        before = self.picture.width
        self.fit(self.picture, main)
        self.arrows = [sign("→", theme.MUTED).move_to(self.picture[k]) for k in (1, 3)]
        if onehot is not None:
            col.scale(self.picture.width / before)
            col.shift(self.hgrid.body.get_bottom() - col.body.get_bottom())
            col.shift((self.hgrid.get_right()[0] - col.get_right()[0]) * RIGHT)
        self.lookup_view = VGroup(col, *self.arrows, self.wgrid, self.ogrid)
        self.offset = np.array([main.x, 0.0, 0.0]) - self.lookup_view.get_center() * np.array([1.0, 0.0, 0.0])
        self.lookup_view.shift(self.offset)
        hide(self.ogrid.cells.values())
        lead = f"{w_name}: vocab {weight.shape[0]} x dim {weight.shape[1]}; each index picks one row"
        scene.play(appear(col), appear(self.wgrid), *[FadeIn(a) for a in self.arrows], appear(self.ogrid),
                   *self.caption.swap(lead), run_time=1.0)
        settle(scene, col, self.wgrid, self.ogrid)
        yield
        rows = [t for t in range(idx.shape[0]) if self.ogrid.has((t, 0))]
        yield from self.lookup(scene, rows[:1])
        yield from self.lookup(scene, rows[1:])
        if onehot is not None:
            yield from self.one_hot(scene)
        if self.option("padding_idx") is not None:
            yield from self.padding(scene)

    def lookup(self, scene: Scene, rows: list[int]) -> Iterator[None]:
        """Row `idx[t]` of the weight flows into row t of the result, for each t in `rows`."""
        idx_name, w_name, out_name = self.spec.tensors[:3]
        idx, d = self.beat[idx_name], self.beat[w_name].shape[1]
        wgrid, ogrid, col = self.wgrid, self.ogrid, self.col
        links: list[tuple[str, Any, tuple[int, ...], str, Any, tuple[int, ...]]] = [
            (w_name, wgrid, (int(idx.at(t)), k), out_name, ogrid, (t, k)) for t in rows for k in range(d)
        ]
        pairs = self.pairs(links)
        self.shown.setdefault("lookups", []).extend([t, int(idx.at(t))] for t in rows)
        if len(rows) == 1:
            t = rows[0]
            said = self.caption.swap(f"{out_name}[{t}] = {w_name}[{idx_name}[{t}]] = {w_name}[{idx.at(t)}]",
                                     theme.ROLES["selected"], mono=True)
        else:
            said = self.caption.swap("every other index picks its row the same way: no arithmetic, a lookup")
        picked = [wgrid.cell(int(idx.at(t)), k) for t in rows for k in range(d) if wgrid.has((int(idx.at(t)), k))]
        marks = [col.cell(t, 0) for t in rows if col.has((t, 0))]
        scene.play(glow(picked + marks), *said, run_time=0.5)
        flow(scene, pairs, run_time=1.0, lag=0.05 if len(rows) > 1 else 0.0)
        scene.play(reveal([ogrid.cell(t, k) for t in rows for k in range(d) if ogrid.has((t, k))]), run_time=0.3)
        yield
        scene.play(restore(picked, wgrid.role_color), restore(marks, col.role_color), run_time=0.3)

    def one_hot(self, scene: Scene) -> Iterator[None]:
        """The view slides into the matmul layout; the index column becomes the one-hot matrix, the arrows
        become `@` and `=`; the ones glow; torch's verdict on the equality is written."""
        h_name = self.spec.tensors[3]
        equal = self.option("equal")
        verdict = ""
        if equal is not None:
            value = self.text_value(str(equal))
            self.shown["equal"] = value
            verdict = f"   torch.equal: {value}"
        said = self.caption.swap(f"the same rows: one_hot({self.spec.tensors[0]}) @ {self.spec.tensors[1]}"
                                 f"{verdict}", theme.ROLES["output"])
        ones = [self.hgrid.cell(*i) for i in self.hgrid.cells if self.beat[h_name].at(*i) == 1]
        scene.play(self.lookup_view.animate.shift(-self.offset), run_time=0.6)
        swaps: list[Mobject] = [self.col, self.arrows[0], self.arrows[1]]
        targets: list[Mobject] = [self.hgrid, self.picture[1], self.picture[3]]
        scene.play(*[ReplacementTransform(a, b) for a, b in zip(swaps, targets, strict=True)], *said,
                   run_time=1.0)
        scene.play(glow(ones), run_time=0.5)
        yield

    def padding(self, scene: Scene) -> Iterator[None]:
        """The padding row and every result row it filled, framed: zeros, as torch keeps them."""
        idx_name, w_name = self.spec.tensors[:2]
        pad = int(self.option("padding_idx"))
        idx, weight = self.beat[idx_name], self.beat[w_name]
        hits = [t for t in range(idx.shape[0]) if int(idx.at(t)) == pad]
        framed = [[self.wgrid.cell(pad, k) for k in range(weight.shape[1]) if self.wgrid.has((pad, k))]]
        framed += [[self.ogrid.cell(t, k) for k in range(weight.shape[1]) if self.ogrid.has((t, k))] for t in hits]
        frames = VGroup(*[SurroundingRectangle(VGroup(*cells), color=theme.ACCENT, buff=0.05)
                          for cells in framed if cells])
        values = [weight.label(pad, k, digits=self.digits) for k in range(weight.shape[1])]
        self.shown["padding"] = {"row": pad, "values": values, "hits": hits}
        shown = ", ".join(values[:4]) + (", …" if len(values) > 4 else "")
        where = ""
        if hits:
            where = f"; position{'s' if len(hits) > 1 else ''} {', '.join(map(str, hits))} " \
                    f"look{'' if len(hits) > 1 else 's'} it up"
        said = self.caption.swap(f"padding_idx={pad}: row {pad} is {shown} and gets no gradient{where}")
        scene.play(Create(frames), *said, run_time=0.8)
        yield
