"""`BroadcastFail`: shapes right-aligned; the axis that cannot broadcast lights up; torch's error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import DOWN, FadeIn, Scene, VGroup, Write

from scenes import theme
from scenes.anim import glow, note
from scenes.visuals.base import TensorVisual
from scenes.visuals.broadcast import shape_table


class BroadcastFail(TensorVisual):
    """The two shapes, right-aligned: matching or size-1 axes in green, the mismatched one in red, then
    the error torch raised (a traced string value named by `error`)."""

    takes: ClassVar[str] = "a, b"

    options: ClassVar[dict[str, str]] = {
        "error": "name of the traced string value holding torch's error (default 'error')",
    }

    def steps(self) -> int:
        """The shapes; the mismatched axis lights up; torch's error."""
        return 3

    def play(self, scene: Scene) -> Iterator[None]:
        a_name, b_name = self.spec.tensors[:2]
        a, b = self.beat[a_name], self.beat[b_name]
        width = max(a.ndim, b.ndim)
        bad: list[int] = []
        good: list[int] = []
        for col in range(width):
            sizes = []
            for t in (a, b):
                axis = col - (width - t.ndim)
                sizes.append(t.shape[axis] if axis >= 0 else 1)
            (good if sizes[0] == sizes[1] or 1 in sizes else bad).append(col)
        self.shown["mismatched_axes"] = [col - width for col in bad]  # negative: counted from the right
        self.shown["shapes"] = [list(a.shape), list(b.shape)]
        table = shape_table([(a_name, a.shape), (b_name, b.shape)], width, {})
        error = str(self.text_value(self.option("error", "error")))
        self.shown["error"] = error
        main, bottom = self.split_area(1.6)
        self.fit(table, main, max_scale=1.6)
        lines = VGroup(
            note(
                f"axis {', '.join(str(c - width) for c in bad)} (from the right): "
                + " vs ".join(str(t.shape[t.ndim - width + bad[0]]) if bad else "" for t in (a, b))
                + ": neither is 1, so they cannot broadcast"
                if bad
                else "every axis is compatible",
                theme.TEXT,
            ),
            note(error or "(no error was raised)", theme.ROLES["error"], theme.NOTE_SIZE - 2, width=90, max_lines=3),
        ).arrange(DOWN, buff=0.2)
        bottom.fit(lines)
        scene.play(FadeIn(table), run_time=0.8)
        yield
        chips = lambda cols: [table[r][1][c] for r in range(2) for c in cols]  # noqa: E731
        scene.play(glow(chips(good), theme.ROLES["output"], 0.25), run_time=0.6)
        scene.play(glow(chips(bad), theme.ROLES["error"], 0.5), FadeIn(lines[0]), run_time=0.8)
        yield
        scene.play(Write(lines[1]), run_time=1.0)
        yield
