"""`Linear`: `y = x @ W.T + b` on a layer's real weights. x may have any leading axes (batch, tokens): the
layer acts on the last one. W is stored `(out, in)`, one row per output feature, hence the `.T`. A Q/K/V
variant shows one input and its three projections, each in its own colour."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from manim import DOWN, RIGHT, UP, FadeIn, FadeOut, Scene, VGroup

from scenes import theme
from scenes.anim import appear, glow, hide, note, restore, reveal, sign
from scenes.errors import VisualError
from scenes.mobjects.tensor_grid import TensorGrid
from scenes.mobjects.text import label
from scenes.trace import shape_text, short_name, sum_of_products
from scenes.visuals.base import TensorVisual, largest_arrangement
from scenes.visuals.curve import require

MAX_TERMS = 4
WEIGHT = theme.SERIES[3]  # weights and bias, apart from the input's colour and the glow's
QKV_COLORS = (theme.SERIES[1], theme.SERIES[2], theme.SERIES[3])


class Linear(TensorVisual):
    """`Linear("x", "W", "b", "y")` (or without "b" for bias=False): x, then W with its (out, in) shape read
    out, then one output worked term by term from the traced values, then the bias and the rest of y.
    `Linear("x", "Wq", "Wk", "Wv", "q", "k", "v", qkv=True)` (biases "bq", "bk", "bv" after the weights,
    optional): x, then each projection in its colour."""

    takes: ClassVar[str] = "x, weights and biases..., outputs"

    options: ClassVar[dict[str, str]] = {
        "qkv": "True: one input, three projections (x, Wq, Wk, Wv, [bq, bk, bv], q, k, v)",
        "out": "the output feature worked out term by term (default 0)",
        "digits": "decimals of the values shown (default 2)",
    }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.grids: dict[str, TensorGrid] = {}

    def steps(self) -> int:
        return 4

    def play(self, scene: Scene) -> Iterator[None]:
        require(self, "Linear", self.spec.tensors)
        if self.option("qkv", False):
            yield from self.play_qkv(scene)
        else:
            yield from self.play_one(scene)

    # checks -------------------------------------------------------------------------------------------
    def check(self, x: str, w: str, b: str | None, y: str) -> tuple[int, int]:
        """(out, in) of the layer, after checking every shape against `y = x @ W.T + b`."""
        xe, we, ye = self.beat[x], self.beat[w], self.beat[y]
        for e in (xe, we, ye):
            if e.dtype.startswith("complex") or e.truncated:
                raise VisualError("Linear", e.name, "draws real tensors traced in full")
        if we.ndim != 2:
            raise VisualError("Linear", w, f"a weight is (out, in), got shape {list(we.shape)}")
        out, fan_in = we.shape
        if xe.ndim == 0 or xe.shape[-1] != fan_in:
            raise VisualError("Linear", x, f"its last axis must be in={fan_in} (W is {shape_text(we.shape)}), "
                                           f"got shape {list(xe.shape)}")
        if xe.ndim > 3:
            raise VisualError("Linear", x, f"draws up to two leading axes, got shape {list(xe.shape)}")
        if b is not None and self.beat[b].shape != (out,):
            raise VisualError("Linear", b, f"a bias has one value per output ({out}), got {list(self.beat[b].shape)}")
        if ye.shape != (*xe.shape[:-1], out):
            raise VisualError("Linear", y, f"expected shape {list((*xe.shape[:-1], out))}, got {list(ye.shape)}")
        return out, fan_in

    # one layer ----------------------------------------------------------------------------------------
    def play_one(self, scene: Scene) -> Iterator[None]:
        names = list(self.spec.tensors)
        if len(names) not in (3, 4):
            raise VisualError("Linear", None, "name x, W, b and y (or x, W, y without a bias)")
        x, w, *rest = names
        b, y = (rest[0], rest[1]) if len(rest) == 2 else (None, rest[0])
        out, fan_in = self.check(x, w, b, y)
        j = int(self.option("out", 0))
        if not 0 <= j < out:
            raise VisualError("Linear", w, f"out={j} is not one of its {out} outputs")
        main, bottom = self.split_area(0.7)
        xg = self.grid(x)
        wg = self.grid(w, role=WEIGHT, tag=f"{short_name(w)}  (out, in) = {shape_text((out, fan_in))}")
        bg = self.grid(b, role=WEIGHT) if b else None
        yg = self.grid(y, role="output")
        parts: list[Any] = [xg, sign("@", theme.ACCENT), wg, sign(".T", theme.ACCENT)]
        if bg is not None:
            parts += [sign("+", theme.ACCENT), bg]
        parts += [sign("=", theme.ACCENT), yg]
        group = VGroup(*parts)
        largest_arrangement(group, main, [lambda g: g.arrange(RIGHT, buff=0.2), self.two_rows])
        self.fit(group, main)
        hide(yg.cells.values())
        lead = note(f"nn.Linear acts on the last axis of {short_name(x)}: {fan_in} in, {out} out; the leading "
                    f"axes {shape_text(self.beat[x].shape[:-1])} are carried along", theme.MUTED, width=90)
        bottom.fit(lead, max_scale=1.0)
        scene.play(appear(xg), FadeIn(lead), run_time=0.8)
        yield
        why = note(f"{short_name(w)} is stored (out, in) = {shape_text((out, fan_in))}: row j holds the weights of "
                   f"output j, so y = {short_name(x)} @ {short_name(w)}.T"
                   + (f", and {short_name(b)} adds one number per output" if b else ""),
                   theme.MUTED, width=100)
        bottom.fit(why, max_scale=1.0)
        weights = [FadeIn(parts[1]), appear(wg), FadeIn(parts[3])]
        if bg is not None:
            weights += [FadeIn(parts[4]), appear(bg)]
        scene.play(FadeOut(lead), run_time=0.25)  # the old note leaves before the new one comes: no cross-fade
        scene.play(*weights, FadeIn(why), run_time=0.8)
        yield
        cell = (*(0,) * (self.beat[x].ndim - 1), j)
        cells, eq = self.worked(x, w, b, y, cell)
        bottom.fit(eq, max_scale=1.0)
        scene.play(FadeIn(parts[-2]), appear(yg), FadeOut(why), run_time=0.5)
        scene.play(glow(cells), FadeIn(eq), run_time=0.6)
        scene.play(reveal([yg.cell(*cell)]), run_time=0.5)
        yield
        done = note(f"every output: the same dot products{' plus ' + short_name(b) if b else ''}, for each of the "
                    f"{self.beat[y].numel // out} rows of {short_name(x)}", theme.ROLES["output"], width=90)
        bottom.fit(done, max_scale=1.0)
        scene.play(*[restore([c for c in cells if c in g.cells.values()], g.role_color) for g in self.grids.values()],
                   FadeOut(eq), run_time=0.3)
        scene.play(reveal(list(yg.cells.values())), FadeIn(done), run_time=0.8)
        yield

    @staticmethod
    def two_rows(group: VGroup) -> VGroup:
        """`x @ W.T` on one row, `+ b = y` on the next: for inputs with leading axes."""
        top = VGroup(*group[:4]).arrange(RIGHT, buff=0.2)
        bottom = VGroup(*group[4:]).arrange(RIGHT, buff=0.2)
        VGroup(top, bottom).arrange(DOWN, buff=0.35)
        return group

    def worked(self, x: str, w: str, b: str | None, y: str, cell: tuple[int, ...]) -> tuple[list[Any], VGroup]:
        """One output worked term by term from the trace: the x row, the W row and b[j] glow."""
        *lead, j = cell
        xe, we = self.beat[x], self.beat[w]
        terms = [[xe.label(*lead, k, digits=self.digits), we.label(j, k, digits=self.digits)]
                 for k in range(we.shape[1])]
        bias = self.beat[b].label(j, digits=self.digits) if b else None
        result = self.beat[y].label(*cell, digits=self.digits)
        self.shown["dots"] = [{"cell": list(cell), "terms": terms, "bias": bias, "result": result}]
        shown = sum_of_products(terms, "×", MAX_TERMS, then=bias or "")
        text = f"{short_name(y)}[{','.join(map(str, cell))}] = {shown} = {result}"
        grids: list[tuple[Any, list[tuple[int, ...]]]] = [
            (self.grid_of(x), [(*lead, k) for k in range(we.shape[1])]),
            (self.grid_of(w), [(j, k) for k in range(we.shape[1])]),
        ]
        if b:
            grids.append((self.grid_of(b), [(j,)]))
        cells = [g.cell(*i) for g, idx in grids for i in idx if g.has(i)]
        return cells, note(text, theme.ROLES["selected"], theme.NOTE_SIZE, font_mono=True, width=90)

    def grid_of(self, name: str) -> TensorGrid:
        return self.grids[name]

    def grid(self, name: str, role: str = "input", **kwargs: Any) -> Any:
        """A grid of trace entry `name` (no dtype badge: the shapes are the point), kept by name."""
        g = super().grid(name, role, show_badge=False, **kwargs)
        self.grids[name] = g
        return g

    # Q, K, V ------------------------------------------------------------------------------------------
    def play_qkv(self, scene: Scene) -> Iterator[None]:
        names = list(self.spec.tensors)
        if len(names) not in (7, 10):
            raise VisualError("Linear", None, "qkv=True takes x, Wq, Wk, Wv, [bq, bk, bv,] q, k, v")
        x, weights = names[0], names[1:4]
        biases: list[str | None] = list(names[4:7]) if len(names) == 10 else [None, None, None]
        outs = names[-3:]
        for w, b, y in zip(weights, biases, outs, strict=True):
            self.check(x, w, b, y)
        main, bottom = self.split_area(0.7)
        xg = self.grid(x)
        rows = []
        for w, b, y, color in zip(weights, biases, outs, QKV_COLORS, strict=True):
            grids = [self.grid(w, role=color)] + ([self.grid(b, role=color)] if b else [])
            eq = VGroup(label(f"{short_name(x)} @ {short_name(w)}.T", theme.CAPTION_SIZE, color),
                        label(f"+ {short_name(b)} =" if b else "=", theme.CAPTION_SIZE, color)).arrange(DOWN, buff=0.1)
            rows.append(VGroup(*grids, eq, self.grid(y, role=color)).arrange(DOWN, buff=0.3))
        right = VGroup(*rows).arrange(RIGHT, buff=0.5, aligned_edge=UP)
        picture = VGroup(xg, right).arrange(RIGHT, buff=0.8)
        self.fit(picture, main)
        self.shown["projections"] = [[w, y] for w, y in zip(weights, outs, strict=True)]
        lead = note(f"one input {short_name(x)}, three layers: each reads the same {short_name(x)} with its own "
                    "weights", theme.MUTED)
        bottom.fit(lead, max_scale=1.0)
        scene.play(appear(xg), FadeIn(lead), run_time=0.8)
        yield
        for row, y, color in zip(rows, outs, QKV_COLORS, strict=True):
            grids = [p for p in row if isinstance(p, TensorGrid)]
            signs = [p for p in row if not isinstance(p, TensorGrid)]
            line = note(f"{short_name(y)} = {short_name(x)} @ W.T: {shape_text(self.beat[x].shape)} -> "
                        f"{shape_text(self.beat[y].shape)}",
                        color)
            bottom.fit(line, max_scale=1.0)
            scene.play(FadeOut(lead), run_time=0.25)  # no cross-fade of two notes in one place
            scene.play(*[appear(g) for g in grids], *[FadeIn(m) for m in signs], FadeIn(line), run_time=0.9)
            lead = line
            yield
