"""`MaskAssign`: assignment through a mask: only the True cells take the new value."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import LEFT, RIGHT, Arrow, FadeIn, Scene, VGroup

from scenes import theme
from scenes.anim import appear, glow, note
from scenes.trace import shape_text
from scenes.visuals.base import TensorVisual


class MaskAssign(TensorVisual):
    """Before and mask; the True cells glow; the after grid shows the new values in exactly those cells."""

    takes: ClassVar[str] = "before, mask, after"

    options: ClassVar[dict[str, str]] = {}  # digits only (TensorVisual)

    def validate(self) -> None:
        before_name, mask_name, after_name = self.spec.tensors[:3]
        before, mask, after = self.beat[before_name], self.beat[mask_name], self.beat[after_name]
        if mask.dtype != "bool":
            self.refuse(mask_name, f"a mask is a bool tensor (x > 0, x.isnan()...); {mask_name} is {mask.dtype}")
        for name, t in ((mask_name, mask), (after_name, after)):
            if t.shape != before.shape:
                self.refuse(name, f"before, mask and after share one shape: {before_name} is "
                            f"{shape_text(before.shape)}, {name} {shape_text(t.shape)}")

    def steps(self) -> int:
        """Before and mask; the True cells glow; the after grid with the new values."""
        return 3

    def play(self, scene: Scene) -> Iterator[None]:
        before_name, mask_name, after_name = self.spec.tensors[:3]
        before, mask, after = self.beat[before_name], self.beat[mask_name], self.beat[after_name]
        picked = [idx for idx in mask.indices() if mask.at(*idx)]
        changed = [idx for idx in before.indices() if before.at(*idx) != after.at(*idx)]
        self.shown["picked_cells"] = [list(i) for i in picked]
        self.shown["changed_cells"] = [list(i) for i in changed]
        main, bottom = self.split_area(0.8)
        bgrid = self.grid(before_name)
        mgrid = self.grid(mask_name, role="selected")
        agrid = self.grid(after_name, role="output")
        arrow = Arrow(LEFT, RIGHT, color=theme.MUTED, buff=0)
        picture = VGroup(bgrid, mgrid, arrow, agrid).arrange(RIGHT, buff=theme.GAP * 0.8)
        self.fit(picture, main)
        caption = note(
            f"only the {len(picked)} True cells are written; the other "
            f"{before.numel - len(picked)} keep their values",
            theme.MUTED,
        )
        bottom.fit(caption)
        scene.play(appear(bgrid), appear(mgrid), run_time=1.0)
        yield
        scene.play(
            glow([c for i in picked for g in (bgrid, mgrid) if g.has(i) for c in [g.cell(*i)]]), run_time=0.8
        )
        yield
        scene.play(FadeIn(arrow), appear(agrid), run_time=0.8)
        scene.play(
            glow([agrid.cell(*i) for i in picked if agrid.has(i)], theme.ROLES["output"], 0.35),
            FadeIn(caption),
            run_time=0.6,
        )
        yield
