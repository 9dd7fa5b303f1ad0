"""`Mask`: the True cells of a boolean mask glow in the source, then collapse into the 1-D result."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import LEFT, RIGHT, Arrow, FadeIn, Scene, VGroup

from scenes import theme
from scenes.anim import appear, fill, glow, note
from scenes.trace import shape_text, short_name
from scenes.visuals.base import TensorVisual


class Mask(TensorVisual):
    """Source and mask side by side; the picked cells glow in both, then travel, in row-major order,
    into the 1-D result."""

    takes: ClassVar[str] = "src, mask, result"

    options: ClassVar[dict[str, str]] = {}  # digits only (TensorVisual)

    def validate(self) -> None:
        src_name, mask_name, res_name = self.spec.tensors[:3]
        src, mask, res = self.beat[src_name], self.beat[mask_name], self.beat[res_name]
        if mask.dtype != "bool":
            self.refuse(mask_name, f"a mask is a bool tensor (x > 0, x.isnan()...); {mask_name} is {mask.dtype}")
        if mask.shape != src.shape:
            self.refuse(mask_name, f"it draws a mask of the source's shape: {src_name} is {shape_text(src.shape)}, "
                        f"{mask_name} {shape_text(mask.shape)}")
        true = None if mask.truncated else sum(1 for i in mask.indices() if mask.at(*i))
        if res.ndim != 1 or (true is not None and res.shape[0] != true):
            self.refuse(res_name, f"{src_name}[{mask_name}] is 1-D with one value per True cell ({true}); "
                        f"{res_name} is {shape_text(res.shape)}")

    def steps(self) -> int:
        """Source and mask; the True cells glow; they collapse into the 1-D result."""
        return 3

    def play(self, scene: Scene) -> Iterator[None]:
        src_name, mask_name, res_name = self.spec.tensors[:3]
        src, mask = self.beat[src_name], self.beat[mask_name]
        picked = [idx for idx in mask.indices() if mask.at(*idx)]
        self.shown["picked_cells"] = [list(i) for i in picked]
        main, bottom = self.split_area(0.8)
        sgrid = self.grid(src_name)
        mgrid = self.grid(mask_name, role="selected")
        rgrid = self.grid(res_name, role="output", max_cols=8)
        arrow = Arrow(LEFT, RIGHT, color=theme.MUTED, buff=0)
        picture = VGroup(sgrid, mgrid, arrow, rgrid).arrange(RIGHT, buff=theme.GAP * 0.8)
        self.fit(picture, main)
        caption = note(
            f"{short_name(src_name)}[{short_name(mask_name)}]: {len(picked)} of {src.numel} cells are True, "
            f"the result is 1-D whatever the shape of {short_name(src_name)}",
            theme.MUTED,
        )
        bottom.fit(caption)
        scene.play(appear(sgrid), appear(mgrid), run_time=1.0)
        yield
        scene.play(
            glow([mgrid.cell(*i) for i in picked if mgrid.has(i)]),
            glow([sgrid.cell(*i) for i in picked if sgrid.has(i)]),
            run_time=0.8,
        )
        yield
        scene.play(FadeIn(arrow), run_time=0.3)
        links: list = [(src_name, sgrid, i, res_name, rgrid, (k,)) for k, i in enumerate(picked)]
        fill(scene, self.pairs(links), [rgrid], FadeIn(caption), run_time=1.3, lag=0.1, tag_time=0.6)
        yield
