"""`AutogradGraph`: the forward pass filling the grad_fn graph with values, backward() sending the real
gradients back edge by edge into `.grad`; a second backward accumulating; detached tensors cut off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from manim import (
    DOWN,
    RIGHT,
    Arrow,
    Create,
    DashedVMobject,
    FadeIn,
    GrowArrow,
    Indicate,
    LaggedStart,
    Scene,
    ShowPassingFlash,
    SurroundingRectangle,
    VGroup,
    Write,
)

from scenes import theme
from scenes.anim import note
from scenes.mobjects.computation_graph import ComputationGraph
from scenes.mobjects.text import label
from scenes.trace import TensorEntry, format_number
from scenes.visuals.base import TensorVisual

MAX_INLINE = 4


def inline(t: TensorEntry, digits: int) -> str:
    """A small tensor written out (`[1.00, 2.00]`), a scalar plainly, a large one by its shape."""
    if t.ndim == 0:
        return format_number(t.values, t.dtype, digits)
    if t.ndim == 1 and t.numel <= MAX_INLINE:
        return "[" + ", ".join(format_number(v, t.dtype, digits) for v in t.values) + "]"
    return "x".join(map(str, t.shape)) + " tensor"


class AutogradGraph(TensorVisual):
    """Layers of grad_fn nodes: forward fills them left to right with values; with `backward`, gradients
    flash back along each edge from the loss, and each leaf's `.grad` appears. `accumulate` names a traced
    tensor holding `.grad` after the first backward: the second one adds to it. Listed tensors outside
    the graph (detached, made under no_grad) are shown cut off."""

    takes: ClassVar[str] = "[tensors...]"

    options: ClassVar[dict[str, str]] = {
        "backward": "True: gradients flow back from the loss into each leaf's .grad (default False)",
        "accumulate": "name of a traced tensor holding .grad after a first backward: the second adds to it",
    }

    def validate(self) -> None:
        first = self.spec.tensors[0] if self.spec.tensors else None
        if not self.beat.graph.nodes:
            self.refuse(first, "the beat's autograd graph is empty: none of its tensors has a grad_fn (compute "
                        "from tensors made with requires_grad=True, and return them)")
        if self.option("backward", False):
            leaves = [n.tensor for n in self.beat.graph.nodes if n.tensor in self.beat.tensors]
            if not any(self.beat[t].grad is not None for t in leaves if t):
                self.refuse(first, "backward=True, but no tensor of the graph has a .grad: call backward() on "
                            "the loss before returning, and return the leaves")

    def steps(self) -> int:
        """The forward pass; the cut-off tensors (if any); the note, or backward into `.grad`."""
        return 2 + (1 if self.cut_tensors() else 0)

    def cut_tensors(self) -> list[str]:
        """Listed tensors outside the graph that take no gradient (detached, made under no_grad)."""
        in_graph = {n.tensor for n in self.beat.graph.nodes if n.tensor}
        accumulate = self.option("accumulate")
        return [n for n in self.spec.tensors
                if n not in in_graph and n != accumulate and not self.beat[n].requires_grad]

    @staticmethod
    def place_cut(cg: Any, pairs: VGroup, main: Any) -> VGroup:
        """The cut-off tensors beside the graph (stacked) or under it (in a row), whichever lets the whole
        picture draw larger."""
        def scale(picture: VGroup) -> float:
            return min(main.width / max(picture.width, 1e-6), main.height / max(picture.height, 1e-6))

        pairs.arrange(DOWN, buff=0.5)
        beside = VGroup(cg, pairs).arrange(RIGHT, buff=1.0)
        wide = scale(beside)
        pairs.arrange(RIGHT, buff=0.6)
        below = VGroup(cg, pairs).arrange(DOWN, buff=0.5)
        if scale(below) > wide:
            return below
        pairs.arrange(DOWN, buff=0.5)
        return VGroup(cg, pairs).arrange(RIGHT, buff=1.0)

    def play(self, scene: Scene) -> Iterator[None]:
        graph = self.beat.graph
        d = self.digits
        subtitles = {}
        for node in graph.nodes:
            if node.tensor and node.tensor in self.beat.tensors:
                text = inline(self.beat[node.tensor], d)
                subtitles[node.id] = f"= {text}"
                self.shown.setdefault("forward", {})[node.tensor] = text
        cg = ComputationGraph(graph, subtitles=subtitles)
        accumulate = self.option("accumulate")
        cut = self.cut_tensors()
        self.shown["cut_tensors"] = cut
        cut_boxes = VGroup()
        for n in cut:
            t = self.beat[n]
            head = label(f"{n} = {inline(t, d)}", theme.CAPTION_SIZE, theme.TEXT)
            sub = label("cut: requires_grad=False, no grad_fn", theme.CAPTION_SIZE - 4, theme.ROLES["error"])
            self.shown.setdefault("forward", {})[n] = inline(t, d)
            cut_boxes.add(VGroup(head, sub).arrange(DOWN, buff=0.1))
        main, bottom = self.split_area(1.1)
        frames = VGroup(*[DashedVMobject(SurroundingRectangle(b, buff=0.15, color=theme.ROLES["error"]))
                          for b in cut_boxes])
        pairs = VGroup(*[VGroup(b, f) for b, f in zip(cut_boxes, frames, strict=True)])
        picture = self.place_cut(cg, pairs, main) if cut else VGroup(cg)
        self.fit(picture, main)
        # forward: layer by layer from the leaves
        for col in cg.columns:
            ids = [nid for nid, box in cg.boxes.items() if box in col]
            incoming = [a for (src, dst), a in cg.edges.items() if src in ids]
            scene.play(
                *[FadeIn(a) for a in incoming],
                LaggedStart(*[FadeIn(cg.boxes[i]) for i in ids], lag_ratio=0.2),
                run_time=0.7,
            )
        self.shown["nodes"] = [n.name for n in graph.nodes]
        yield
        if cut:
            scene.play(FadeIn(cut_boxes), run_time=0.6)
            scene.play(Create(frames), run_time=0.5)
            yield
        if not self.option("backward", False):
            explain = note(
                "no backward() yet: each node only remembers how to send gradients back", theme.MUTED
            )
            if cut:
                explain = note(
                    "detach() and no_grad give tensors with no grad_fn: the graph stops there, "
                    "no gradient flows into them",
                    theme.MUTED,
                )
            bottom.fit(explain)
            scene.play(FadeIn(explain), run_time=0.5)
            yield
            return
        # backward: from the loss (rightmost layer) back to the leaves, edge by edge
        for col in reversed(list(cg.columns)):
            ids = [nid for nid, box in cg.boxes.items() if box in col]
            edges = [a for (src, dst), a in cg.edges.items() if src in ids]
            if not edges:
                continue
            flashes = [
                ShowPassingFlash(
                    a.copy().set_color(theme.ROLES["gradient"]).set_stroke(width=6).rotate(3.14159),
                    time_width=0.6,
                )
                for a in edges
            ]
            # gradients flow against the forward arrows: each edge gets its own arrow pointing back, beside it
            back = [Arrow(a.get_end(), a.get_start(), buff=0, color=theme.ROLES["gradient"], stroke_width=3,
                          max_tip_length_to_length_ratio=0.25).shift(0.14 * normal(a)) for a in edges]
            scene.play(*flashes, *[GrowArrow(b) for b in back], run_time=0.8)
        grads = VGroup()
        self.shown["grad"] = {}
        for node in graph.nodes:
            leaf = self.beat.tensors.get(node.tensor or "")
            if leaf is None or leaf.grad is None:
                continue
            text = inline(leaf.grad, d)
            self.shown["grad"][node.tensor] = text
            g = label(f"{node.tensor}.grad = {text}", theme.CAPTION_SIZE, theme.ROLES["gradient"])
            grads.add(g)
        lines: list[Any] = [grads.arrange(RIGHT, buff=0.6)] if len(grads) else []
        if accumulate:
            first = inline(self.beat[accumulate], d)
            self.shown["first_grad"] = first
            lines.insert(
                0,
                label(
                    f"after the first backward: {first}; the second adds to it (no zeroing):",
                    theme.CAPTION_SIZE - 2,
                    theme.MUTED,
                ),
            )
        notes = VGroup(*lines).arrange(DOWN, buff=0.15)
        bottom.fit(notes)
        scene.play(Write(notes), run_time=0.9)
        leaf_boxes = [cg.boxes[n.id] for n in graph.nodes if n.tensor in self.shown["grad"]]
        scene.play(
            *[Indicate(b, color=theme.ROLES["gradient"], scale_factor=1.05) for b in leaf_boxes], run_time=0.6
        )
        yield


def normal(arrow: Any) -> Any:
    """A unit vector across an arrow (to its right when it points right): where its backward twin sits."""
    import numpy as np

    d = arrow.get_end() - arrow.get_start()
    n = np.array([d[1], -d[0], 0.0])
    return n / max(float(np.linalg.norm(n)), 1e-9)
