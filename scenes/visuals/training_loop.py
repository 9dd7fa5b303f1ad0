"""`TrainingLoop`: the stages of one training step drawn as a cycle of boxes (forward, loss, backward, step,
zero_grad), lit in turn, and beside it the loss curve of the real training growing step by step, its first and
last loss written. Every number drawn is a traced value: the losses (and an optional second series, such as the
gradient norm) are 1-D tensors the lesson's training returned."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
from manim import (
    DOWN,
    RIGHT,
    UP,
    Arrow,
    Create,
    Dot,
    FadeIn,
    FadeOut,
    GrowArrow,
    LaggedStart,
    RoundedRectangle,
    Scene,
    VGroup,
)

from scenes import theme
from scenes.anim import note, together
from scenes.mobjects.plot import Plot, corners, nice_range, tick_text
from scenes.mobjects.text import label, mono
from scenes.trace import TensorEntry, format_number
from scenes.visuals.base import Area, TensorVisual

STAGES = ["forward", "loss", "backward", "step", "zero_grad"]
MAX_STAGES, MAX_STAGE_CHARS, MAX_CODE_CHARS = 8, 12, 34
MAX_POINTS = 2048
LARGEST = 1e6  # a loss past a million is a diverged run: the axis could not label it
MAX_TICK_CHARS = 9  # tick labels longer than this (a tiny spread: 0.00000012) crowd the axis
CYCLE_SHARE = 0.46
ARROW_ROOM = 0.55  # the least gap between neighbouring stage boxes, for the arrow  # of the area's width, for the cycle


class TrainingLoop(TensorVisual):
    """The cycle of a training step's stages appears; one step's stages light in turn (each its own step with
    `walk=True`), the loss of that step written in the middle under 'step 1'; then the loss curve grows through
    every step, its first and last loss written; then the optional second series
    (`TrainingLoop("losses", "grad_norms")`) grows on its own axes under the first, with the `caption` (if any).

    `TrainingLoop("losses")` with `losses` a 1-D tensor of the per-step losses the training recorded."""

    takes: ClassVar[str] = "losses, [extra]"

    options: ClassVar[dict[str, str]] = {
        "stages": "names of the cycle's stages, in order (default forward, loss, backward, step, zero_grad)",
        "code": "one short line of code per stage, written under the cycle while its stage is lit",
        "walk": "True: each stage lights as its own step (default False: one step lights them all in turn)",
        "labels": "names of the series on their axes (default: the tensor names)",
        "x_label": "name of the x axis (default 'step')",
        "caption": "a note under the cycle, written with the last curve; `{{ name }}` writes a traced value",
        "digits": "decimals of the losses written (default 2)",
    }

    # ---- what it is asked to draw ----

    def stages(self) -> list[str]:
        stages = self.option("stages", STAGES)
        if isinstance(stages, str) or not isinstance(stages, list) or not 2 <= len(stages) <= MAX_STAGES:
            self.refuse(None, f"stages must list 2 to {MAX_STAGES} stage names, got {stages!r}")
        for s in stages:
            if not isinstance(s, str) or not s.strip() or len(s) > MAX_STAGE_CHARS:
                self.refuse(None, f"each stage is a name of 1 to {MAX_STAGE_CHARS} characters, got {s!r}")
        return [str(s) for s in stages]

    def code(self) -> list[str] | None:
        code = self.option("code")
        if code is None:
            return None
        n = len(self.stages())
        if isinstance(code, str) or not isinstance(code, list) or len(code) != n:
            self.refuse(None, f"code must list one line per stage ({n}), got {code!r}")
        for line in code:
            if not isinstance(line, str) or len(line) > MAX_CODE_CHARS:
                self.refuse(None, f"each code line is text of at most {MAX_CODE_CHARS} characters, got {line!r}")
        return [str(line) for line in code]

    def names(self) -> list[str]:
        names = list(self.spec.tensors)
        if not 1 <= len(names) <= 2:
            self.refuse(None, f"name the traced losses, and at most one more series; got {names}")
        return names

    def labels(self) -> list[str]:
        names = self.names()
        labels = self.option("labels")
        if labels is None:
            return names
        if isinstance(labels, str) or not isinstance(labels, list) or len(labels) != len(names):
            self.refuse(None, f"labels must list one name per series ({len(names)}), got {labels!r}")
        return [str(v) for v in labels]

    def series(self, name: str) -> list[float]:
        """A traced 1-D series as floats, refused unless the axes can draw and label it."""
        if name not in self.beat.tensors:
            have = sorted(self.beat.tensors) + sorted(self.beat.values)
            self.refuse(name, f"the beat returned no tensor {name!r}; it returned {', '.join(have)}")
        entry: TensorEntry = self.beat[name]
        if entry.dtype.startswith("complex") or entry.dtype == "bool":
            self.refuse(name, f"a training curve needs real numbers, {name} is {entry.dtype}")
        if entry.truncated:
            self.refuse(name, f"only a summary of its {entry.numel} values is traced; record at most "
                        f"{MAX_POINTS} steps")
        if entry.ndim != 1:
            self.refuse(name, f"needs a 1-D tensor of one value per step, got shape {list(entry.shape)}")
        if not 2 <= entry.numel <= MAX_POINTS:
            self.refuse(name, f"needs 2 to {MAX_POINTS} steps, got {entry.numel}")
        values: list[float] = []
        for v in entry.flat():
            if not isinstance(v, bool | int | float) or not math.isfinite(float(v)):
                self.refuse(name, f"holds {v!r}: a training that produced NaN or inf diverged; trace finite "
                            "values")
            if abs(float(v)) > LARGEST:
                self.refuse(name, f"holds {v!r}, past {LARGEST:g}: too large to draw on a linear axis")
            values.append(float(v))
        start, stop, step = nice_range(min(values), max(values))
        if any(len(tick_text(start + k * step, step)) > MAX_TICK_CHARS
               for k in range(int(round((stop - start) / step)) + 1)):
            self.refuse(name, f"its values span {min(values)!r} to {max(values)!r}: too narrow a range to label "
                        "the axis legibly")
        return values

    def validate(self) -> None:
        self.stages()
        self.code()
        self.labels()
        self.caption_text()
        data = [self.series(n) for n in self.names()]
        if len(data) == 2 and len(data[1]) != len(data[0]):
            self.refuse(self.names()[1], f"{len(data[1])} values against {len(data[0])} losses: one per step")

    def steps(self) -> int:
        """The cycle; the stages lit (one step, or one per stage with `walk`); the loss curve; the second series."""
        lit = len(self.stages()) if self.option("walk", False) else 1
        return 1 + lit + len(self.names())

    # ---- drawing ----

    def cycle(self) -> tuple[VGroup, list[VGroup], list[Arrow]]:
        """The stage boxes on an ellipse, clockwise from the top, with an arrow from each to the next."""
        stages = self.stages()
        texts = [label(s, theme.BODY_SIZE, theme.TEXT) for s in stages]
        w = max(t.width for t in texts) + 0.5
        h = max(t.height for t in texts) + 0.45
        n = len(stages)
        rx, ry = w * 1.1, h * 2.4
        while True:  # widen the ellipse until neighbouring boxes leave room for a readable arrow between them
            angles = [math.pi / 2 - 2 * math.pi * i / n for i in range(n)]
            spots = [(rx * math.cos(a), ry * math.sin(a)) for a in angles]
            gaps = [max(abs(spots[i][0] - spots[(i + 1) % n][0]) - w, abs(spots[i][1] - spots[(i + 1) % n][1]) - h)
                    for i in range(n)]
            if min(gaps) >= ARROW_ROOM:
                break
            rx, ry = rx * 1.08, ry * 1.08
        boxes = []
        for text, (bx, by) in zip(texts, spots, strict=True):
            box = RoundedRectangle(width=w, height=h, corner_radius=0.15, stroke_color=theme.PANEL_EDGE,
                                   stroke_width=3, fill_color=theme.PANEL, fill_opacity=1.0)
            group = VGroup(box, text.move_to(box))
            group.move_to(np.array([bx, by, 0.0]))
            boxes.append(group)
        arrows = []
        for i in range(n):
            a, b = boxes[i], boxes[(i + 1) % n]
            start, end = edge_toward(a[0], b.get_center()), edge_toward(b[0], a.get_center())
            arrows.append(Arrow(start, end, buff=0.08, stroke_width=4, tip_length=0.2,
                                max_tip_length_to_length_ratio=0.35, color=theme.MUTED))
        return VGroup(*boxes, *arrows), boxes, arrows

    def play(self, scene: Scene) -> Iterator[None]:
        self.validate()
        stages, code, names, labels = self.stages(), self.code(), self.names(), self.labels()
        data = [self.series(n) for n in names]
        a = self.area
        left_w = a.width * CYCLE_SHARE
        left = Area(a.x - a.width / 2 + left_w / 2, a.y, left_w, a.height)
        right_w = a.width - left_w - 0.3
        right = Area(a.x + a.width / 2 - right_w / 2, a.y, right_w, a.height)

        # the cycle, with room under it for the code line, and its centre for the step's loss
        picture, boxes, arrows = self.cycle()
        caption = self.caption()
        code_h = 0.9 if caption is not None else 0.7 if code else 0.0
        cycle_area = Area(left.x, left.y + code_h / 2, left.width, left.height - code_h)
        cycle_area.fit(picture, max_scale=1.0)
        self.shown["stages"] = stages
        centre = picture.get_center()
        code_spot = np.array([left.x, left.y - left.height / 2 + code_h / 2, 0.0])
        code_lines = [mono(line, theme.CODE_SIZE + 4, theme.TEXT) for line in code] if code else []
        for code_line in code_lines:
            if code_line.width > left.width:
                code_line.scale_to_fit_width(left.width)
            code_line.move_to(code_spot)

        if caption is not None:
            caption.move_to(code_spot)
            if caption.width > left.width:
                caption.scale_to_fit_width(left.width)

        # the plots: the losses, and the second series under them
        xs = [float(k + 1) for k in range(len(data[0]))]
        gap = 0.35
        plot_h = (right.height - gap * (len(data) - 1)) / len(data)
        plots = []
        for i, ys in enumerate(data):
            x_label = str(self.option("x_label", "step")) if i == len(data) - 1 else ""
            plot = Plot((xs[0], xs[-1]), (min(ys), max(ys)), right.width, plot_h, x_label, labels[i])
            top = right.y + right.height / 2 - i * (plot_h + gap)
            Area(right.x, top - plot_h / 2, right.width, plot_h).fit(plot, max_scale=1.0)
            plots.append(plot)
        self.shown["ticks"] = [{"x": [t.text for t in p.tick_labels[: len(p.x_ticks)]],
                                "y": [t.text for t in p.tick_labels[len(p.x_ticks):]]} for p in plots]

        # 1. the cycle, and the empty axes the curves will grow on
        scene.play(LaggedStart(*[FadeIn(b) for b in boxes], lag_ratio=0.15), run_time=1.0)
        scene.play(LaggedStart(*[GrowArrow(arr) for arr in arrows], lag_ratio=0.1),
                   *[FadeIn(VGroup(p.frame, p.zero_lines, p.marks, p.tick_labels, p.names)) for p in plots],
                   run_time=0.6)
        yield

        # 2. one step's stages light in turn; the loss stage writes that step's loss in the middle
        walk = bool(self.option("walk", False))
        step_text = label("step 1", theme.BODY_SIZE, theme.MUTED).move_to(centre + UP * 0.25)
        first_loss = self.beat[names[0]].label(0, digits=self.digits)
        self.shown.setdefault(names[0], {})["0"] = first_loss
        loss_text = label(first_loss, theme.BODY_SIZE + 4, theme.SERIES[0]).move_to(centre + DOWN * 0.25)
        for text in (step_text, loss_text):
            if text.width > picture.width * 0.4:
                text.scale_to_fit_width(picture.width * 0.4)
        self.shown["centre"] = ["step 1"]
        lit: VGroup | None = None
        shown_code: Any = None
        self.shown["lit"] = []
        for i, box in enumerate(boxes):
            color = theme.SERIES[i % len(theme.SERIES)]
            changes = [box[0].animate.set_fill(color, opacity=0.35).set_stroke(color, width=5)]
            if lit is not None:
                changes.append(unlit(lit))
            if shown_code is not None:  # the old line leaves before the new one comes (no cross-fade)
                scene.play(FadeOut(shown_code), run_time=0.15)
            anims: list[Any] = [together(changes)]
            if i == 0:
                anims.append(FadeIn(step_text))
            if code_lines:
                shown_code = code_lines[i]
                anims.append(FadeIn(shown_code))
                self.shown.setdefault("code", []).append(code[i] if code else "")
            if stages[i] == "loss" or (i == len(boxes) - 1 and "loss" not in stages):
                anims.append(FadeIn(loss_text))
                self.shown["centre"].append(first_loss)
            scene.play(*anims, run_time=0.45)
            lit = box
            self.shown["lit"].append(stages[i])
            scene.wait(0.3)
            if walk:
                yield
        if not walk:
            yield

        # 3. the curves grow through every step, first and last values written
        self.shown["curves"] = {}
        for i, (name, ys, plot) in enumerate(zip(names, data, plots, strict=True)):
            color = theme.SERIES[0] if i == 0 else theme.ROLES["gradient"]
            line = plot.line(xs, ys, color)
            self.shown["curves"][name] = [[round(x, 6), round(y, 6)] for x, y in (plot.value(p) for p in corners(line))]
            ends = self.end_tags(plot, name, xs, ys, color)
            dots = VGroup(Dot(plot.point(xs[0], ys[0]), radius=0.06, color=color),
                          Dot(plot.point(xs[-1], ys[-1]), radius=0.06, color=color))
            start = [FadeIn(dots[0]), FadeIn(ends[0])]
            if i == 0:  # the step's stage, code and loss leave; the whole run's count comes
                leaving: list[Any] = [FadeOut(step_text), FadeOut(loss_text)]
                leaving += [FadeOut(shown_code)] if shown_code is not None else []
                leaving += [together([unlit(lit)])] if lit is not None else []
                scene.play(*leaving, run_time=0.2)
                count = label(f"{len(ys)} steps", theme.BODY_SIZE, theme.MUTED).move_to(centre)
                if count.width > picture.width * 0.4:
                    count.scale_to_fit_width(picture.width * 0.4)
                self.shown["centre"].append(f"{len(ys)} steps")
                start.append(FadeIn(count))
            if caption is not None and i == len(data) - 1:
                start.append(FadeIn(caption))
            scene.play(*start, run_time=0.35)
            scene.play(Create(line), run_time=1.6 if i == 0 else 1.4)
            scene.play(FadeIn(dots[1]), FadeIn(ends[1]), run_time=0.4)
            yield

    def caption(self) -> VGroup | None:
        """The caption as a wrapped note under the cycle (None without one); recorded in `shown["caption"]`."""
        filled = self.caption_text()
        if filled is None:
            return None
        self.shown["caption"] = filled
        return note(filled, theme.TEXT, theme.NOTE_SIZE + 2, width=40, max_lines=2)

    def caption_text(self) -> str | None:
        """The `caption` option with each `{{ name }}` written as the trace holds it (a returned value, or a
        one-element tensor as its label)."""
        text = self.option("caption")
        if text is None:
            return None
        if not isinstance(text, str):
            self.refuse(None, f"caption must be text, got {text!r}")

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in self.beat.tensors and self.beat[name].numel == 1:
                entry = self.beat[name]
                return entry.label(*[0] * entry.ndim, digits=self.digits)
            if name in self.beat.values and not isinstance(self.beat.values[name], list | dict):
                v = self.beat.values[name]
                return format_number(v, "float32", self.digits) if isinstance(v, float) else str(v)
            self.refuse(None, f"the caption names {{{{ {name} }}}}, which the beat returned neither as a value "
                        f"nor as a one-element tensor; it returned {sorted([*self.beat.values, *self.beat.tensors])}")

        return re.sub(r"\{\{\s*(\w+)\s*\}\}", value, text)

    def end_tags(self, plot: Plot, name: str, xs: list[float], ys: list[float], color: str) -> VGroup:
        """The first and last value of a series written by its end points, inside the plot's box (the trace's
        own labels)."""
        entry = self.beat[name]
        last = len(ys) - 1
        tags = VGroup()
        mid = (plot.y0 + plot.y1) / 2
        for k in (0, last):
            text = entry.label(k, digits=self.digits)
            self.shown.setdefault(name, {})[str(k)] = text
            tag = label(text, theme.BADGE_SIZE + 3, color)
            p = plot.point(xs[k], ys[k])
            if k == 0:  # right of the first point, level with it: clear of a line that leaves it
                tag.next_to(p, RIGHT, buff=0.18)
            else:  # over (or under) the last point, its right edge on it: inside the plot
                tag.next_to(p, DOWN if ys[k] > mid else UP, buff=0.15).align_to(p, RIGHT)
            tags.add(tag)
        return tags


def unlit(box: VGroup) -> Any:
    """A lit stage box back to its resting colours."""
    return box[0].animate.set_fill(theme.PANEL, opacity=1.0).set_stroke(theme.PANEL_EDGE, width=3)


def edge_toward(box: Any, target: np.ndarray) -> np.ndarray:
    """The point on a box's border on the line from its centre toward `target`."""
    c = box.get_center()
    d = target - c
    hw, hh = box.width / 2, box.height / 2
    t = min(hw / abs(d[0]) if abs(d[0]) > 1e-9 else math.inf, hh / abs(d[1]) if abs(d[1]) > 1e-9 else math.inf)
    return np.asarray(c + d * t)
