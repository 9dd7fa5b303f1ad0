"""`Elementwise`: an element-wise operation, cell by cell (binary `a op b`, or a function of one tensor)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import RIGHT, FadeIn, FadeOut, Scene, VGroup

from scenes import theme
from scenes.anim import appear, glow, hide, note, restore, reveal, sign
from scenes.errors import VisualError
from scenes.trace import broadcast_index, shape_text
from scenes.visuals.base import TensorVisual

SYMBOLS = {"+", "-", "*", "/", "**", "%", "//", "@"}
STEPPED = 3  # cells computed one at a time on screen; the rest fill together


class Elementwise(TensorVisual):
    """Inputs, operator and result; the first cells are computed one by one with their equation on
    screen (the operands and the value torch returned), then the remaining cells fill at once."""

    takes: ClassVar[str] = "inputs..., result"

    options: ClassVar[dict[str, str]] = {
        "op": "'+', '-', '*', '/', '**', ... or a function name such as 'exp' (default '+')",
    }

    def equation(self, idx: tuple[int, ...]) -> tuple[list[str], str, str]:
        *in_names, res_name = self.spec.tensors
        op = str(self.option("op", "+"))
        operands = [
            self.beat[n].label(*broadcast_index(idx, self.beat[n].shape), digits=self.digits)
            for n in in_names
        ]
        result = self.beat[res_name].label(*idx, digits=self.digits)
        text = f" {op} ".join(operands) if op in SYMBOLS else f"{op}({', '.join(operands)})"
        return operands, result, f"{text} = {result}"

    def steps(self) -> int:
        """The inputs; each of the first STEPPED result cells with its equation; the rest at once (if any)."""
        drawn = len(self.drawn(self.spec.tensors[-1]))
        return 1 + min(STEPPED, drawn) + (1 if drawn > STEPPED else 0)

    def check(self) -> None:
        """Every input must broadcast to the result's shape (batch axes may stretch on either side)."""
        *in_names, res_name = self.spec.tensors
        res = self.beat[res_name]
        for n in in_names:
            shape = self.beat[n].shape
            fits = len(shape) <= res.ndim and all(
                s in (1, r) for s, r in zip(shape, res.shape[res.ndim - len(shape):], strict=True))
            if not fits:
                raise VisualError("Elementwise", n, f"{shape_text(shape)} does not broadcast to the result's "
                                  f"{shape_text(res.shape)}")

    def play(self, scene: Scene) -> Iterator[None]:
        self.check()
        *in_names, res_name = self.spec.tensors
        res = self.beat[res_name]
        op = str(self.option("op", "+"))
        main, bottom = self.split_area(0.8)
        grids = [self.grid(n) for n in in_names]
        rgrid = self.grid(res_name, role="output")
        if op in SYMBOLS:
            parts = [grids[0]]
            for g in grids[1:]:
                parts += [sign(op, theme.ACCENT), g]
        else:
            parts = [sign(f"{op}(", theme.ACCENT), *grids, sign(")", theme.ACCENT)]
        picture = VGroup(*parts, sign("=", theme.ACCENT), rgrid).arrange(RIGHT, buff=0.35)
        self.fit(picture, main)
        signs = [p for p in parts if p not in grids] + [picture[-2]]
        hide(rgrid.cells.values())
        scene.play(*[appear(g) for g in grids], *[FadeIn(s) for s in signs], run_time=1.0)
        scene.play(appear(rgrid), run_time=0.5)
        yield
        drawn = [i for i in res.indices() if rgrid.has(i)]
        equations = []
        for idx in drawn[:STEPPED]:
            operands, result, text = self.equation(idx)
            equations.append([list(idx), operands, result])
            at = [(g, broadcast_index(idx, self.beat[n].shape)) for g, n in zip(grids, in_names, strict=True)]
            cells = [g.cell(*i) for g, i in at if g.has(i)]  # an operand's cell may be elided
            eq = note(text, theme.ROLES["selected"], theme.NOTE_SIZE + 2, font_mono=True)
            bottom.fit(eq, max_scale=1.0)
            scene.play(glow(cells), FadeIn(eq), run_time=0.5)
            scene.play(reveal([rgrid.cell(*idx)]), run_time=0.4)
            yield
            scene.play(restore(cells, theme.ROLES["input"]), FadeOut(eq), run_time=0.3)
        self.shown["equations"] = equations
        rest = [rgrid.cell(*i) for i in drawn[STEPPED:]]
        if rest:
            scene.play(reveal(rest), run_time=0.8)
            yield
