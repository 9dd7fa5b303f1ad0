"""`Cat`: the inputs slide together along `dim` into one tensor (no new axis)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import DOWN, RIGHT, Scene, VGroup, Write

from scenes import theme
from scenes.anim import appear, fill, note
from scenes.trace import shape_text
from scenes.visuals.base import TensorVisual


def dim_of(option: int, ndim: int) -> int:
    return option % ndim if ndim else 0


class Cat(TensorVisual):
    """Inputs, each in its own colour, laid out along `dim`; their cells travel into the result, where
    they keep their input's colour."""

    takes: ClassVar[str] = "inputs..., result"

    options: ClassVar[dict[str, str]] = {
        "dim": "axis the inputs join along (default 0)",
    }

    def validate(self) -> None:
        *in_names, res_name = self.spec.tensors
        res = self.beat[res_name]
        for name in in_names:
            t = self.beat[name]
            if t.ndim != res.ndim or not t.ndim:
                self.refuse(name, f"torch.cat joins tensors of one rank, 1-D or more: {name} is "
                            f"{shape_text(t.shape)}, the result {res_name} {shape_text(res.shape)}")
        dim = dim_of(int(self.option("dim", 0)), res.ndim)
        for name in in_names:
            t = self.beat[name]
            if any(a != dim and n != m for a, (n, m) in enumerate(zip(t.shape, res.shape, strict=True))):
                self.refuse(name, f"every axis but dim {dim} must match the result's: {name} is "
                            f"{shape_text(t.shape)}, {res_name} {shape_text(res.shape)}")
        total = sum(self.beat[n].shape[dim] for n in in_names)
        if total != res.shape[dim]:
            self.refuse(res_name, f"the inputs' sizes along dim {dim} add up to {total}, but {res_name} has "
                        f"{res.shape[dim]}: is it their torch.cat(dim={dim})?")

    def steps(self) -> int:
        """The inputs; their cells slide into the result."""
        return 2

    def play(self, scene: Scene) -> Iterator[None]:
        *in_names, res_name = self.spec.tensors
        res = self.beat[res_name]
        dim = dim_of(int(self.option("dim", 0)), res.ndim)
        main, bottom = self.split_area(0.8)
        inputs = [self.grid(n, role=theme.SERIES[k % len(theme.SERIES)]) for k, n in enumerate(in_names)]
        rgrid = self.grid(res_name, role="output")
        along = RIGHT if dim == res.ndim - 1 else DOWN
        group = VGroup(*inputs).arrange(along, buff=theme.GAP)
        picture = VGroup(group, rgrid).arrange(RIGHT, buff=theme.GAP * 2)
        self.fit(picture, main)
        links = []
        offset = 0
        origin: dict[tuple[int, ...], str] = {}
        for k, name in enumerate(in_names):
            entry = self.beat[name]
            for idx in entry.indices():
                dst = tuple(i + offset if a == dim else i for a, i in enumerate(idx))
                links.append((name, inputs[k], idx, res_name, rgrid, dst))
                origin[dst] = theme.SERIES[k % len(theme.SERIES)]
            offset += entry.shape[dim]
        for idx, color in origin.items():
            if rgrid.has(idx):
                rgrid.cell(*idx)[0].set_stroke(color)
        sizes = " + ".join(str(self.beat[n].shape[dim]) for n in in_names)
        self.shown["sizes"] = [self.beat[n].shape[dim] for n in in_names] + [res.shape[dim]]
        caption = note(
            f"torch.cat(dim={dim}): sizes along dim {dim} add up: {sizes} = {res.shape[dim]}; "
            "the other axes must match",
            theme.MUTED,
        )
        bottom.fit(caption)
        scene.play(*[appear(g) for g in inputs], run_time=1.0)
        yield
        fill(scene, self.pairs(links), [rgrid], Write(caption), run_time=1.3)
        yield
