"""`StateDict`: a module's tree flattening into dotted keys; loading into a fresh model; strict mismatches."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from manim import DOWN, LEFT, RIGHT, FadeIn, FadeOut, LaggedStart, Mobject, Scene, Transform, VGroup

from scenes import theme
from scenes.errors import VisualError
from scenes.mobjects.key_table import KeyTable, preview
from scenes.mobjects.module_boxes import LINE_SIZE, ModuleBoxes
from scenes.mobjects.text import label
from scenes.trace import ModuleEntry, TensorEntry
from scenes.visuals.base import Area, TensorVisual

MISSING, UNEXPECTED = theme.ROLES["error"], theme.SERIES[3]


def reported_keys(result: Any) -> tuple[list[str], list[str]]:
    """(missing, unexpected) keys as torch reported them: `load_state_dict(strict=False)`'s result (traced
    as a dict), or the text of the error a strict load raised (its "Missing key(s)" and "Unexpected key(s)"
    lines, keys in quotes)."""
    if isinstance(result, dict):
        return list(result.get("missing_keys", [])), list(result.get("unexpected_keys", []))
    missing: list[str] = []
    unexpected: list[str] = []
    for line in str(result).splitlines():
        if "Missing key(s)" in line:
            missing += re.findall(r'"([^"]+)"', line)
        elif "Unexpected key(s)" in line:
            unexpected += re.findall(r'"([^"]+)"', line)
    return missing, unexpected


def size_of(text: Mobject) -> float:
    """A text's font size as drawn (after scaling), so a replacement text can match it."""
    return float(getattr(text, "font_size", LINE_SIZE))


