"""`ModuleTree`: an nn.Module as nested boxes; optionally its forward path lit up in the order hooks saw."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from manim import DOWN, RIGHT, FadeIn, LaggedStart, Scene, VGroup

from scenes import theme
from scenes.anim import together
from scenes.errors import VisualError
from scenes.mobjects.module_boxes import ModuleBoxes, module_caption
from scenes.mobjects.text import label
from scenes.trace import ModuleEntry
from scenes.visuals.base import TensorVisual

MIN_SCALE = 0.86  # below this the smallest line (17 pt) drops under 9 px at 480p: elide instead


class ModuleTree(TensorVisual):
    """The module and its children as nested boxes: class names, parameter (and buffer) shapes, parameter
    counts and the training flag. With `forward=True` a second step lights the boxes up in the order the
    trace's forward hooks saw the submodules run, numbering them."""

    takes: ClassVar[str] = "model"

    options: ClassVar[dict[str, str]] = {
        "forward": "True: a second step lights up the submodules in the order their forward ran (from hooks)",
        "depth": "levels of children drawn inside the root (default 3)",
        "children": "children drawn per module before the middle ones are elided (default 6)",
        "buffers": "False: leave buffers out (default True)",
    }

    def steps(self) -> int:
        """The boxes, then (with `forward`) the forward path."""
        return 2 if self.option("forward", False) else 1

    def entry(self) -> ModuleEntry:
        names = self.spec.tensors
        if len(names) != 1:
            raise VisualError("ModuleTree", None, f"give one traced nn.Module, got {len(names)} names")
        if names[0] not in self.beat.modules:
            raise VisualError("ModuleTree", names[0],
                              f"the beat returned no nn.Module {names[0]!r}; it has {sorted(self.beat.modules)}")
        module = self.beat.modules[names[0]]
        if self.option("forward", False) and not module.forward:
            raise VisualError("ModuleTree", names[0], "forward=True, but the beat never called the module, so "
                              "no forward hook saw it run: call it inside the compute function")
        return module

    def picture(self, module: ModuleEntry) -> tuple[ModuleBoxes, Any]:
        """The boxes, in whichever direction (children in a row or a column) draws them largest, eliding
        more children while the picture would have to shrink below legibility."""
        limit = int(self.option("children", 6))
        depth = int(self.option("depth", 3))
        caption = label(module_caption(module), theme.CAPTION_SIZE, theme.MUTED)
        while True:
            trials = []
            for direction in (RIGHT, DOWN):
                boxes = ModuleBoxes(module, max_children=limit, max_depth=depth, direction=direction,
                                    buffers=bool(self.option("buffers", True)),
                                    order_slots=bool(self.option("forward", False)))
                whole = VGroup(boxes, caption.copy()).arrange(DOWN, buff=0.3)
                scale = min(1.0, self.area.width / whole.width, self.area.height / whole.height)
                trials.append((scale, boxes, whole))
            scale, boxes, whole = max(trials, key=lambda t: t[0])
            if scale >= MIN_SCALE or limit <= 3:
                self.fit(whole, max_scale=1.5)  # a small tree is drawn larger, up to half again
                return boxes, whole
            limit -= 1

    def play(self, scene: Scene) -> Iterator[None]:
        module = self.entry()
        boxes, whole = self.picture(module)
        self.shown["boxes"] = boxes.shown
        self.shown["boxes_of"] = module.name
        self.shown["elided"] = boxes.elided
        self.shown["caption"] = module_caption(module)
        layers = [pieces for _, pieces in sorted(boxes.layers, key=lambda dp: dp[0])]  # parents under children
        scene.play(LaggedStart(*[FadeIn(p) for p in layers], FadeIn(whole[1]), lag_ratio=0.15),
                   run_time=min(3.0, 0.8 + 0.15 * len(layers)))
        yield
        if self.option("forward", False):
            yield from self.light_forward(scene, module, boxes)

    def light_forward(self, scene: Scene, module: ModuleEntry, boxes: ModuleBoxes) -> Iterator[None]:
        """Each drawn submodule, in hook order, glows and gets its number (the root is the frame)."""
        order = [p for p in module.forward_order() if p and p in boxes.boxes]
        self.shown["forward_order"] = order
        runs = []
        for n, path in enumerate(order, start=1):
            badge = boxes.order_badge(path, n)
            rect = boxes.boxes[path][0]
            runs.append(LaggedStart(
                together([rect.animate.set_stroke(theme.ROLES["selected"], width=5)]), FadeIn(badge),
                lag_ratio=0.3,
            ))
        if runs:
            scene.play(LaggedStart(*runs, lag_ratio=0.6), run_time=min(4.0, 0.6 * len(runs) + 0.6))
        yield
