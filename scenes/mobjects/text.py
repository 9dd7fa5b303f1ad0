"""Text built once per distinct (string, size, colour, font) and copied after: Pango layout is the cost."""

from __future__ import annotations

import functools

from manim import Text

from scenes import theme


@functools.lru_cache(maxsize=4096)
def _master(text: str, size: float, color: str, font: str, weight: str) -> Text:
    master = Text(text, font_size=size, color=color, font=font, weight=weight)
    for glyph in master.get_family():
        # the parsed SVG path a glyph's points were made from is never read again, and deep-copying it
        # was 3/4 of the cost of every copy
        if hasattr(glyph, "path_obj"):
            glyph.path_obj = None  # type: ignore[attr-defined]
    return master


def label(
    text: str,
    size: float = theme.BODY_SIZE,
    color: str = theme.TEXT,
    font: str = theme.FONT,
    weight: str = "NORMAL",
) -> Text:
    """A fresh copy of a cached Text; safe to move and recolour."""
    return _master(text, float(size), color, font, weight).copy()


def mono(text: str, size: float = theme.CODE_SIZE, color: str = theme.TEXT) -> Text:
    return label(text, size, color, theme.MONO)
