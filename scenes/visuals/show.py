"""`Show`: traced tensors appear as grids beside the code that made them."""

from __future__ import annotations

from collections.abc import Iterator

from manim import DOWN, RIGHT, FadeIn, LaggedStart, Scene, VGroup, Write

from scenes import theme
from scenes.mobjects.code_panel import CodePanel
from scenes.mobjects.tensor_grid import TensorGrid
from scenes.mobjects.text import label
from scenes.visuals.base import Area, Visual


class Show(Visual):
    """Code first, then each tensor in turn, then an optional caption."""

    def play(self, scene: Scene) -> Iterator[None]:
        area = self.area
        parts: list[tuple[str, TensorGrid]] = []
        tensors_area = area
        if self.option("code", True):
            code = CodePanel(self.beat.source)
            code_w = area.width * 0.42
            Area(area.x - area.width / 2 + code_w / 2, area.y, code_w, area.height).fit(code)
            tensors_area = Area(
                area.x + area.width * 0.21 + 0.15, area.y, area.width * 0.58 - 0.3, area.height
            )
            self.shown["code"] = code.lines
            scene.play(FadeIn(code, shift=0.2 * RIGHT), run_time=0.8)
            yield
        grids = VGroup()
        for i, name in enumerate(self.spec.tensors):
            role = "output" if i == len(self.spec.tensors) - 1 and len(self.spec.tensors) > 1 else "input"
            grid = TensorGrid(self.beat[name], role=role, digits=self.option("digits", 2))
            self.shown[name] = {",".join(map(str, k)): v for k, v in grid.shown.items()}
            grids.add(grid)
            parts.append((name, grid))
        caption = self.option("caption")
        if caption:
            text = label(caption, theme.CAPTION_SIZE, theme.MUTED)
            self.shown["caption"] = caption
        direction = DOWN if self.option("stack", False) else RIGHT
        layout: VGroup = VGroup(*grids).arrange(direction, buff=0.7)
        if caption:
            layout = VGroup(layout, text).arrange(DOWN, buff=0.4)
        tensors_area.fit(layout, max_scale=1.0)
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
