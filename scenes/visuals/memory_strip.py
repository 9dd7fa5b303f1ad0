"""`MemoryStrip`: tensors that share one storage, with pointers from their cells into the flat memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import DOWN, RIGHT, Arrow, FadeIn, LaggedStart, Scene, VGroup, Write

from scenes import theme
from scenes.anim import appear, glow, note
from scenes.mobjects.memory_strip import MemoryStrip as Strip
from scenes.mobjects.memory_strip import storage_values
from scenes.trace import short_name
from scenes.visuals.base import TensorVisual

MAX_POINTERS = 8


class MemoryStrip(TensorVisual):
    """The storage row at the bottom; each tensor above it with its offset and strides; arrows from its
    cells to where they live: offset + sum(index * stride)."""

    takes: ClassVar[str] = "views..."

    options: ClassVar[dict[str, str]] = {}  # digits only (TensorVisual)

    def validate(self) -> None:
        names = list(self.spec.tensors)
        first = self.beat[names[0]]
        home = first.storage or first.name
        for name in names[1:]:
            e = self.beat[name]
            if (e.storage or e.name) != home:
                self.refuse(name, f"it draws views of one storage, but {name} has its own memory, not "
                            f"{home}'s: name tensors that share it (indexing, view, transpose, expand)")
            if e.dtype != first.dtype:
                self.refuse(name, f"{name} is {e.dtype}, {names[0]} {first.dtype}: one storage strip has one dtype")

    def steps(self) -> int:
        """The storage; each tensor with its pointers; the offsets and strides."""
        return 1 + len(self.spec.tensors) + 1

    def play(self, scene: Scene) -> Iterator[None]:
        names = list(self.spec.tensors)
        entries = [self.beat[n] for n in names]
        groups = {e.storage or e.name for e in entries}
        if len(groups) > 1:
            self.shown["separate"] = sorted(groups)
        values = storage_values(entries)
        strip = Strip(
            values, entries[0].dtype, digits=self.digits,
            title=f"storage of {short_name(entries[0].storage or names[0])}"
        )
        self.shown["storage"] = dict(strip.shown)
        main, bottom = self.split_area(0.9)
        grids = [
            self.grid(n, role=theme.SERIES[k % len(theme.SERIES)], show_stride=True)
            for k, n in enumerate(names)
        ]
        top = VGroup(*grids).arrange(RIGHT, buff=theme.GAP * 1.3)
        picture = VGroup(top, strip).arrange(DOWN, buff=1.2)
        self.fit(picture, main)
        pointers = {}
        for k, (name, grid, e) in enumerate(zip(names, grids, entries, strict=True)):
            arrows = VGroup()
            for idx in e.indices():
                pos = e.storage_position(*idx)
                self.shown.setdefault("pointers", []).append([name, list(idx), pos])
                owner = k == 0 and len(names) > 1 and e.is_contiguous and e.storage_offset == 0
                if not owner and len(arrows) < MAX_POINTERS and grid.has(idx) and strip.has(pos):
                    # from under the grid's badge, so no arrow strikes through a lower row or the strides
                    lift = 0.05 * (idx[0] if len(idx) > 1 else 0)
                    start = grid.cell(*idx).get_bottom() * [1, 0, 0] + [lift, grid.get_bottom()[1] - 0.12, 0]
                    end = strip.cell(pos).get_top()
                    arrows.add(
                        Arrow(
                            start,
                            end,
                            buff=0.05,
                            stroke_width=2,
                            tip_length=0.12,
                            max_tip_length_to_length_ratio=0.1,
                            color=theme.SERIES[k % len(theme.SERIES)],
                        )
                    )
            pointers[name] = arrows
        caption = note(
            "; ".join(
                f"{short_name(n)}: offset {e.storage_offset}, stride {tuple(e.stride)}"
                for n, e in zip(names, entries, strict=True)
            ),
            theme.MUTED,
        )
        bottom.fit(caption)
        scene.play(FadeIn(strip), run_time=0.6)
        yield
        for k, (name, grid) in enumerate(zip(names, grids, strict=True)):
            e = entries[k]
            shown = [strip.cell(p) for p in {e.storage_position(*i) for i in e.indices()} if strip.has(p)]
            scene.play(appear(grid), run_time=0.7)
            scene.play(
                *(
                    [LaggedStart(*[FadeIn(a) for a in pointers[name]], lag_ratio=0.1)]
                    if len(pointers[name])
                    else []
                ),
                glow(shown, theme.SERIES[k % len(theme.SERIES)], 0.3),
                run_time=0.8,
            )
            if k < len(names) - 1:
                scene.play(
                    FadeIn(VGroup()), *[a.animate.set_opacity(0.25) for a in pointers[name]], run_time=0.2
                )
            yield
        scene.play(Write(caption), run_time=0.6)
        yield
