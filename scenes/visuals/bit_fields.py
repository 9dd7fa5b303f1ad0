"""`BitFields`: the sign, exponent and mantissa bits of each stored float (float32, float16, bfloat16),
read from the raw bit patterns torch stored, with the value each really holds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import numpy as np
from manim import DOWN, LEFT, RIGHT, FadeIn, LaggedStart, Scene, VGroup

from scenes import theme
from scenes.anim import note
from scenes.mobjects.text import label, mono
from scenes.trace import TensorEntry, shape_text
from scenes.visuals.base import TensorVisual

# dtype -> (exponent bits, mantissa bits, exponent bias)
LAYOUT = {"float32": (8, 23, 127), "float16": (5, 10, 15), "bfloat16": (8, 7, 127)}
MAX_VALUES = 2


def fields(bits: int, dtype: str) -> tuple[str, str, str]:
    """The bit pattern split into sign, exponent and mantissa strings."""
    e, m, _ = LAYOUT[dtype]
    text = format(bits, f"0{1 + e + m}b")
    return text[0], text[1 : 1 + e], text[1 + e :]


def stored(value: object) -> str:
    """The value a float really holds, with enough digits to tell float16 from float32."""
    if isinstance(value, str):
        return value
    v = float(value)  # type: ignore[arg-type]
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.10g}"


class BitFields(TensorVisual):
    """One row per stored value: the dtype, its three fields as coloured bits, what the exponent field
    means, and the value it stores."""

    takes: ClassVar[str] = "tensors..."

    options: ClassVar[dict[str, str]] = {}  # digits only (TensorVisual)

    def row(self, t: TensorEntry, k: int) -> VGroup:
        assert t.bits is not None
        sign, exp, mant = fields(t.bits[k], t.dtype)
        bias = LAYOUT[t.dtype][2]
        value = stored(t.flat()[k])
        self.shown.setdefault("fields", []).append([t.name, k, sign, exp, mant, value])
        bits = VGroup(
            mono(sign, theme.NOTE_SIZE, theme.BIT_FIELDS["sign"]),
            mono(exp, theme.NOTE_SIZE, theme.BIT_FIELDS["exponent"]),
            mono(mant, theme.NOTE_SIZE, theme.BIT_FIELDS["mantissa"]),
        ).arrange(RIGHT, buff=0.12)
        e = int(exp, 2)
        meaning = "inf/nan" if e == (1 << len(exp)) - 1 else "subnormal" if e == 0 else f"2^{e - bias}"
        return VGroup(
            label(t.dtype, theme.CAPTION_SIZE, theme.dtype_color(t.dtype)),
            bits,
            label(meaning, theme.CAPTION_SIZE - 4, theme.MUTED),
            label(f"= {value}", theme.CAPTION_SIZE, theme.TEXT),
        )

    def validate(self) -> None:
        for name in self.spec.tensors:
            t = self.beat[name]
            if t.dtype not in LAYOUT:
                self.refuse(name, f"it draws the bits of float32, float16 and bfloat16 values; {name} is {t.dtype}: "
                            "cast it (.float(), .half(), .bfloat16())")
            if t.numel == 0:
                self.refuse(name, f"{name} is empty ({shape_text(t.shape)}): it has no bits to draw")
            if t.bits is None:
                self.refuse(name, f"the trace keeps the bits of tensors of up to 64 values; {name} has {t.numel}: "
                            "index a few values")

    def steps(self) -> int:
        """The legend; the rows of each tensor; the caption."""
        return 1 + len(self.spec.tensors) + 1

    def play(self, scene: Scene) -> Iterator[None]:
        names = list(self.spec.tensors)
        rows = VGroup()
        groups = []
        for name in names:
            t = self.beat[name]
            group = [self.row(t, k) for k in range(min(MAX_VALUES, t.numel))]
            groups.append(group)
            rows.add(*group)
        # columns: dtype | bits | meaning | value, left-aligned
        widths = [max(r[c].width for r in rows) for c in range(4)]
        x0 = 0.0
        starts = []
        for w in widths:
            starts.append(x0)
            x0 += w + 0.45
        for i, r in enumerate(rows):
            for c in range(4):
                r[c].move_to(np.array([starts[c] + r[c].width / 2, -i * 0.62, 0.0]))
        legend = VGroup(
            *[label(f"{n}", theme.CAPTION_SIZE - 2, color) for n, color in theme.BIT_FIELDS.items()]
        )
        legend.arrange(RIGHT, buff=0.6)
        main, bottom = self.split_area(0.9)
        picture = VGroup(legend, rows).arrange(DOWN, buff=0.45)
        legend.align_to(rows, LEFT)
        self.fit(picture, main)
        caption = note(
            "the same number in three formats: fewer exponent bits overflow sooner (float16), "
            "fewer mantissa bits round coarser (bfloat16)",
            theme.MUTED,
        )
        bottom.fit(caption)
        scene.play(FadeIn(legend), run_time=0.5)
        yield
        for group in groups:
            scene.play(
                LaggedStart(*[FadeIn(r, shift=0.2 * RIGHT) for r in group], lag_ratio=0.3), run_time=0.8
            )
            yield
        scene.play(FadeIn(caption), run_time=0.5)
        yield
