"""`Softmax`: logits as bars, then exp, then their sum, then the probabilities that add to 1; masked
(-inf) logits come out as 0. A temperature variant sets the probabilities at several temperatures side by
side. Every bar and number is a traced value (exp, the sum and the check are traced by the lesson too)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, ClassVar

from manim import DOWN, RIGHT, UP, FadeIn, GrowFromEdge, LaggedStart, Scene, VGroup

from scenes import theme
from scenes.anim import note
from scenes.errors import VisualError
from scenes.mobjects.plot import Bars
from scenes.mobjects.text import label
from scenes.trace import format_number, short_name
from scenes.visuals.base import TensorVisual
from scenes.visuals.curve import number_label, require

MAX_CLASSES = 10
BAR_HEIGHT = 2.0
SLOT = 0.78


class Softmax(TensorVisual):
    """`Softmax("logits", "probs", exp="e", total="s", check="probs_sum")`: four charts' worth of steps.
    `Softmax("logits", "p_cold", "p_warm", temperature="T")`: one chart per temperature.
    1-D logits, or a row of 2-D (or 3-D, 4-D) logits: softmax over the last axis."""

    takes: ClassVar[str] = "logits, probs..."

    options: ClassVar[dict[str, str]] = {
        "exp": "traced exp of the logits (drawn as the second chart)",
        "total": "traced sum of that exp: the divisor (0-D tensor, per-row tensor or number)",
        "check": "traced sum of the probabilities (written as the closing line)",
        "temperature": "traced temperatures, one per probability tensor (the temperature variant)",
        "row": "the row of 2-D logits to draw (default 0); of 3-D or 4-D logits, its leading indices "
               "as a list, e.g. [1, 2] (default all 0)",
        "names": "names under the bars, one per class (default: the indices)",
        "digits": "decimals of the values shown (default 2)",
    }

    def probabilities(self) -> list[str]:
        if len(self.spec.tensors) < 2:
            raise VisualError("Softmax", None, "name the logits and the probabilities: Softmax('logits', 'probs')")
        probs = list(self.spec.tensors[1:])
        if len(probs) > 1 and not self.option("temperature"):
            raise VisualError("Softmax", probs[1], "several probability tensors need temperature='<traced temps>'")
        return probs

    def steps(self) -> int:
        probs = self.probabilities()
        if self.option("temperature"):
            return 1 + len(probs)
        return 2 + (1 if self.option("exp") else 0) + (1 if self.option("total") else 0)

    # data ---------------------------------------------------------------------------------------------
    def row_index(self, name: str) -> tuple[int, ...]:
        """The prefix selecting the drawn row: () for 1-D, (row,) for 2-D, the leading indices for 3-D and 4-D."""
        entry = self.beat[name]
        if entry.ndim == 1:
            return ()
        if entry.ndim == 2:
            row = int(self.option("row", 0))
            if not 0 <= row < entry.shape[0]:
                raise VisualError("Softmax", name, f"row {row} is outside its {entry.shape[0]} rows")
            return (row,)
        if entry.ndim <= 4:
            lead = entry.shape[:-1]
            raw = self.option("row", [0] * len(lead))
            index = tuple(int(i) for i in raw) if isinstance(raw, list | tuple) else (int(raw),)
            if len(index) != len(lead) or not all(0 <= i < n for i, n in zip(index, lead, strict=True)):
                raise VisualError("Softmax", name, f"row={list(index)} is not a row of its {'x'.join(map(str, lead))} "
                                  f"leading axes; give {len(lead)} indices")
            return index
        raise VisualError("Softmax", name, f"draws 1-D to 4-D logits (a row of them), got shape {list(entry.shape)}")

    def bars_of(self, name: str, masked_ok: bool = False) -> tuple[list[float | None], list[str]]:
        """The drawn row of `name`: bar lengths (None for -inf) and the trace's labels, recorded in `shown`."""
        entry = self.beat[name]
        if entry.dtype.startswith("complex") or entry.dtype == "bool":
            raise VisualError("Softmax", name, f"needs real values, got {entry.dtype}")
        prefix = self.row_index(name)
        n = entry.shape[-1]
        if not 1 <= n <= MAX_CLASSES:
            raise VisualError("Softmax", name, f"draws 1 to {MAX_CLASSES} classes as bars, got {n}; slice the logits")
        values: list[float | None] = []
        texts: list[str] = []
        for i in range(n):
            v = entry.at(*prefix, i)
            if v == "-inf" and masked_ok:
                values.append(None)
            elif isinstance(v, str):
                raise VisualError("Softmax", name, f"entry {i} is {v}; only logits may be masked with -inf")
            else:
                values.append(float(v))
            text = entry.label(*prefix, i, digits=self.digits)
            texts.append(text)
            self.shown.setdefault(name, {})[",".join(map(str, (*prefix, i)))] = text
        return values, texts

    def scalar_text(self, name: str) -> str:
        """A traced number, or the tensor entry (0-D, one per row, or one element) that goes with the drawn
        row, as the trace labels it."""
        if name in self.beat.tensors:
            entry = self.beat[name]
            row = self.row_index(self.spec.tensors[0])
            lead = self.beat[self.spec.tensors[0]].shape[: len(row)]
            if entry.numel == 1:
                idx: tuple[int, ...] = (0,) * entry.ndim
            elif row and tuple(entry.shape[: len(lead)]) == tuple(lead) and entry.numel == math.prod(lead):
                idx = row + (0,) * (entry.ndim - len(row))  # one per row (with or without keepdim's size-1 axis)
            else:
                raise VisualError("Softmax", name, f"needs one number (or one per row), got shape {list(entry.shape)}")
            text = entry.label(*idx, digits=self.digits)
            self.shown.setdefault(name, {})[",".join(map(str, idx))] = text
            return text
        return number_label(self, "Softmax", name)

    def value_of(self, name: str) -> Any:
        if name not in self.beat.values:
            raise VisualError("Softmax", name, f"the beat returned no {name!r}; it has "
                                               f"{sorted(self.beat.tensors) + sorted(self.beat.values)}")
        return self.beat.values[name]

    def class_names(self, n: int) -> list[str]:
        names = self.option("names")
        if names is None:
            return [str(i) for i in range(n)]
        if isinstance(names, str) or len(names) != n:
            raise VisualError("Softmax", None, f"names must list one name per class ({n})")
        return [str(v) for v in names]

    # pictures -----------------------------------------------------------------------------------------
    def chart(self, title: str, values: list[float | None], texts: list[str], color: str,
              masked: list[int]) -> VGroup:
        names = self.class_names(len(values))
        bars = Bars(values, texts, names, color, height=BAR_HEIGHT, slot=SLOT)
        for i in masked:
            bars.names[i].set_color(theme.ROLES["error"])
        head = label(title, theme.CAPTION_SIZE, theme.TEXT)
        head.next_to(bars, UP, buff=0.25)
        head.set_y(BAR_HEIGHT + 0.75 + bars.baseline.get_y())
        return VGroup(head, bars)

    def play(self, scene: Scene) -> Iterator[None]:
        require(self, "Softmax", self.spec.tensors, *(self.option(k) for k in ("exp", "total", "check", "temperature")))
        logits, *probs = self.spec.tensors
        probs = self.probabilities()
        values, texts = self.bars_of(logits, masked_ok=True)
        masked = [i for i, v in enumerate(values) if v is None]
        self.shown["masked"] = masked
        charts: list[VGroup] = [self.chart(short_name(logits), values, texts, theme.ROLES["input"], masked)]
        temps = self.option("temperature")
        extras: list[Any] = []
        if temps:
            for k, p in enumerate(probs):
                pv, pt = self.bars_of(p)
                charts.append(self.chart(f"T = {self.temperature_text(str(temps), k, len(probs))}", pv, pt,
                                         theme.SERIES[(k + 1) % len(theme.SERIES)], masked))
        else:
            if self.option("exp"):
                ev, et = self.bars_of(str(self.option("exp")))
                charts.append(self.chart(f"exp({short_name(logits)})", ev, et, theme.ROLES["selected"], masked))
            if self.option("total"):
                extras.append(self.divisor(self.scalar_text(str(self.option("total")))))
            pv, pt = self.bars_of(probs[0])
            charts.append(self.chart(f"{short_name(probs[0])} = exp / sum", pv, pt, theme.ROLES["output"], masked))
        main, bottom = self.split_area(0.8)
        parts = charts[:-1] + extras + charts[-1:] if extras else charts
        row = VGroup(*parts).arrange(RIGHT, buff=0.55)
        base = self.bars(charts[0]).baseline.get_y()
        for chart in charts[1:]:
            chart.shift(UP * (base - self.bars(chart).baseline.get_y()))
        for extra in extras:
            extra.set_y(base + BAR_HEIGHT / 2)
        self.fit(row, main, max_scale=1.0)
        closing = self.closing(probs, masked, bool(temps))
        bottom.fit(closing, max_scale=1.0)
        lead = note(self.lead(logits), theme.MUTED)
        bottom.fit(lead, max_scale=1.0)
        scene.play(FadeIn(charts[0][0]), self.grow(self.bars(charts[0])), FadeIn(lead), run_time=1.0)
        yield
        order = parts[1:]
        for k, part in enumerate(order):
            last = k == len(order) - 1
            anims = [FadeIn(part[0]), self.grow(self.bars(part))] if part in charts else [FadeIn(part)]
            if last:
                anims += [lead.animate.set_opacity(0), FadeIn(closing)]
            scene.play(*anims, run_time=1.0)
            yield

    def lead(self, logits: str) -> str:
        entry = self.beat[logits]
        row = self.row_index(logits)
        where = (f"row {row[0]} of {entry.shape[0]}, " if entry.ndim == 2 else
                 f"row [{', '.join(map(str, row))}] of {'x'.join(map(str, entry.shape[:-1]))}, " if row else "")
        return f"softmax over the last axis ({where}{entry.shape[-1]} classes)"

    def temperature_text(self, temps: str, k: int, count: int) -> str:
        if temps in self.beat.tensors:
            entry = self.beat[temps]
            if entry.numel != count:
                raise VisualError("Softmax", temps, f"{entry.numel} temperatures for {count} probability tensors")
            text = entry.label(k, digits=self.digits)
            self.shown.setdefault(temps, {})[str(k)] = text
            return text
        values = self.value_of(temps)
        if not isinstance(values, list) or len(values) != count:
            raise VisualError("Softmax", temps, f"needs one temperature per probability tensor ({count})")
        text = format_number(values[k], digits=self.digits)
        self.shown.setdefault("values", {}).setdefault(temps, []).append(text)
        return text

    def divisor(self, total: str) -> VGroup:
        """The sum of the exp bars, written between them and the probabilities it divides."""
        return VGroup(label("sum", theme.CAPTION_SIZE, theme.MUTED),
                      label(f"÷ {total}", theme.BODY_SIZE, theme.ROLES["selected"])).arrange(DOWN, buff=0.15)

    def closing(self, probs: list[str], masked: list[int], temps: bool) -> VGroup:
        parts = []
        if not temps and self.option("check"):
            parts.append(f"the probabilities add to {self.scalar_text(str(self.option('check')))}")
        if masked:
            parts.append("masked (-inf) logits come out as 0")
        if temps:
            parts.append("softmax(logits / T) at each temperature")
        return note("; ".join(parts) or f"{short_name(probs[0])} = softmax of the logits", theme.ROLES["selected"])

    @staticmethod
    def bars(chart: VGroup) -> Bars:
        bars = chart[1]
        assert isinstance(bars, Bars)
        return bars

    @staticmethod
    def grow(bars: Bars) -> Any:
        return LaggedStart(FadeIn(bars.baseline), *[GrowFromEdge(b, DOWN) for b in bars.bars],
                           FadeIn(bars.texts), FadeIn(bars.names), lag_ratio=0.08)
