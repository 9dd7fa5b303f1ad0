"""`Dropout`: the 0/1 mask multiplied in, the survivors scaled by 1/(1-p), the mean kept (averaged by torch
over many draws), and eval mode as the identity. Every number is traced, the scale and the mean included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from manim import DOWN, RIGHT, FadeIn, FadeOut, Scene, VGroup

from scenes import theme
from scenes.anim import appear, glow, note, sign
from scenes.errors import VisualError
from scenes.mobjects.tensor_grid import TensorGrid
from scenes.visuals.base import TensorVisual
from scenes.visuals.curve import number_label, require


class Dropout(TensorVisual):
    """`Dropout("x", "mask", "y", p="p", scale="scale", mean="avg", draws="n", eval="y_eval")`: x, then
    x ⊙ mask with the dropped cells lit, then y = x ⊙ mask × scale; then (when traced) the mean over many
    draws beside x, and the eval-mode output equal to x."""

    takes: ClassVar[str] = "x, mask, y"

    options: ClassVar[dict[str, str]] = {
        "p": "traced drop probability (a number the beat returned)",
        "scale": "traced factor 1/(1-p) the survivors are multiplied by",
        "mean": "traced mean of the training-mode output over many draws",
        "draws": "traced number of draws behind that mean",
        "eval": "traced output in eval mode",
        "digits": "decimals of the values shown (default 2)",
    }

    def steps(self) -> int:
        return 3 + (1 if self.option("mean") else 0) + (1 if self.option("eval") else 0)

    def check(self) -> tuple[str, str, str]:
        require(self, "Dropout", self.spec.tensors, *(self.option(k) for k in ("p", "scale", "mean", "draws", "eval")))
        if len(self.spec.tensors) != 3:
            raise VisualError("Dropout", None, "name the input, the 0/1 mask and the output: Dropout('x', 'mask', 'y')")
        x, mask, y = self.spec.tensors
        shape = self.beat[x].shape
        for name in (mask, y, self.option("mean"), self.option("eval")):
            if name and self.beat[name].shape != shape:
                got = list(self.beat[name].shape)
                raise VisualError("Dropout", name, f"shape {got} differs from {x}'s {list(shape)}")
        bad = [v for v in self.beat[mask].flat() if v not in (0, 1)]
        if bad:
            raise VisualError("Dropout", mask, f"a dropout mask holds only 0 and 1, found {bad[0]!r}")
        return x, mask, y

    def play(self, scene: Scene) -> Iterator[None]:
        x, mask, y = self.check()
        main, bottom = self.split_area(0.8)
        xg, mg, yg = self.grid(x), self.grid(mask, role="selected"), self.grid(y, role="output")
        scale = number_label(self, "Dropout", str(self.option("scale"))) if self.option("scale") else ""
        p = number_label(self, "Dropout", str(self.option("p"))) if self.option("p") else ""
        times = sign(f"× {scale}" if scale else "× 1/(1-p)", theme.ROLES["selected"])
        top: list[Any] = [xg, sign("⊙", theme.ACCENT), mg, times, sign("=", theme.ACCENT), yg]
        row = VGroup(*top).arrange(RIGHT, buff=0.3)
        lower = self.lower_row()
        picture = VGroup(row, VGroup(*lower)).arrange(DOWN, buff=0.6) if lower else row
        self.fit(picture, main)
        dropped = [i for i in self.beat[mask].indices() if self.beat[mask].at(*i) == 0]
        self.shown["dropped"] = [list(i) for i in dropped]
        lead = note(f"training mode: each value is dropped with probability p = {p}" if p else "training mode",
                    theme.MUTED)
        bottom.fit(lead, max_scale=1.0)
        scene.play(appear(xg), FadeIn(lead), run_time=0.8)
        yield
        lit = [g.cell(*i) for g in (xg, mg) for i in dropped if g.has(i)]
        masked = note(f"{len(dropped)} of {self.beat[mask].numel} values dropped this draw (mask 0, lit)",
                      theme.ROLES["selected"])
        bottom.fit(masked, max_scale=1.0)
        scene.play(FadeIn(top[1]), appear(mg), FadeOut(lead), run_time=0.8)
        scene.play(glow(lit, theme.ROLES["gradient"]), FadeIn(masked), run_time=0.6)
        yield
        scaled = note(f"survivors × {scale} = 1/(1-p), so the expected value stays the same" if scale
                      else "survivors scaled by 1/(1-p)", theme.ROLES["selected"])
        bottom.fit(scaled, max_scale=1.0)
        scene.play(FadeOut(masked), run_time=0.25)  # the old note leaves before the new one comes: no cross-fade
        scene.play(FadeIn(times), FadeIn(top[4]), appear(yg), FadeIn(scaled), run_time=0.9)
        yield
        for k, grid in enumerate(lower):
            line = self.lower_note(k)
            bottom.fit(line, max_scale=1.0)
            scene.play(FadeOut(scaled), run_time=0.25)
            scene.play(appear(grid), FadeIn(line), run_time=0.8)
            scaled = line
            yield

    def lower_row(self) -> list[TensorGrid]:
        """The mean over many draws and the eval-mode output, when the beat traced them."""
        grids = []
        if self.option("mean"):
            draws = number_label(self, "Dropout", str(self.option("draws"))) if self.option("draws") else "many"
            name = str(self.option("mean"))
            grids.append(self.grid(name, tag=f"{name}: mean of {draws} draws"))
        if self.option("eval"):
            name = str(self.option("eval"))
            grids.append(self.grid(name, role="output", tag=f"{name}: eval mode"))
        if grids:
            VGroup(*grids).arrange(RIGHT, buff=1.2)
        return grids

    def lower_note(self, k: int) -> VGroup:
        mean_first = bool(self.option("mean"))
        if k == 0 and mean_first:
            return note(f"averaged over many draws, the output is close to {self.spec.tensors[0]} again",
                        theme.ROLES["output"])
        return note(f"model.eval(): dropout does nothing, {self.option('eval')} equals {self.spec.tensors[0]}",
                    theme.ROLES["output"])
