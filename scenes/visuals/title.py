"""`Title`: a text card for objectives, recap or a challenge (no tensors)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import DOWN, LEFT, RIGHT, UP, FadeIn, Scene, VGroup, Write

from scenes import theme
from scenes.anim import note
from scenes.mobjects.text import label
from scenes.visuals.base import Visual


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
        items = VGroup()
        for line in lines:
            dot = label("•", theme.BODY_SIZE, theme.ROLES["selected"])
            items.add(
                VGroup(dot, note(line, theme.TEXT, theme.BODY_SIZE, width=50)).arrange(
                    RIGHT, buff=0.25, aligned_edge=UP
                )
            )
        items.arrange(DOWN, aligned_edge=LEFT, buff=0.35)
        card = VGroup(head, items).arrange(DOWN, aligned_edge=LEFT, buff=0.6)
        self.area.fit(card, max_scale=1.6)  # a short card reads larger instead of floating small in an empty frame
        if heading:
            scene.play(Write(head), run_time=0.8)
            yield
        for item in items:
            scene.play(FadeIn(item, shift=0.3 * RIGHT), run_time=0.5)
            yield