class StateDict(TensorVisual):
    """Without `into`: the module's boxes, then its state_dict keys flying out of them (dotted, with
    shapes; parameters and buffers in their own colours; non-persistent buffers stay behind). With `into`:
    the state_dict's keys and first values, the fresh module's boxes, then the values flowing into place
    (only where torch really copied them). With `result`: the missing and unexpected keys torch reported."""

    takes: ClassVar[str] = "module or state_dict"

    options: ClassVar[dict[str, str]] = {
        "into": "name of a traced nn.Module the state_dict was loaded into: values flow into its boxes",
        "result": "name of a traced value: load_state_dict(strict=False)'s result, or the error a strict load raised",
        "model": "name of a traced nn.Module telling parameters from buffers, when the first name is a state_dict",
        "rows": "keys listed before the middle ones are elided (default 10)",
        "digits": "decimals shown for floats (default 2)",
    }

    def steps(self) -> int:
        """Keys (after the module's boxes, when given a module), the loading (two steps), the report."""
        first = self.spec.tensors[0] if self.spec.tensors else ""
        base = 3 if self.option("into") else 2 if first in self.beat.modules else 1
        return base + (1 if self.option("result") else 0)

    # what is drawn -----------------------------------------------------------------------------------
    def source(self) -> tuple[str, list[tuple[str, TensorEntry, str]], ModuleEntry | None]:
        """(name, [(key, tensor, kind)] in state_dict order, the module when there is one)."""
        if len(self.spec.tensors) != 1:
            raise VisualError("StateDict", None, f"give one module or state_dict, got {len(self.spec.tensors)}")
        name = self.spec.tensors[0]
        if name in self.beat.modules:
            module = self.beat.modules[name]
            return name, [(k, module.tensor(k), module.kind(k)) for k in module.state_dict_keys], module
        if name not in self.beat.state_dicts:
            raise VisualError("StateDict", name, "the beat returned no nn.Module or state_dict of that name "
                              f"(modules {sorted(self.beat.modules)}, state_dicts {sorted(self.beat.state_dicts)})")
        entries = self.beat.state_dicts[name].entries
        model = self.module_option("model")
        kinds = {k: model.kind(k) if model and self.known(model, k) else "" for k in entries}
        return name, [(k, t, kinds[k]) for k, t in entries.items()], model

    @staticmethod
    def known(module: ModuleEntry, key: str) -> bool:
        return key in module.parameters or key in module.buffers or key in module.state_dict_keys

    def module_option(self, option: str) -> ModuleEntry | None:
        name = self.option(option)
        if not name:
            return None
        if name not in self.beat.modules:
            raise VisualError("StateDict", name, f"{option}={name!r} names no traced nn.Module; "
                              f"the beat returned {sorted(self.beat.modules)}")
        return self.beat.modules[name]

    def report(self) -> tuple[list[str], list[str], str | None]:
        """(missing, unexpected, error text or None) from the `result` option's traced value."""
        name = self.option("result")
        if not name:
            return [], [], None
        if name not in self.beat.values:
            raise VisualError("StateDict", name, f"result={name!r}: the beat returned no such value")
        value = self.beat.values[name]
        missing, unexpected = reported_keys(value)
        return missing, unexpected, None if isinstance(value, dict) else str(value)

    # playing ----------------------------------------------------------------------------------------
    def play(self, scene: Scene) -> Iterator[None]:
        name, rows, module = self.source()
        rows_max = int(self.option("rows", 10))
        self.shown["state_keys"] = [[k, list(t.shape), kind] for k, t, kind in rows]
        into = self.module_option("into")
        self.picture_area: Area = self.area
        self.strip: Area | None = None
        if into or self.option("result"):
            self.picture_area, self.strip = self.split_area(0.6)
        self.caption: Mobject | None = None
        if into is None:
            yield from self.flatten(scene, name, rows, module, rows_max)
        else:
            yield from self.load(scene, name, rows, into, rows_max)

    def flatten(self, scene: Scene, name: str, rows: list[tuple[str, TensorEntry, str]],
                module: ModuleEntry | None, rows_max: int) -> Iterator[None]:
        table = KeyTable(rows, title=f"{name}.state_dict()" if module else name, max_rows=rows_max)
        self.shown["drawn"] = table.shown
        if module is None:
            self.fit(table, self.picture_area, max_scale=1.6)
            scene.play(FadeIn(table), run_time=1.0)
            yield
            yield from self.mark(scene, table, None, [k for k, _, _ in rows], [])
            return
        boxes = self.arrange_pair(table, lambda d: ModuleBoxes(module, direction=d), boxes_first=True)
        self.shown["boxes"] = boxes.shown
        self.shown["boxes_of"] = boxes.module.name
        layers = [pieces for _, pieces in sorted(boxes.layers, key=lambda dp: dp[0])]
        scene.play(LaggedStart(*[FadeIn(p) for p in layers], lag_ratio=0.15), run_time=1.2)
        yield
        flights = [Transform(boxes.lines[k][0].copy(), table.keys[k]) for k in table.keys if k in boxes.lines]
        rest = [m for k, row in table.rows.items() for m in (row[1:] if k in boxes.lines else row)]
        extra = [line for line in table.lines if line not in table.rows.values()]
        scene.play(*flights, FadeIn(table.title), run_time=1.2)
        scene.remove(*[f.mobject for f in flights])  # type: ignore[arg-type]
        scene.add(*table.keys.values())
        scene.play(FadeIn(VGroup(*rest, *extra)), run_time=0.6)
        yield
        yield from self.mark(scene, table, None, [k for k, _, _ in rows], [])

    def arrange_pair(self, table: KeyTable, make: Callable[[Any], ModuleBoxes],
                     boxes_first: bool = False) -> ModuleBoxes:
        """Place the key table and the module's boxes side by side (boxes' children in a column) or one
        above the other (children in a row), whichever draws them larger; returns the boxes placed."""
        area = self.picture_area
        tall = make(DOWN)
        first, second = (tall, table) if boxes_first else (table, tall)
        left, right = self.halves(first, second)
        side = min(1.6, *(min(a.width / m.width, a.height / m.height) for a, m in ((left, first), (right, second))))
        wide = make(RIGHT)
        pair = VGroup(wide, table) if boxes_first else VGroup(table, wide)
        pair.arrange(DOWN, buff=0.5)
        stacked = min(1.6, area.width / pair.width, area.height / pair.height)
        if stacked > side:
            area.fit(pair, max_scale=1.6)
            return wide
        left.fit(first, max_scale=side)
        right.fit(second, max_scale=side)
        return tall

    def halves(self, left_mob: Mobject, right_mob: Mobject, gap: float = 0.6) -> tuple[Area, Area]:
        """The content area cut in two side by side, in proportion to the two pictures' widths."""
        a = self.picture_area
        share = left_mob.width / max(left_mob.width + right_mob.width, 1e-6)  # one scale for both
        lw = (a.width - gap) * share
        rw = a.width - gap - lw
        x0 = a.x - a.width / 2
        return Area(x0 + lw / 2, a.y, lw, a.height), Area(x0 + lw + gap + rw / 2, a.y, rw, a.height)

    def load(self, scene: Scene, name: str, rows: list[tuple[str, TensorEntry, str]], into: ModuleEntry,
             rows_max: int) -> Iterator[None]:
        digits = self.digits
        table = KeyTable(rows, title=name, max_rows=rows_max, values=True, digits=digits)
        self.shown["drawn"] = table.shown
        after = {k: preview(into.tensor(k), digits) for k in into.state_dict_keys}
        boxes = self.arrange_pair(table, lambda d: ModuleBoxes(into, direction=d, previews=after))
        self.shown["boxes"] = boxes.shown
        self.shown["boxes_of"] = boxes.module.name
        scene.play(FadeIn(table), run_time=1.0)
        yield
        layers = [pieces for _, pieces in sorted(boxes.layers, key=lambda dp: dp[0])]
        scene.play(LaggedStart(*[FadeIn(p) for p in layers], lag_ratio=0.15), run_time=1.2)
        yield
        # a value flows only where torch copied it: the loaded module now holds exactly the source's values
        sources = dict((k, t) for k, t, _ in rows)
        copied = [k for k in table.values if k in boxes.previews
                  and sources[k].flat() == into.tensor(k).flat() and sources[k].shape == into.tensor(k).shape]
        self.shown["loaded"] = [[k, table.previews[k], after[k]] for k in copied]
        flights = [Transform(table.values[k].copy(), boxes.previews[k].copy().set_opacity(1)) for k in copied]
        if flights:
            scene.play(*flights, run_time=1.4)
            scene.remove(*[f.mobject for f in flights])  # type: ignore[arg-type]
        for k in copied:
            boxes.previews[k].set_opacity(1)
        scene.add(*[boxes.previews[k] for k in copied])
        words = f"{len(copied)} of {len(into.state_dict_keys)} entries copied into {into.name}"
        caption = label(words, theme.CAPTION_SIZE, theme.MUTED)
        assert self.strip is not None
        self.strip.fit(caption, max_scale=1.0)
        self.caption = caption
        self.shown["caption"] = words
        scene.play(FadeIn(caption), run_time=0.5)
        yield
        yield from self.mark(scene, table, boxes, [k for k, _, _ in rows], into.state_dict_keys)

    def mark(self, scene: Scene, table: KeyTable, boxes: ModuleBoxes | None, keys: list[str],
             into_keys: Any) -> Iterator[None]:
        """The report step: keys torch called missing (in the model's boxes) and unexpected (in the table)."""
        if not self.option("result"):
            return
        missing, unexpected, error = self.report()
        self.shown["missing"], self.shown["unexpected"] = missing, unexpected
        anims: list[Any] = []
        for k in unexpected:
            if k in table.kinds:
                tag = label("unexpected", LINE_SIZE, UNEXPECTED).scale(size_of(table.kinds[k]) / LINE_SIZE)
                tag.move_to(table.kinds[k], aligned_edge=LEFT)
                anims += [table.keys[k].animate.set_color(UNEXPECTED), Transform(table.kinds[k], tag)]
        for k in missing:
            if boxes is not None and k in boxes.previews:
                tag = label("missing", LINE_SIZE, MISSING).scale(size_of(boxes.previews[k]) / LINE_SIZE)
                tag.move_to(boxes.previews[k], aligned_edge=LEFT)
                anims += [boxes.lines[k][0].animate.set_color(MISSING), FadeIn(tag)]
        summary = f"missing: {', '.join(missing) or 'none'}   ·   unexpected: {', '.join(unexpected) or 'none'}"
        self.shown["report"] = summary
        lines = [error.splitlines()[0], summary] if error else [summary]
        colors = [MISSING if error and i == 0 else theme.TEXT for i in range(len(lines))]
        text = VGroup(*[label(t, theme.CAPTION_SIZE - 2, c) for t, c in zip(lines, colors, strict=True)])
        text.arrange(DOWN, buff=0.1)
        assert self.strip is not None
        self.strip.fit(text, max_scale=1.0)
        gone = [FadeOut(self.caption)] if self.caption is not None else []
        scene.play(*anims, *gone, FadeIn(text), run_time=1.0)
        yield
