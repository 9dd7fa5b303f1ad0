"""`Caption`: the one line (or two) of explanation under a picture, swapped as the steps go, so a new note
never lands on the old one."""

from __future__ import annotations

from manim import Animation, FadeIn, FadeOut, VGroup

from scenes import theme
from scenes.anim import note
from scenes.visuals.base import Area


class Caption:
    """Holds the note on screen in `area`; `swap` fades it out and the next one in. `said` lists every text."""

    def __init__(self, area: Area):
        self.area = area
        self.current: VGroup | None = None
        self.said: list[str] = []

    def swap(self, text: str, color: str = theme.MUTED, mono: bool = False) -> list[Animation]:
        """Animations that replace the current note with `text` (nothing to fade out the first time)."""
        new = note(text, color, font_mono=mono, width=72 if mono else 80)
        self.area.fit(new, max_scale=1.0)
        out: list[Animation] = [FadeIn(new)]
        if self.current is not None:
            out.append(FadeOut(self.current))
        self.current = new
        self.said.append(text)
        return out

    def clear(self) -> list[Animation]:
        """Animations that remove the current note."""
        if self.current is None:
            return []
        old, self.current = self.current, None
        return [FadeOut(old)]
