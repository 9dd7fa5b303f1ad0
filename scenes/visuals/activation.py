"""`Activation`: an activation function's curve as torch sampled it, several overlaid with a legend, the
traced inputs as dots on the x axis carried up to the outputs torch computed; or (grid=True) the tensor
before and after, with the values the function zeroed marked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from manim import DOWN, LEFT, RIGHT, UP, Arrow, Create, DashedLine, Dot, FadeIn, Scene, VGroup

from scenes import theme
from scenes.anim import appear, glow, note
from scenes.errors import VisualError
from scenes.mobjects.plot import Legend, Plot
from scenes.mobjects.text import label, mono
from scenes.visuals.base import Area, TensorVisual
from scenes.visuals.curve import MAX_SERIES, drawn_points, numbers, require, span

MAX_INPUTS = 8
TABLE_SIZE = 20


class Activation(TensorVisual):
    """Curve mode, `Activation("x", "relu", "gelu", inputs="z", outputs=["relu_z", "gelu_z"])`: x is the
    sampled grid (render.curves.sample), each further name one function's values on it; each curve is
    drawn in turn, then the inputs drop onto the x axis and rise to their outputs, with a table of both.
    Grid mode, `Activation("z", "a", grid=True)`: before and after, the zeroed cells lit."""

    takes: ClassVar[str] = "x, functions or output..."

    options: ClassVar[dict[str, str]] = {
        "inputs": "traced inputs to mark on the x axis (any shape, up to 8 values)",
        "outputs": "their traced outputs: one name, or a list with one per function",
        "labels": "legend names, one per function (default: the tensor names)",
        "x_label": "name of the x axis (default 'x')",
        "grid": "True: Activation('before', 'after', grid=True) shows what the function zeroed",
        "digits": "decimals of the values shown (default 2)",
    }

    def steps(self) -> int:
        if self.option("grid", False):
            return 2
        return len(self.spec.tensors) - 1 + (1 if self.option("inputs") else 0)

    def play(self, scene: Scene) -> Iterator[None]:
        require(self, "Activation", self.spec.tensors, self.option("inputs"), self.option("outputs"))
        if self.option("grid", False):
            yield from self.play_grid(scene)
        else:
            yield from self.play_curves(scene)

    # curve mode ---------------------------------------------------------------------------------------
    def functions(self) -> tuple[str, list[str], list[str]]:
        x_name, *fns = self.spec.tensors if self.spec.tensors else (None,)
        if x_name is None or not fns:
            raise VisualError("Activation", x_name, "name the sampled x and at least one function's values: "
                                                    "Activation('x', 'relu')")
        if len(fns) > MAX_SERIES:
            raise VisualError("Activation", fns[MAX_SERIES], f"at most {MAX_SERIES} functions fit one plot")
        labels = self.option("labels", fns)
        if isinstance(labels, str) or len(labels) != len(fns):
            raise VisualError("Activation", None, f"labels must list one name per function ({len(fns)})")
        return x_name, list(fns), [str(v) for v in labels]

    def mapping(self, fns: list[str]) -> tuple[str, list[str]] | None:
        """The inputs' name and the outputs' names (one per function, or one for the first function)."""
        inputs = self.option("inputs")
        if not inputs:
            return None
        outputs = self.option("outputs")
        outs = [outputs] if isinstance(outputs, str) else list(outputs or [])
        if not 1 <= len(outs) <= len(fns):
            raise VisualError("Activation", inputs, "outputs must name the traced outputs, one per function")
        entry = self.beat[inputs]
        if entry.numel > MAX_INPUTS or entry.numel == 0:
            raise VisualError("Activation", inputs, f"mark 1 to {MAX_INPUTS} inputs, got {entry.numel}")
        for name in outs:
            if self.beat[name].shape != entry.shape:
                raise VisualError("Activation", name, f"shape {list(self.beat[name].shape)} does not match the "
                                                      f"inputs' {list(entry.shape)}")
        return inputs, outs

    def play_curves(self, scene: Scene) -> Iterator[None]:
        x_name, fns, labels = self.functions()
        xs = numbers("Activation", self.beat[x_name])
        if any(v is None for v in xs):
            raise VisualError("Activation", x_name, "the sampled x values must be finite")
        ys = [numbers("Activation", self.beat[f]) for f in fns]
        for f, y in zip(fns, ys, strict=True):
            if len(y) != len(xs):
                raise VisualError("Activation", f, f"{len(y)} values against {len(xs)} sampled x values")
        mapped = self.mapping(fns)
        pairs = self.pairs_of(mapped, xs) if mapped else []
        colors = [theme.SERIES[i] for i in range(len(fns))]
        legend = Legend(labels, colors)
        table = self.table(mapped, labels, colors) if mapped else VGroup()
        side = VGroup(legend, table).arrange(DOWN, aligned_edge=LEFT, buff=0.5)
        a = self.area
        plot_area = Area(a.x - a.width / 2 + (a.width - side.width - 0.5) / 2, a.y,
                         a.width - side.width - 0.5, a.height)
        out_values = [v for _, outs in pairs for v in outs]
        lo, hi = span(*ys, out_values)
        plot = Plot(span(xs), (lo, hi), plot_area.width, plot_area.height,
                    str(self.option("x_label", "x")), "")
        self.fit(plot, plot_area, max_scale=1.0)
        side.next_to(plot.frame, RIGHT, buff=0.5).align_to(plot.frame, UP)
        scene.play(Create(plot.frame), FadeIn(plot.marks), FadeIn(plot.tick_labels), FadeIn(plot.names),
                   FadeIn(plot.zero_lines), run_time=0.6)
        self.shown["curves"] = {}
        for i, (f, y) in enumerate(zip(fns, ys, strict=True)):
            line = plot.line(xs, y, colors[i])
            self.shown["curves"][f] = drawn_points(plot, line)
            scene.play(Create(line), FadeIn(legend[i]), run_time=1.0)
            yield
        if mapped:
            yield from self.drop_inputs(scene, plot, pairs, colors, table)

    def pairs_of(self, mapped: tuple[str, list[str]], xs: list[float | None]) -> list[tuple[float, list[float]]]:
        """(input value, its output per function) straight from the trace; inputs must lie on the curve's range."""
        inputs, outs = mapped
        ins = [float(v) for v in self.beat[inputs].flat()]
        lo, hi = min(x for x in xs if x is not None), max(x for x in xs if x is not None)
        for v in ins:
            if not lo <= v <= hi:
                raise VisualError("Activation", inputs, f"input {v} lies outside the sampled range {lo}..{hi}")
        columns = [[float(v) for v in self.beat[o].flat()] for o in outs]
        return [(v, [c[k] for c in columns]) for k, v in enumerate(ins)]

    def table(self, mapped: tuple[str, list[str]], labels: list[str], colors: list[str]) -> VGroup:
        """Inputs and their outputs as columns of the trace's own labels."""
        inputs, outs = mapped
        entry = self.beat[inputs]
        head = [mono(inputs, TABLE_SIZE, theme.TEXT)]
        head += [mono(labels[i], TABLE_SIZE, colors[i]) for i in range(len(outs))]
        cells: list[Any] = list(head)
        for idx in entry.indices():
            text = entry.label(*idx, digits=self.digits)
            self.shown.setdefault(inputs, {})[",".join(map(str, idx))] = text
            cells.append(mono(text, TABLE_SIZE, theme.TEXT))
            for o in outs:
                out = self.beat[o].label(*idx, digits=self.digits)
                self.shown.setdefault(o, {})[",".join(map(str, idx))] = out
                cells.append(mono(out, TABLE_SIZE, theme.TEXT))
        cols = 1 + len(outs)
        return VGroup(*cells).arrange_in_grid(cols=cols, buff=(0.35, 0.12), col_alignments="r" * cols)

    def drop_inputs(self, scene: Scene, plot: Plot, pairs: list[tuple[float, list[float]]], colors: list[str],
                    table: VGroup) -> Iterator[None]:
        base = 0.0 if plot.y0 <= 0 <= plot.y1 else plot.y0
        feet = VGroup(*[Dot(plot.point(v, base), radius=0.07, color=theme.TEXT) for v, _ in pairs])
        rises, tops = VGroup(), VGroup()
        dots: list[list[float]] = []
        for v, outs in pairs:
            for k, out in enumerate(outs):
                top = plot.point(v, out)
                if abs(out - base) > 1e-9:
                    rises.add(DashedLine(plot.point(v, base), top, color=colors[k], stroke_width=2))
                tops.add(Dot(top, radius=0.07, color=colors[k]))
                dots.append([round(c, 6) for c in plot.value(top)])
        self.shown["dots"] = dots
        scene.play(FadeIn(feet), FadeIn(table), run_time=0.6)
        scene.play(Create(rises), FadeIn(tops), run_time=0.8)
        yield

    # grid mode ----------------------------------------------------------------------------------------
    def play_grid(self, scene: Scene) -> Iterator[None]:
        if len(self.spec.tensors) != 2:
            raise VisualError("Activation", None, "grid=True takes the tensor before and after: "
                                                  "Activation('z', 'a', grid=True)")
        before, after = self.spec.tensors
        b, c = self.beat[before], self.beat[after]
        if b.shape != c.shape:
            raise VisualError("Activation", after, f"shape {list(c.shape)} differs from {before}'s {list(b.shape)}")
        fn = str((self.option("labels") or [after])[0])
        main, bottom = self.split_area(0.9)
        bgrid = self.grid(before)
        agrid = self.grid(after, role="output")
        arrow = VGroup(Arrow(LEFT, RIGHT, color=theme.MUTED, buff=0), label(fn, theme.CAPTION_SIZE, theme.ACCENT))
        arrow[1].next_to(arrow[0], UP, buff=0.1)
        picture = VGroup(bgrid, arrow, agrid).arrange(RIGHT, buff=theme.GAP)
        self.fit(picture, main)
        scene.play(appear(bgrid), run_time=0.8)
        yield
        zeroed = [i for i in b.indices() if c.at(*i) == 0 and b.at(*i) != 0]
        self.shown["zeroed"] = [list(i) for i in zeroed]
        lit = [g.cell(*i) for g in (bgrid, agrid) for i in zeroed if g.has(i)]
        tally = note(f"{fn} zeroed {len(zeroed)} of {b.numel} values (lit)",
                     theme.ROLES["selected"])
        bottom.fit(tally, max_scale=1.0)
        scene.play(FadeIn(arrow), appear(agrid), run_time=0.8)
        scene.play(glow(lit, theme.ROLES["gradient"]), FadeIn(tally), run_time=0.6)
        yield
