"""`Expand`: expand makes ghost copies that share the source's memory (stride 0); repeat makes real ones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import DOWN, LEFT, RIGHT, Scene, VGroup, Write

from scenes import theme
from scenes.anim import appear, fill, note
from scenes.trace import shape_text
from scenes.visuals.base import TensorVisual


class Expand(TensorVisual):
    """Source; its cells stretch into the expanded grid (copies beyond the first drawn as ghosts, the
    memory shared), then into the repeated grid (solid copies, new memory)."""

    takes: ClassVar[str] = "src, expanded, repeated"

    options: ClassVar[dict[str, str]] = {}  # digits only (TensorVisual)

    def validate(self) -> None:
        src_name, exp_name, rep_name = self.spec.tensors[:3]
        src, exp, rep = self.beat[src_name], self.beat[exp_name], self.beat[rep_name]
        pad = exp.ndim - src.ndim
        if pad < 0 or any(n not in (1, m) for n, m in zip(src.shape, exp.shape[pad:], strict=True)):
            self.refuse(exp_name, f"{shape_text(src.shape)} does not expand to {shape_text(exp.shape)}: each of "
                        f"{src_name}'s axes must be 1 or the size it expands to (axes aligned on the right)")
        if rep.shape != exp.shape:
            self.refuse(rep_name, f"the repeated tensor is {shape_text(rep.shape)}, the expanded one "
                        f"{shape_text(exp.shape)}: repeat to the same shape to compare them")

    def steps(self) -> int:
        """The source; the expanded ghosts; the repeated copies."""
        return 3

    def play(self, scene: Scene) -> Iterator[None]:
        src_name, exp_name, rep_name = self.spec.tensors[:3]
        src, exp, rep = self.beat[src_name], self.beat[exp_name], self.beat[rep_name]
        main, bottom = self.split_area(1.1)
        sgrid = self.grid(src_name)
        egrid = self.grid(exp_name, role="output", show_stride=True)
        rgrid = self.grid(rep_name, role="selected", show_stride=True)
        pad = exp.ndim - src.ndim
        src_shape = (1,) * pad + src.shape

        def source_of(idx: tuple[int, ...]) -> tuple[int, ...]:
            return tuple(0 if n == 1 else i for i, n in zip(idx, src_shape, strict=True))[pad:]

        ghosts = []
        for idx in exp.indices():
            real = all(i == 0 or n != 1 for i, n in zip(idx, src_shape, strict=True))
            if not real and egrid.has(idx):
                cell = egrid.cell(*idx)
                cell[0].set_stroke(theme.ROLES["ghost"], width=1.5).set_fill(opacity=0.3)
                cell[1].set_color(theme.MUTED)
                ghosts.append(list(idx))
        self.shown["ghosts"] = ghosts
        right = VGroup(egrid, rgrid).arrange(DOWN, buff=0.6)
        picture = VGroup(sgrid, right).arrange(RIGHT, buff=theme.GAP * 2)
        self.fit(picture, main)
        shares = exp.storage == (src.storage or src_name)
        self.shown["shares"] = [shares, rep.storage == (src.storage or src_name)]
        lines = VGroup(
            note(
                f"expand: stride {tuple(exp.stride)}, {'shares' if shares else 'does not share'} "
                f"{src_name}'s {src.numel} stored numbers; the ghosts are the same memory",
                theme.ROLES["output"],
            ),
            note(
                f"repeat: stride {tuple(rep.stride)}, {rep.numel} new numbers copied into new memory",
                theme.ROLES["selected"],
            ),
        ).arrange(DOWN, aligned_edge=LEFT, buff=0.12)
        bottom.fit(lines)
        scene.play(appear(sgrid), run_time=0.8)
        yield
        ghost_moves = self.pairs([(src_name, sgrid, source_of(i), exp_name, egrid, i) for i in exp.indices()])
        fill(scene, ghost_moves, [egrid], Write(lines[0]), tag_time=0.7)
        yield
        copies = self.pairs([(src_name, sgrid, source_of(i), rep_name, rgrid, i) for i in rep.indices()])
        fill(scene, copies, [rgrid], Write(lines[1]), tag_time=0.7)
        yield
