"""`DeviceMove`: `.to(device)`: the device badge travels across and the tensor lands in that memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import DOWN, LEFT, RIGHT, Arrow, FadeIn, Scene, Transform, VGroup, Write

from scenes import theme
from scenes.anim import appear, note, tags
from scenes.mobjects.text import mono
from scenes.visuals.base import TensorVisual


class DeviceMove(TensorVisual):
    """Source with its device badge; the badge moves to the moved tensor, whose cells are a copy in the
    other device's memory (or, when both sit on the same device, the very same tensor)."""

    takes: ClassVar[str] = "src, moved"

    options: ClassVar[dict[str, str]] = {}  # digits only (TensorVisual)

    def steps(self) -> int:
        """The source with its device badge; the badge travels, the copy lands."""
        return 2

    def play(self, scene: Scene) -> Iterator[None]:
        src_name, dst_name = self.spec.tensors[:2]
        src, dst = self.beat[src_name], self.beat[dst_name]
        self.shown["devices"] = [src.device, dst.device]
        same = dst.storage == (src.storage or src_name)
        self.shown["same_tensor"] = same
        main, bottom = self.split_area(0.9)
        sgrid = self.grid(src_name)
        dgrid = self.grid(dst_name, role="output")
        arrow = Arrow(LEFT, RIGHT * 1.5, color=theme.MUTED, buff=0)
        call = mono(f".to('{dst.device}')", theme.CAPTION_SIZE, theme.ACCENT)
        middle = VGroup(call, arrow).arrange(direction=DOWN, buff=0.15)
        picture = VGroup(sgrid, middle, dgrid).arrange(RIGHT, buff=theme.GAP)
        self.fit(picture, main)
        if same:
            text = (
                f"{src_name} already lives on {src.device}: .to returns the same tensor "
                "(no copy). On a machine with a GPU this is a copy into its memory."
            )
        else:
            text = f"{src.device} -> {dst.device}: a copy in {dst.device}'s memory; {src_name} stays put"
        caption = note(text, theme.MUTED, width=80)
        bottom.fit(caption)
        scene.play(appear(sgrid), run_time=0.8)
        yield
        badge = sgrid.badge[1].copy()
        scene.play(FadeIn(middle), run_time=0.4)
        scene.play(Transform(badge, dgrid.badge[1]), FadeIn(dgrid.body), run_time=1.0)
        scene.remove(badge)
        scene.play(tags(dgrid), Write(caption), run_time=0.6)
        yield
