"""`Title`: a text card for objectives, recap or a challenge (no tensors)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import DOWN, LEFT, RIGHT, UP, FadeIn, Scene, VGroup, VMobject, Write

from scenes import theme
from scenes.anim import note
from scenes.mobjects.text import label
from scenes.visuals.base import Visual

WRAP_WIDTHS = (34, 42, 50, 60, 72)  # characters per line tried; the card keeps the one drawn largest
MAX_SCALE = 1.6


class Title(Visual):
    """A heading, then each line with a bullet, one step per line (lines may be a lesson's objectives)."""

    takes: ClassVar[str] = ""

    options: ClassVar[dict[str, str]] = {
        "heading": "the card's heading (its own step)",
        "lines": "list of lines, one step each",
    }

    def steps(self) -> int:
        """The heading (if any), then one step per line."""
        return (1 if self.option("heading", "") else 0) + len(self.option("lines", []))

    def play(self, scene: Scene) -> Iterator[None]:
        heading = self.option("heading", "")
        # slide lines mark code with backticks; a card shows the words alone
        lines = [str(line).replace("`", "") for line in self.option("lines", [])]
        self.shown["heading"] = heading
        self.shown["lines"] = lines
        head = label(heading, theme.TITLE_SIZE * 1.1, theme.ACCENT, weight="BOLD") if heading else VGroup()
        items = max((self.bullets(lines, width) for width in WRAP_WIDTHS), key=lambda g: self.scale_for(head, g))
        card = VGroup(head, items).arrange(DOWN, aligned_edge=LEFT, buff=0.6)
        self.area.fit(card, max_scale=MAX_SCALE)  # a short card reads larger instead of floating small
        if heading:
            scene.play(Write(head), run_time=0.8)
            yield
        for item in items:
            scene.play(FadeIn(item, shift=0.3 * RIGHT), run_time=0.5)
            yield

    @staticmethod
    def bullets(lines: list[str], width: int) -> VGroup:
        """Each line behind a bullet, wrapped at `width` characters, one under another."""
        items = VGroup()
        for line in lines:
            dot = label("•", theme.BODY_SIZE, theme.ROLES["selected"])
            items.add(VGroup(dot, note(line, theme.TEXT, theme.BODY_SIZE, width=width)).arrange(
                RIGHT, buff=0.25, aligned_edge=UP))
        return items.arrange(DOWN, aligned_edge=LEFT, buff=0.35) if lines else items

    def scale_for(self, head: VMobject, items: VGroup) -> tuple[float, int]:
        """How large the card with these items would be drawn (fewer wrapped lines win a tie)."""
        card = VGroup(head.copy(), items.copy()).arrange(DOWN, aligned_edge=LEFT, buff=0.6)
        scale = min(MAX_SCALE, self.area.width / max(card.width, 1e-6), self.area.height / max(card.height, 1e-6))
        rows = sum(len(item[1]) for item in items)
        return round(scale, 2), -rows
