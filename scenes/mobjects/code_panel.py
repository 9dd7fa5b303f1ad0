"""`CodePanel`: the compute source that really ran, on a dark panel with a monospace face."""

from __future__ import annotations

from typing import Any

import numpy as np
from manim import DOWN, LEFT, UL, RoundedRectangle, VGroup

from scenes import theme
from scenes.mobjects.text import mono

KEYWORDS = ("def ", "return", "import ", "with ", "for ", "in ", "if ", "else")


def wrap_line(line: str, max_chars: int) -> list[str]:
    """A long source line broken after a comma or space, continuation lines indented four more spaces (a
    comment line's continuation stays a comment at its indent), so wide code stays legible; the words and their
    order are unchanged."""
    indent = len(line) - len(line.lstrip(" "))
    whole = line.lstrip().startswith("#")  # a comment line wraps into more comment lines at its own indent
    parts: list[str] = []
    comment = indent if whole else line.find("  # ")  # a comment's continuation keeps its `#`: never read as code
    hang = indent if whole else indent + 4
    while len(line) > max_chars:
        floor = indent + 8
        comma = line.rfind(", ", floor, max_chars)
        cut = comma + 1 if comma > floor else line.rfind(" ", floor, max_chars)
        if cut <= floor:
            break
        parts.append(line[:cut].rstrip())
        in_comment = 0 <= comment < cut
        line = " " * hang + ("# " if in_comment else "") + line[cut:].lstrip()
        comment = hang if in_comment else comment - cut + hang if comment >= 0 else -1
    return [*parts, line]


class CodePanel(VGroup):
    """Source lines, the signature dimmed, long lines wrapped; `lines` keeps the source as it ran, for
    tests, and `drawn` the lines as drawn."""

    def __init__(
        self, source: str, *, max_lines: int = 18, max_chars: int = 60, font_size: float = theme.CODE_SIZE,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        lines = source.rstrip().splitlines()
        self.lines = lines
        drawn = [part for line in lines for part in wrap_line(line, max_chars)]
        self.total_lines = len(drawn)
        self.hidden_lines = len(drawn) - (max_lines - 1) if len(drawn) > max_lines else 0  # lint names it
        if len(drawn) > max_lines:
            drawn = [*drawn[: max_lines - 1], "    ..."]
        self.drawn = drawn
        texts = VGroup()
        indents = []
        for line in drawn:
            color = theme.MUTED if line.lstrip().startswith(("def ", "@", "#")) else theme.TEXT
            indents.append(len(line) - len(line.lstrip(" ")))
            # a blank line draws nothing and has no height: an invisible letter keeps its place in the column
            texts.add(mono(line.strip(), font_size, color) if line.strip() else mono("M", font_size).set_opacity(0))
        texts.arrange(DOWN, aligned_edge=LEFT, buff=0.09)
        # a glyph-less space has no width in the drawing, so indentation is placed by hand (monospace)
        char_width = mono("M" * 10, font_size).width / 10
        for text, indent in zip(texts, indents, strict=True):
            text.shift(indent * char_width * np.array([1.0, 0.0, 0.0]))
        panel = RoundedRectangle(
            corner_radius=0.12,
            width=texts.width + 0.5,
            height=texts.height + 0.4,
            fill_color=theme.PANEL,
            fill_opacity=1,
            stroke_color=theme.PANEL_EDGE,
            stroke_width=1.5,
        )
        texts.move_to(panel).align_to(panel, LEFT).shift(0.25 * (-LEFT))
        texts.align_to(panel.get_corner(UL), UL).shift(np.array([0.25, -0.2, 0.0]))
        self.panel = panel
        self.text = texts
        self.add(panel, texts)
