"""`Squeeze`: squeeze / unsqueeze: size-1 axes vanish or appear; the elements stay in the same order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import DOWN, LEFT, RIGHT, Arrow, FadeIn, Rectangle, Scene, VGroup, Write

from scenes import theme
from scenes.anim import appear, fill, glow, note
from scenes.mobjects.text import label
from scenes.trace import TensorEntry, shape_text
from scenes.visuals.base import TensorVisual


def shape_chips(shape: tuple[int, ...], highlight: set[int]) -> VGroup:
    """A shape as a row of boxed sizes; the axes in `highlight` in the selected colour."""
    chips = VGroup()
    for axis, size in enumerate(shape):
        color = theme.ROLES["selected"] if axis in highlight else theme.MUTED
        text = label(str(size), theme.BODY_SIZE, theme.TEXT)
        box = Rectangle(width=max(0.55, text.width + 0.3), height=0.55, stroke_color=color, stroke_width=2)
        chips.add(VGroup(box, text.move_to(box)))
    chips.arrange(RIGHT, buff=0.12)
    if not shape:
        chips.add(label("scalar", theme.BODY_SIZE, theme.MUTED))
    return chips


def size_one_axes(longer: tuple[int, ...], shorter: tuple[int, ...]) -> list[int]:
    """The axes of `longer` that `shorter` lacks (size-1 axes squeezed out / unsqueezed in)."""
    out, j = [], 0
    for a, n in enumerate(longer):
        if j < len(shorter) and shorter[j] == n and not (n == 1 and len(longer) - a > len(shorter) - j):
            j += 1
        else:
            out.append(a)
    return out


def same_elements(src: TensorEntry, res: TensorEntry) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Pairs (index in src, index in res) of the same element, row-major, for every traced index of src whose
    element the trace holds in res too (a summarised tensor keeps only some)."""
    pairs = []
    for i in src.indices():
        flat = 0
        for k, n in zip(i, src.shape, strict=True):
            flat = flat * n + k
        j = []
        for n in reversed(res.shape):
            flat, k = divmod(flat, n)
            j.append(k)
        if res.has(*reversed(j)):
            pairs.append((i, tuple(reversed(j))))
    return pairs


class Squeeze(TensorVisual):
    """Shapes as chips: the size-1 axis lights up and vanishes (squeeze) or appears (unsqueeze); the
    cells follow in memory order."""

    takes: ClassVar[str] = "src, result"

    options: ClassVar[dict[str, str]] = {
        "op": "'squeeze' or 'unsqueeze' (default 'squeeze')",
    }

    def validate(self) -> None:
        src_name, res_name = self.spec.tensors[:2]
        src, res = self.beat[src_name], self.beat[res_name]
        if src.ndim == res.ndim or [n for n in src.shape if n != 1] != [n for n in res.shape if n != 1]:
            self.refuse(res_name, f"{shape_text(src.shape)} -> {shape_text(res.shape)} is not a size-1 axis "
                        "vanishing or appearing: the other axes stay, in order")

    def steps(self) -> int:
        """The source and its shape; the size-1 axis vanishes or appears; the cells follow."""
        return 3

    def play(self, scene: Scene) -> Iterator[None]:
        src_name, res_name = self.spec.tensors[:2]
        src, res = self.beat[src_name], self.beat[res_name]
        op = self.option("op", "squeeze")
        squeezing = src.ndim > res.ndim
        axes = size_one_axes(src.shape, res.shape) if squeezing else size_one_axes(res.shape, src.shape)
        self.shown["axes"] = axes
        self.shown["shapes"] = [list(src.shape), list(res.shape)]
        main, bottom = self.split_area(0.8)
        schips = shape_chips(src.shape, set(axes) if squeezing else set())
        rchips = shape_chips(res.shape, set() if squeezing else set(axes))
        shape_arrow = Arrow(LEFT, RIGHT, color=theme.MUTED, buff=0).scale(0.6)
        shapes = VGroup(schips, shape_arrow, rchips).arrange(RIGHT, buff=0.4)
        sgrid = self.grid(src_name)
        rgrid = self.grid(res_name, role="output")
        grids = VGroup(sgrid, rgrid).arrange(RIGHT, buff=theme.GAP * 2)
        picture = VGroup(shapes, grids).arrange(DOWN, buff=0.5)
        self.fit(picture, main)
        where = ", ".join(map(str, axes))
        caption = note(
            f"{op}: axis {where} of size 1 {'vanishes' if squeezing else 'appears'}; "
            f"{src.numel} elements, same order, same memory",
            theme.MUTED,
        )
        bottom.fit(caption)
        scene.play(appear(sgrid), FadeIn(schips), run_time=0.8)
        yield
        if squeezing:
            scene.play(glow([schips[a] for a in axes]), run_time=0.5)
            scene.play(
                FadeIn(shape_arrow),
                FadeIn(rchips),
                *[schips[a].animate.set_opacity(0.2) for a in axes],
                run_time=0.8,
            )
        else:
            scene.play(FadeIn(shape_arrow), FadeIn(rchips), run_time=0.5)
            scene.play(glow([rchips[a] for a in axes]), run_time=0.6)
        yield
        links = [(src_name, sgrid, i, res_name, rgrid, j) for i, j in same_elements(src, res)]
        fill(scene, self.pairs(links), [rgrid], Write(caption))
        yield
