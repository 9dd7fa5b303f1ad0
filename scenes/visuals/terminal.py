"""`Terminal`: a console session in a system's own style; commands are typed, their output appears.

The session is a trace value: a list of `[command, output, origin]`. `origin` says where the output came
from, and the window's badge says it on screen with the torch version that ran the trace:
`captured on Linux` for output a subprocess really printed during the trace, `expected on Windows` for
output built from documented facts on a system the trace could not run on. The scene never invents
output: it draws the trace's text, line by line, and records every line in `shown`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, cast

from manim import UP, AddTextLetterByLetter, FadeIn, FadeOut, LaggedStart, Mobject, Scene, Text, VGroup

from scenes import theme
from scenes.errors import VisualError
from scenes.mobjects.terminal_window import SIZES, STYLES, TerminalWindow, wrap
from scenes.mobjects.text import label
from scenes.visuals.base import TensorVisual

CAPTURED, EXPECTED = "captured on ", "expected on "
CAPTION_STRIP = 0.6


def columnar(line: str) -> bool:
    """A line laid out in columns (a table, an aligned report): wrapping it would scramble the columns."""
    return "  " in line.strip()


def origin_color(origin: str) -> str:
    return theme.ROLES["output"] if origin.startswith(CAPTURED) else theme.ROLES["selected"]


class Terminal(TensorVisual):
    """The window (title bar, origin badge) is the first step, then one step per command: typed, then
    its output; an optional caption is one more step. Long sessions scroll like a real terminal."""

    takes: ClassVar[str] = ""

    options: ClassVar[dict[str, str]] = {
        "session": "trace value: a list of [command, output, origin] (default: session)",
        "system": "console style: bash, zsh, powershell or colab (default: bash)",
        "caption": "a line under the window, shown as a last step",
    }

    def entries(self) -> list[tuple[str, str, str]]:
        """The session from the trace, checked: each entry a command, its output and one shared origin."""
        name = self.option("session", "session")
        try:
            raw = self.beat.values[name]
        except KeyError:
            raise VisualError("Terminal", name, f"the beat returned no value {name!r}") from None
        if not isinstance(raw, list) or not raw:
            raise VisualError("Terminal", name, "a session is a non-empty list of [command, output, origin]")
        out = []
        for entry in raw:
            if not (isinstance(entry, list) and len(entry) == 3 and all(isinstance(x, str) for x in entry)):
                raise VisualError("Terminal", name, f"not a [command, output, origin] of strings: {entry!r}")
            out.append((entry[0], entry[1], entry[2]))
        origins = {origin for _, _, origin in out}
        if len(origins) != 1:
            raise VisualError("Terminal", name, f"one session, one origin; got {sorted(origins)}")
        origin = origins.pop()
        if not origin.startswith((CAPTURED, EXPECTED)):
            raise VisualError("Terminal", name, f"origin must say 'captured on ...' or 'expected on ...': {origin!r}")
        if self.system not in STYLES:
            raise VisualError("Terminal", name, f"unknown system {self.system!r}; use {', '.join(STYLES)}")
        return out

    @property
    def system(self) -> str:
        return str(self.option("system", "bash"))

    def steps(self) -> int:
        return 1 + len(self.entries()) + bool(self.option("caption"))

    def badge(self, origin: str) -> str:
        """Captured output names the torch that ran; expected output says plainly it was not captured."""
        if origin.startswith(EXPECTED):
            return f"{origin} · not captured"
        version = self.beat.torch_version
        return f"{origin} · torch {version}" if version else origin

    def play(self, scene: Scene) -> Iterator[None]:
        entries = self.entries()
        origin = entries[0][2]
        caption = self.option("caption")
        a = self.area
        height = a.height - (CAPTION_STRIP if caption else 0.0)
        window = self.sized_window(entries, a.width, height, origin)
        window.move_to((a.x, a.y + a.height / 2 - height / 2, 0.0))
        self.window = window
        self.shown.update(system=self.system, origin=origin, badge=self.badge(origin), entries=[])
        self.lines: list[tuple[Mobject, int]] = []  # what is on screen, with the body line it starts on
        self.used = 0
        scene.play(FadeIn(window), run_time=0.5)
        yield
        for number, (command, output, _) in enumerate(entries, start=1):
            self.run(scene, number, command, output)
            yield
        if caption:
            text = label(str(caption), theme.CAPTION_SIZE, theme.MUTED)
            if text.width > a.width:
                text.scale_to_fit_width(a.width)
            text.move_to((a.x, a.y - a.height / 2 + CAPTION_STRIP / 2, 0.0))
            self.shown["caption"] = caption
            scene.play(FadeIn(text), run_time=0.5)
            yield

    def sized_window(self, entries: list[tuple[str, str, str]], width: float, height: float,
                     origin: str) -> TerminalWindow:
        """The window at the largest font size that shows the whole session without scrolling and without
        breaking a line laid out in columns (tables keep them; commands and prose wrap at spaces); else the
        smallest."""
        style = STYLES[self.system]
        commands = [line for command, _, _ in entries for line in command.split("\n")]
        prompt = max(len(style.prompt), len(style.more))
        outputs = [line for _, output, _ in entries if output.strip() for line in output.rstrip("\n").split("\n")]
        for size in SIZES:
            window = TerminalWindow(self.system, width, height, self.badge(origin), origin_color(origin), size)
            rows = sum(len(wrap(c, window.columns - prompt, soft=True)) for c in commands)
            rows += sum(len(wrap(line, window.columns, soft=True)) for line in outputs)
            if rows <= window.capacity and window.fits([line for line in outputs if columnar(line)]):
                return window
        return window

    def command_rows(self, command: str) -> list[VGroup]:
        """The command's rows: the prompt on the first line, the continuation prompt after (wrapped to fit)."""
        w, style = self.window, self.window.style
        rows = []
        for i, line in enumerate(command.split("\n")):
            prompt = style.prompt if i == 0 else style.more
            pieces = wrap(line, w.columns - len(prompt), soft=True)
            rows.append(w.prompt_row(prompt, pieces[0]))
            rows += [w.prompt_row(" " * len(prompt), piece) for piece in pieces[1:]]
        return rows

    def output_rows(self, output: str, room: int) -> tuple[list[VGroup], list[str]]:
        """Rows of output that fit in `room` lines (a last row says how many were left out), and the
        original lines those rows draw."""
        w = self.window
        lines = output.rstrip("\n").split("\n") if output.strip() else []
        rows: list[VGroup] = []
        drawn: list[str] = []
        for k, line in enumerate(lines):
            pieces = wrap(line.expandtabs(), w.columns, soft=not columnar(line))
            if len(rows) + len(pieces) > room - (k < len(lines) - 1):
                rows.append(w.row(f"... ({len(lines) - k} more lines)", theme.MUTED))
                break
            rows += [w.row(piece) for piece in pieces]
            drawn.append(line)
        return rows, drawn

    def scroll(self, scene: Scene, needed: int) -> None:
        """Make room for `needed` lines at the bottom: lines pushed above the top fade out, the rest rise."""
        overflow = self.used + needed - self.window.capacity
        if overflow <= 0:
            return
        shift = overflow * self.window.pitch
        leaving = [m for m, first in self.lines if first < overflow]
        staying = [(m, first - overflow) for m, first in self.lines if first >= overflow]
        anims = [FadeOut(m) for m in leaving] + [m.animate.shift(UP * shift) for m, _ in staying]
        if anims:
            scene.play(*anims, run_time=0.5)
        self.lines = staying
        self.used -= overflow

    def run(self, scene: Scene, number: int, command: str, output: str) -> None:
        """One command typed at the prompt (in a cell on a notebook), then its output."""
        w = self.window
        commands = self.command_rows(command)
        room = max(w.capacity - len(commands), 2)
        outputs, drawn = self.output_rows(output, room)
        self.scroll(scene, len(commands) + len(outputs))
        first = self.used
        for i, row in enumerate(commands):
            w.place(row, first + i)
        if w.style.cells:
            cell = w.cell(first, len(commands), number)
            scene.play(FadeIn(cell), run_time=0.3)
            self.lines.append((cell, first))
        for i, row in enumerate(commands):
            prompt, typed = (row[0], cast(Text, row[1])) if len(row) == 2 else (None, cast(Text, row[0]))
            if prompt is not None:
                scene.add(prompt)
            scene.play(AddTextLetterByLetter(typed), run_time=min(1.2, 0.04 * len(str(typed.text)) + 0.2))
            self.lines.append((row, first + i))
        start = first + len(commands)
        for i, row in enumerate(outputs):
            w.place(row, start + i)
            self.lines.append((row, start + i))
        if outputs:
            scene.play(LaggedStart(*[FadeIn(r) for r in outputs], lag_ratio=0.08), run_time=0.6)
        self.used = start + len(outputs)
        self.shown["entries"].append([command, drawn])

