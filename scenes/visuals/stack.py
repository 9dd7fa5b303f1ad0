"""`Stack`: the inputs become the slices of a new axis at `dim`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import RIGHT, Scene, VGroup, Write

from scenes import theme
from scenes.anim import appear, fill, note
from scenes.visuals.base import TensorVisual


class Stack(TensorVisual):
    """Inputs side by side, each its own colour; every cell travels to position `i` of the new axis."""

    takes: ClassVar[str] = "inputs..., result"

    options: ClassVar[dict[str, str]] = {
        "dim": "position of the new axis (default 0)",
    }

    def steps(self) -> int:
        """The inputs; their cells travel into the new axis."""
        return 2

    def play(self, scene: Scene) -> Iterator[None]:
        *in_names, res_name = self.spec.tensors
        res = self.beat[res_name]
        dim = int(self.option("dim", 0)) % res.ndim
        main, bottom = self.split_area(0.8)
        inputs = [self.grid(n, role=theme.SERIES[k % len(theme.SERIES)]) for k, n in enumerate(in_names)]
        rgrid = self.grid(res_name, role="output")
        picture = VGroup(VGroup(*inputs).arrange(RIGHT, buff=theme.GAP), rgrid).arrange(
            RIGHT, buff=theme.GAP * 2
        )
        self.fit(picture, main)
        links = []
        for k, name in enumerate(in_names):
            for idx in self.beat[name].indices():
                dst = (*idx[:dim], k, *idx[dim:])
                links.append((name, inputs[k], idx, res_name, rgrid, dst))
                if rgrid.has(dst):
                    rgrid.cell(*dst)[0].set_stroke(theme.SERIES[k % len(theme.SERIES)])
        in_shape = "x".join(map(str, self.beat[in_names[0]].shape))
        self.shown["new_axis"] = [dim, res.shape[dim]]
        caption = note(
            f"torch.stack(dim={dim}): {len(in_names)} tensors of {in_shape} become a new axis "
            f"{dim} of size {res.shape[dim]}: input k sits at index k along it",
            theme.MUTED,
        )
        bottom.fit(caption)
        scene.play(*[appear(g) for g in inputs], run_time=1.0)
        yield
        fill(scene, self.pairs(links), [rgrid], Write(caption), run_time=1.3)
        yield
