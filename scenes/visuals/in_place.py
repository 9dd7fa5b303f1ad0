"""`InPlace`: an in-place operation (`add_`, `mul_`, ...): the same cells, the same memory, new values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import DOWN, LEFT, FadeIn, ReplacementTransform, Scene, VGroup, Write

from scenes import theme
from scenes.anim import appear, glow, note
from scenes.trace import shape_text
from scenes.visuals.base import TensorVisual


class InPlace(TensorVisual):
    """The tensor before; each value turns into the value after, in place (no new grid appears)."""

    takes: ClassVar[str] = "before, after"

    options: ClassVar[dict[str, str]] = {
        "op": "the in-place method, e.g. 'add_' or 'mul_' (default 'add_')",
    }

    def validate(self) -> None:
        before_name, after_name = self.spec.tensors[:2]
        before, after = self.beat[before_name], self.beat[after_name]
        if before.shape != after.shape:
            self.refuse(after_name, f"an in-place operation keeps the shape, but {before_name} is "
                        f"{shape_text(before.shape)} and {after_name} {shape_text(after.shape)}")

    def steps(self) -> int:
        """The tensor before; its values turn into the values after; the in-place note."""
        return 3

    def play(self, scene: Scene) -> Iterator[None]:
        before_name, after_name = self.spec.tensors[:2]
        before, after = self.beat[before_name], self.beat[after_name]
        op = str(self.option("op", "add_"))
        main, bottom = self.split_area(1.0)
        bgrid = self.grid(before_name, tag=f"before .{op}")
        agrid = self.grid(after_name, role="output", tag=f"after .{op}")
        if agrid.cell_width != bgrid.cell_width:  # the same cells, so values wider after fit before's cells too
            width = max(agrid.cell_width, bgrid.cell_width)
            bgrid = self.grid(before_name, tag=f"before .{op}", cell_width=width)
            agrid = self.grid(after_name, role="output", tag=f"after .{op}", cell_width=width)
        self.fit(bgrid, main)
        agrid.scale(bgrid.body.width / max(agrid.body.width, 1e-6))
        agrid.shift(bgrid.body.get_center() - agrid.body.get_center())
        changed = [i for i in after.indices() if before.at(*i) != after.at(*i)]
        self.shown["changed_cells"] = [list(i) for i in changed]
        lines = VGroup(
            note(
                f"{after_name}.{op}(...) writes into {after_name}'s own memory: same shape "
                f"{'x'.join(map(str, after.shape))}, same storage, no new tensor",
                theme.MUTED,
            ),
            note("the trailing underscore marks an in-place operation", theme.MUTED),
        ).arrange(DOWN, buff=0.1, aligned_edge=LEFT)
        bottom.fit(lines)
        scene.play(appear(bgrid), run_time=0.8)
        yield
        # the new values replace the old texts (a plain Transform would leave the old strings in the picture)
        moves = [ReplacementTransform(bgrid.cells[i][1], agrid.cells[i][1]) for i in bgrid.cells if i in agrid.cells]
        scene.play(
            glow([bgrid.cells[i] for i in changed if i in bgrid.cells], theme.ROLES["output"], 0.3),
            *moves,
            ReplacementTransform(bgrid.tag, agrid.tag),
            run_time=1.2,
        )
        yield
        scene.play(Write(lines[0]), FadeIn(lines[1]), run_time=0.8)
        yield
