"""`Reshape`: reshape / view / flatten / unflatten: elements flow out in memory order and back in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import DOWN, LEFT, RIGHT, Arrow, FadeIn, Scene, VGroup, Write

from scenes import theme
from scenes.anim import appear, fill, flow, note
from scenes.mobjects.memory_strip import MemoryStrip
from scenes.trace import shape_text
from scenes.visuals.base import TensorVisual, largest_arrangement


class Reshape(TensorVisual):
    """Source cells line up in memory order (row-major), then fill the new shape in the same order."""

    takes: ClassVar[str] = "src, result"

    options: ClassVar[dict[str, str]] = {
        "op": "'reshape', 'view', 'flatten' or 'unflatten' (default 'reshape')",
    }

    def validate(self) -> None:
        src_name, res_name = self.spec.tensors[:2]
        src, res = self.beat[src_name], self.beat[res_name]
        if src.numel != res.numel:
            self.refuse(res_name, f"{self.option('op', 'reshape')} keeps every element: {src_name} has {src.numel} "
                        f"({shape_text(src.shape)}), {res_name} {res.numel} ({shape_text(res.shape)})")

    def steps(self) -> int:
        """The source; its cells line up in memory order; they fill the new shape."""
        return 3

    def play(self, scene: Scene) -> Iterator[None]:
        src_name, res_name = self.spec.tensors[:2]
        src, res = self.beat[src_name], self.beat[res_name]
        op = self.option("op", "reshape")
        main, bottom = self.split_area(0.8)
        # a 3-D or 4-D source's slices take the room of its badge: the result's names the dtype and device a
        # reshape keeps
        sgrid = self.grid(src_name, show_badge=src.ndim < 3)
        rgrid = self.grid(res_name, role="output")
        order = src.indices()
        strip = MemoryStrip(
            {k: src.at(*i) for k, i in enumerate(order)},
            src.dtype,
            digits=self.digits,
            title="memory order (row-major)",
        )
        self.shown["order"] = {k: v for k, v in strip.shown.items()}
        arrow = Arrow(LEFT, RIGHT, color=theme.MUTED, buff=0)
        # a 3-D grid's slices side by side may make the row too wide: then they stand in a column
        top = largest_arrangement(VGroup(sgrid, arrow, rgrid), main, [lambda g: g.arrange(RIGHT, buff=theme.GAP)],
                                  around=lambda g: VGroup(g, strip.copy()).arrange(DOWN, buff=0.45))
        picture = VGroup(top, strip).arrange(DOWN, buff=0.45)
        self.fit(picture, main)
        shares = res.storage == (src.storage or src_name)
        self.shown["view"] = shares
        res_order = res.indices()
        caption = note(
            f"{op}: {'x'.join(map(str, src.shape)) or 'scalar'} -> "
            f"{'x'.join(map(str, res.shape)) or 'scalar'}, same {src.numel} elements in the same order; "
            + ("a view of the same memory" if shares else "a copy"),
            theme.MUTED,
        )
        bottom.fit(caption)
        scene.play(appear(sgrid), run_time=0.8)
        yield
        scene.play(FadeIn(strip.offsets), FadeIn(strip.title), run_time=0.3)
        flow(
            scene,
            [(sgrid.cell(*i), strip.cell(k)) for k, i in enumerate(order) if sgrid.has(i) and strip.has(k)],
            run_time=1.2,
            lag=0.05,
        )
        scene.add(strip.row)
        yield
        scene.play(FadeIn(arrow), run_time=0.3)
        pairs = self.pairs(
            [(src_name, sgrid, i, res_name, rgrid, j) for i, j in zip(order, res_order, strict=True)]
        )
        from_strip = [
            (strip.cell(k), rgrid.cell(*j)) for k, j in enumerate(res_order) if strip.has(k) and rgrid.has(j)
        ]
        fill(scene, from_strip or pairs, [rgrid], Write(caption), lag=0.05)
        yield
