"""`Show`: traced tensors appear as grids beside the code that made them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from manim import DOWN, RIGHT, FadeIn, LaggedStart, Scene, VGroup, Write

from scenes import theme
from scenes.anim import note
from scenes.errors import VisualError
from scenes.mobjects.code_panel import CodePanel
from scenes.mobjects.tensor_grid import TensorGrid
from scenes.mobjects.text import label
from scenes.trace import format_number
from scenes.typed_code import typed_code
from scenes.visuals.base import Area, Visual, largest_arrangement

SHORT_VECTOR = 10  # a vector up to this long is drawn whole (a row of 8 losses cut to 6 hid the tokens it named)
GROW = 1.5  # small grids are drawn larger, up to this, to use the frame (reviews found 1x2 grids on 55% of it)


class Show(Visual):
    """Code first, then each tensor in turn, then an optional caption and an optional error torch raised."""

    takes: ClassVar[str] = "[tensors...]"

    options: ClassVar[dict[str, str]] = {
        "caption": "a line of text under the grids, its own step; `{{ name }}` in it writes a traced value",
        "code": "False: no code panel (default True: the beat's source on the left, its own step)",
        "stack": "True: grids one above the other (default: the arrangement that draws them largest)",
        "digits": "decimals shown for floats (default 2)",
        "error": "name of a traced string (an error torch raised), written under the grids as the last step",
    }

    def steps(self) -> int:
        """The code panel (unless `code=False`), each tensor, the caption (if any), the error (if any)."""
        return ((1 if self.option("code", True) else 0) + len(self.spec.tensors)
                + (1 if self.option("caption") else 0) + (1 if self.option("error") else 0))

    def play(self, scene: Scene) -> Iterator[None]:
        area = self.area
        parts: list[tuple[str, TensorGrid]] = []
        grids = VGroup()
        for i, name in enumerate(self.spec.tensors):
            role = "output" if i == len(self.spec.tensors) - 1 and len(self.spec.tensors) > 1 else "input"
            entry = self.beat[name]
            wide = SHORT_VECTOR if entry.ndim == 1 and entry.numel <= SHORT_VECTOR else 7
            grid = TensorGrid(entry, role=role, digits=self.option("digits", 2), max_cols=wide)
            self.shown[name] = {",".join(map(str, k)): v for k, v in grid.shown.items()}
            grids.add(grid)
            parts.append((name, grid))
        caption = self.option("caption")
        if caption:
            caption = self.filled(str(caption))
            text = label(caption, theme.CAPTION_SIZE, theme.MUTED)
            self.shown["caption"] = caption
        error = self.error_text()
        tensors_area = area
        code = CodePanel(typed_code(self.beat.source, self.beat.values)) if self.option("code", True) else None
        if code is not None:
            tensors_area = self.split(code, grids, area)
        layout = self.arrange(grids, tensors_area)
        if caption:
            layout = VGroup(layout, text).arrange(DOWN, buff=0.4)
        if error is not None:
            layout = VGroup(layout, error).arrange(DOWN, buff=0.4)
        tensors_area.fit(layout, max_scale=GROW)
        if code is not None:
            self.shown["code"] = code.lines
            scene.play(FadeIn(code, shift=0.2 * RIGHT), run_time=0.8)
            yield
        for _, shown_grid in parts:
            scene.play(
                LaggedStart(
                    FadeIn(shown_grid.body), Write(shown_grid.tag), FadeIn(shown_grid.badge), lag_ratio=0.2
                ),
                run_time=1.0,
            )
            yield
        if caption:
            scene.play(FadeIn(text), run_time=0.5)
            yield
        if error is not None:
            scene.play(Write(error), run_time=1.0)
            yield

    def error_text(self) -> VGroup | None:
        """The traced error message named by the `error` option, wrapped, in the error colour."""
        name = self.option("error")
        if not name:
            return None
        if name not in self.beat.values:
            raise VisualError("Show", name, f"the beat returned no value {name!r}")
        message = str(self.beat.values[name])
        self.shown["error"] = message
        return note(message, theme.ROLES["error"], theme.NOTE_SIZE, width=48)

    def split(self, code: CodePanel, grids: VGroup, area: Area, gap: float = 0.4) -> Area:
        """Place the code panel on the left, as wide as keeps both it and the grids largest; return the
        area left for the grids."""
        def scales(fraction: float) -> tuple[float, float]:
            code_w = fraction * area.width
            rest = Area(0, 0, area.width - code_w - gap, area.height)
            trial = self.arrange(grids.copy(), rest)
            return (min(1.0, code_w / code.width, area.height / code.height),
                    min(GROW, rest.width / max(trial.width, 1e-6), rest.height / max(trial.height, 1e-6)))

        # both as large as they can be; of equals, the one whose grids are drawn largest
        fraction = max((0.3, 0.38, 0.46, 0.54, 0.6), key=lambda f: (min(scales(f)), scales(f)[1]))
        code.scale(scales(fraction)[0])
        left = area.x - area.width / 2
        code.move_to((left + code.width / 2, area.y, 0.0))
        rest_w = area.width - code.width - gap
        return Area(left + code.width + gap + rest_w / 2, area.y, rest_w, area.height)

    def arrange(self, grids: VGroup, area: Area) -> VGroup:
        """Grids in a row, a column, or two columns: whichever lets them be drawn largest in `area`."""
        arrangements = [lambda g: g.arrange(DOWN, buff=0.5)]
        if not self.option("stack", False):
            arrangements.append(lambda g: g.arrange(RIGHT, buff=0.7))
            if len(grids) >= 3:
                arrangements.append(lambda g: g.arrange_in_grid(cols=2, buff=(0.7, 0.5)))
        return largest_arrangement(grids, area, arrangements)

    def filled(self, caption: str) -> str:
        """The caption with each `{{ name }}` replaced by the trace's value: a returned value, or a one-element
        tensor as its grid would label it (so a caption's number is computed, never typed)."""
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in self.beat.tensors and self.beat[name].numel == 1:
                entry = self.beat[name]
                return entry.label(*[0] * entry.ndim, digits=self.option("digits", 2))
            if name in self.beat.values:
                v = self.beat.values[name]
                return format_number(v, "float32", self.option("digits", 2)) if isinstance(v, float) else str(v)
            self.refuse(None, f"the caption names {{{{ {name} }}}}, which the beat neither returned as a value "
                        f"nor as a one-element tensor; it returned {sorted([*self.beat.values, *self.beat.tensors])}")
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", value, caption)
