"""`TerminalWindow`: a console in a system's own style (bash, zsh, PowerShell, a Colab notebook), whose
rows of monospace text are laid out by hand so leading spaces and long lines keep their columns."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np
from manim import UP, Circle, Rectangle, RoundedRectangle, Text, VGroup

from scenes import theme
from scenes.mobjects.text import label, mono


@dataclass(frozen=True)
class Style:
    """How one system's console looks: its window title, prompt, continuation prompt and colours."""

    title: str
    prompt: str
    more: str
    background: str
    prompt_color: str
    traffic_lights: bool = False
    cells: bool = False  # a notebook: each command is a code cell, numbered after it runs


STYLES = {
    "bash": Style("bash: Linux terminal", "$ ", "> ", "#0f1117", "#80ed99"),
    "zsh": Style("zsh: macOS Terminal", "% ", "> ", "#1b1b1f", "#ffd166", traffic_lights=True),
    "powershell": Style("Windows PowerShell", "PS C:\\lab> ", ">> ", "#012456", "#f2f2f2"),
    "colab": Style("Google Colab notebook", "", "", "#1f1f1f", "#9aa0b8", cells=True),
}

FONT_SIZE = theme.CODE_SIZE
ROW = 0.36  # row pitch in Manim units at FONT_SIZE (it scales with the font size)
SIZES = (24, 22, 20, FONT_SIZE)  # largest first: a short session is drawn larger
BAR = 0.5  # title bar height
PAD = 0.22


def char_width(size: float = FONT_SIZE) -> float:
    return float(mono("M" * 10, size).width / 10)


def wrap(text: str, width: int, soft: bool = False) -> list[str]:
    """A line cut into pieces of at most `width` characters: hard, as a terminal wraps output, or `soft`,
    at spaces where it can (a command stays readable word by word)."""
    if len(text) <= width:
        return [text]
    if soft:  # continuation lines hang four spaces in from the line's own indentation
        hang = " " * (len(text) - len(text.lstrip(" ")) + 4)
        return textwrap.wrap(text, width, break_on_hyphens=False, subsequent_indent=hang) or [text]
    return [text[i : i + width] for i in range(0, len(text), width)]


class TerminalWindow(VGroup):
    """The window frame (title bar, origin badge) and an empty body; rows are made by `row` and placed
    by `place`, so the visual decides when they appear and how the body scrolls."""

    def __init__(self, system: str, width: float, height: float, badge: str, badge_color: str,
                 size: float = FONT_SIZE):
        super().__init__()
        self.style = STYLES[system]
        self.size = size
        self.pitch = ROW * size / FONT_SIZE
        self.cw = char_width(size)
        frame = RoundedRectangle(corner_radius=0.12, width=width, height=height, fill_color=self.style.background,
                                 fill_opacity=1, stroke_color=theme.PANEL_EDGE, stroke_width=1.5)
        bar = Rectangle(width=width - 0.04, height=BAR, fill_color=theme.PANEL, fill_opacity=1, stroke_width=0)
        bar.align_to(frame, UP).shift(0.02 * np.array([0.0, -1.0, 0.0]))
        left = bar.get_left()[0] + 0.25
        parts = VGroup()
        if self.style.traffic_lights:
            for i, colour in enumerate(("#ff5f57", "#febc2e", "#28c840")):
                parts.add(Circle(0.08, color=colour, fill_opacity=1, stroke_width=0)
                          .move_to((left + 0.08 + i * 0.26, bar.get_y(), 0.0)))
            left += 0.9
        title = label(self.style.title, theme.BADGE_SIZE, theme.MUTED)
        title.move_to((left + title.width / 2, bar.get_y(), 0.0))
        room = bar.get_right()[0] - 0.25 - (title.get_right()[0] + 0.4)
        self.badge = label(badge, theme.BADGE_SIZE, badge_color, weight="BOLD")
        if self.badge.width > room:  # a long origin keeps the window its size: its end gives way to an ellipsis
            keep = max(int(len(badge) * room / self.badge.width) - 1, 1)
            self.badge = label(f"{badge[:keep].rstrip()}…", theme.BADGE_SIZE, badge_color, weight="BOLD")
        self.badge.move_to((bar.get_right()[0] - 0.25 - self.badge.width / 2, bar.get_y(), 0.0))
        self.frame, self.bar, self.title = frame, bar, title
        self.add(frame, bar, parts, title, self.badge)
        self.gutter = 0.75 if self.style.cells else 0.0
        self.columns = int((width - 2 * PAD - self.gutter) / self.cw)
        self.capacity = int((height - BAR - 2 * PAD + 0.1 * self.pitch) / self.pitch)

    @property
    def left(self) -> float:
        """Where body text starts (right of a notebook's run markers); read after the window has moved."""
        return float(self.frame.get_left()[0]) + PAD + self.gutter

    @property
    def top(self) -> float:
        return float(self.bar.get_bottom()[1]) - PAD

    def fits(self, lines: list[str]) -> bool:
        """Whether `lines` fit this window unwrapped and without scrolling."""
        return len(lines) <= self.capacity and all(len(line) <= self.columns for line in lines)

    def row(self, text: str, color: str = theme.TEXT) -> VGroup:
        """One row of text; leading spaces become an offset (a glyph-less space has no width when drawn)."""
        body = text.rstrip()
        indent = len(body) - len(body.lstrip(" "))
        words = mono(body.lstrip(" ") or " ", self.size, color)
        group = VGroup(words)
        group.indent = indent  # type: ignore[attr-defined]
        return group

    def prompt_row(self, prompt: str, command: str) -> VGroup:
        """A command row: the prompt in the system's colour, then the command typed after it (its own
        indentation kept, as in a notebook cell's loop body)."""
        row = VGroup()
        if prompt.strip():
            row.add(mono(prompt.rstrip(), self.size, self.style.prompt_color))
        row.add(mono(command.strip() or " ", self.size, theme.TEXT))
        row.indent = len(command) - len(command.lstrip(" "))  # type: ignore[attr-defined]
        row.prompt_chars = len(prompt)  # type: ignore[attr-defined]
        return row

    def place(self, row: VGroup, index: int) -> VGroup:
        """Put `row` on body line `index` (0 is the top line): a prompt at the left edge, the text at its
        column (after the prompt and its indentation; a monospace cell is `cw` wide)."""
        y = self.top - index * self.pitch - self.pitch / 2
        column = getattr(row, "prompt_chars", 0) + getattr(row, "indent", 0)
        pieces = list(row)
        if len(pieces) == 2:
            pieces[0].move_to((self.left + pieces[0].width / 2, y, 0.0))
        text = pieces[-1]
        start = self.left + column * self.cw
        text.move_to((start + text.width / 2, y, 0.0))
        for piece in pieces:  # centred on the row whatever its descenders
            piece.set_y(y)
        return row

    def cell(self, first: int, rows: int, number: int) -> VGroup:
        """A notebook code cell behind body lines first..first+rows-1, with its run marker `[n]`."""
        top = self.top - first * self.pitch + 0.04
        height = rows * self.pitch + 0.08
        width = self.frame.get_right()[0] - PAD - (self.left - 0.12)
        box = Rectangle(width=width, height=height, fill_color="#2a2d36", fill_opacity=1,
                        stroke_color=theme.PANEL_EDGE, stroke_width=1)
        box.move_to((self.left - 0.12 + width / 2, top - height / 2, 0.0))
        marker: Text = mono(f"[{number}]", self.size - 2, theme.MUTED)
        marker.move_to((self.frame.get_left()[0] + PAD + marker.width / 2, top - self.pitch / 2, 0.0))
        return VGroup(box, marker)
