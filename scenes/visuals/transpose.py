"""`Transpose`: transpose / permute: axes swap, strides swap with them, the result is not contiguous
(and, with `error`, the traced error of calling view on it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import DOWN, LEFT, RIGHT, Arrow, FadeIn, Scene, VGroup, Write

from scenes import theme
from scenes.anim import appear, flow, note, tags
from scenes.trace import TensorEntry, shape_text
from scenes.visuals.base import TensorVisual


def permutation(src: TensorEntry, res: TensorEntry) -> list[int]:
    """Which source axis each result axis is, read from the strides torch reported (a view shares them)."""
    free = list(range(src.ndim))
    perm = []
    for size, stride in zip(res.shape, res.stride, strict=True):
        match = next((a for a in free if src.shape[a] == size and src.stride[a] == stride), None)
        if match is None:
            match = next(a for a in free if src.shape[a] == size)
        free.remove(match)
        perm.append(match)
    return perm


class Transpose(TensorVisual):
    """Source with its strides; cells travel to their swapped places; the result's strides and
    contiguity; then the error, if the beat captured one."""

    takes: ClassVar[str] = "src, result"

    options: ClassVar[dict[str, str]] = {
        "op": "'transpose' or 'permute' (default 'transpose')",
        "error": "name of a traced string value: the error of calling view on the result (an extra step)",
    }

    def validate(self) -> None:
        src_name, res_name = self.spec.tensors[:2]
        src, res = self.beat[src_name], self.beat[res_name]
        if sorted(src.shape) != sorted(res.shape) or src.ndim != res.ndim:
            self.refuse(res_name, f"{shape_text(res.shape)} is not a reordering of {src_name}'s axes "
                        f"({shape_text(src.shape)}): transpose and permute keep every axis")

    def steps(self) -> int:
        """The source; the cells travel to their swapped places; with `error`, the view error."""
        return 2 + (1 if self.option("error") else 0)

    def play(self, scene: Scene) -> Iterator[None]:
        src_name, res_name = self.spec.tensors[:2]
        src, res = self.beat[src_name], self.beat[res_name]
        perm = permutation(src, res)
        self.shown["perm"] = perm
        self.shown["stride"] = [list(src.stride), list(res.stride)]
        self.shown["contiguous"] = [src.is_contiguous, res.is_contiguous]
        op = self.option("op", "transpose")
        main, bottom = self.split_area(1.2)
        sgrid = self.grid(src_name, show_stride=True)
        rgrid = self.grid(res_name, role="output", show_stride=True)
        arrow = Arrow(LEFT, RIGHT, color=theme.MUTED, buff=0)
        picture = VGroup(sgrid, arrow, rgrid).arrange(RIGHT, buff=theme.GAP)
        self.fit(picture, main)
        call = (
            f"{op}({', '.join(map(str, perm))})"
            if op == "permute"
            else f"transpose({', '.join(str(a) for a in range(src.ndim) if perm[a] != a)})"
        )
        lines = [
            note(
                f"{res_name} = {src_name}.{call}: same memory, strides {tuple(src.stride)} -> "
                f"{tuple(res.stride)}",
                theme.MUTED,
            )
        ]
        error_name = self.option("error")
        if error_name:
            error = str(self.text_value(error_name))
            self.shown["error"] = error
            lines.append(
                note(error or "(no error raised)", theme.ROLES["error"], theme.NOTE_SIZE - 2, width=90, max_lines=2)
            )
        notes = VGroup(*lines).arrange(DOWN, buff=0.15, aligned_edge=LEFT)
        bottom.fit(notes)
        scene.play(appear(sgrid), run_time=0.8)
        yield
        scene.play(FadeIn(arrow), FadeIn(lines[0]), run_time=0.4)
        links = [
            (src_name, sgrid, idx, res_name, rgrid, tuple(idx[a] for a in perm)) for idx in src.indices()
        ]
        flow(scene, self.pairs(links), run_time=1.4)
        scene.add(rgrid.body)
        scene.play(tags(rgrid), run_time=0.6)
        yield
        if len(lines) > 1:
            scene.play(Write(lines[1]), run_time=0.8)
            yield
