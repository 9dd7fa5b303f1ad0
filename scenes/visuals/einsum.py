"""`Einsum`: index letters on every axis; free indices kept in the result, summed ones underlined."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import ClassVar

from manim import DOWN, RIGHT, Create, FadeIn, FadeOut, Scene, Underline, VGroup, Write

from scenes import theme
from scenes.anim import appear, note, separator, sign
from scenes.mobjects.text import mono
from scenes.trace import shape_text, sum_of_products
from scenes.visuals.base import TensorVisual, largest_arrangement

MAX_TERMS = 3


def parse_equation(equation: str, n_inputs: int) -> tuple[list[str], str]:
    """`"ik,kj->ij"` -> (["ik", "kj"], "ij"); an implicit output is the letters used once, sorted."""
    eq = equation.replace(" ", "")
    lhs, _, rhs = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != n_inputs:
        raise ValueError(f"einsum {equation!r} names {len(ins)} inputs but the visual was given {n_inputs}")
    if "->" not in eq:
        rhs = "".join(sorted(c for c in set(lhs) if c.isalpha() and lhs.count(c) == 1))
    return ins, rhs


def one_line(group: VGroup) -> VGroup:
    """Inputs, arrow and result in one line."""
    return group.arrange(RIGHT, buff=0.4)


def two_lines(group: VGroup) -> VGroup:
    """The inputs (with their commas) in one line, the arrow and the result centred under them."""
    inputs, result = VGroup(*group[:-2]).arrange(RIGHT, buff=0.4), VGroup(*group[-2:]).arrange(RIGHT, buff=0.4)
    VGroup(inputs, result).arrange(DOWN, buff=0.4)
    return group


class Einsum(TensorVisual):
    """The equation with free letters in one colour and summed letters in another; the inputs with a
    letter on each axis; the summed letters are underlined (their axis marks dim), the result keeps the
    free ones; one result cell worked out as the sum of products torch's values make."""

    takes: ClassVar[str] = "operands..., result"

    options: ClassVar[dict[str, str]] = {
        "equation": "the einsum equation, e.g. 'ik,kj->ij' (required)",
        "same_as": "the torch call the result is checked against, e.g. 'A.sum(dim=0)' (written with `same`)",
        "same": "name of a traced value: the check's result (torch.equal, allclose), written after `same_as`",
    }

    def validate(self) -> None:
        *in_names, res_name = self.spec.tensors
        try:
            ins, out = parse_equation(str(self.option("equation")), len(in_names))
        except ValueError as exc:
            self.refuse(None, str(exc))
        sizes: dict[str, tuple[str, int]] = {}
        for letters, name in [*zip(ins, in_names, strict=True), (out, res_name)]:
            t = self.beat[name]
            if len(letters) != t.ndim:
                self.refuse(name, f"{letters or 'no letters'!r} names {len(letters)} axes, but {name} has {t.ndim} "
                            f"({shape_text(t.shape)})")
            for c, n in zip(letters, t.shape, strict=True):
                first, size = sizes.setdefault(c, (name, n))
                if size != n:
                    self.refuse(name, f"letter {c} is {size} long in {first} but {n} in {name}")
        empty = [c for c, (_, n) in sizes.items() if n == 0]
        if empty:
            self.refuse(sizes[empty[0]][0], f"axis {empty[0]} is empty: there is no product to sum or cell to show")

    def steps(self) -> int:
        """The equation; the inputs; summed letters underlined and the result appears; a worked cell."""
        return 4

    def play(self, scene: Scene) -> Iterator[None]:
        *in_names, res_name = self.spec.tensors
        equation = str(self.option("equation"))
        ins, out = parse_equation(equation, len(in_names))
        summed = sorted({c for s in ins for c in s} - set(out))
        self.shown["free"] = list(out)
        self.shown["summed"] = summed
        sizes: dict[str, int] = {}
        for letters, name in zip(ins, in_names, strict=True):
            for c, n in zip(letters, self.beat[name].shape, strict=True):
                sizes[c] = n
        area, bottom = self.split_area(0.9)
        letters_typed = equation.replace(" ", "")
        eq_text = mono(letters_typed, theme.TITLE_SIZE, theme.TEXT)  # one text: commas sit on the baseline
        for ch, glyph in zip(letters_typed, eq_text, strict=True):
            glyph.set_color(theme.ROLES["summed"] if ch in summed else theme.ROLES["free"] if ch.isalpha()
                            else theme.TEXT)
        grids = [
            self.grid(n, axis_names=letters, max_rows=4, max_cols=4, max_slabs=2, max_blocks=2,
                      show_badge=False)
            for n, letters in zip(in_names, ins, strict=True)
        ]
        rgrid = self.grid(
            res_name, role="output", axis_names=out or None, max_rows=4, max_cols=4, max_slabs=2, max_blocks=2,
            show_badge=False,
        )
        parts = [grids[0]]
        for g in grids[1:]:
            parts += [separator(), g]
        arrow = sign("->", theme.ACCENT)
        # 3-D and 4-D grids are rows and grids of slices: one line of them may draw them small; then the inputs
        # take one line and "-> result" the next (or a 3-D grid's slices stand in a column)
        row = largest_arrangement(VGroup(*parts, arrow, rgrid), area, [one_line, two_lines],
                                  around=lambda g: VGroup(eq_text.copy(), g).arrange(DOWN, buff=0.5))
        picture = VGroup(eq_text, row).arrange(DOWN, buff=0.5)
        self.fit(picture, area)
        scene.play(Write(eq_text), run_time=0.8)
        yield
        scene.play(*[appear(g) for g in grids], *[FadeIn(p) for p in parts if p not in grids], run_time=1.0)
        yield
        fading = [m for ch, m in zip(equation.replace(" ", ""), eq_text, strict=True) if ch in summed]
        axis_marks = []
        for g, letters in zip(grids, ins, strict=True):
            for axis, ch in enumerate(letters):
                if ch in summed:
                    axis_marks += g.axis_labels.get(axis, [])
        explain = note(
            f"summed over {', '.join(summed) or 'nothing'}: "
            + (" x ".join(f"{c}={sizes[c]}" for c in summed) or "no letter disappears")
            + f"; kept: {', '.join(out) or 'none (a scalar)'}",
            theme.MUTED,
        )
        bottom.fit(explain)
        # summed letters stay legible in the equation (underlined); on the grids their axis marks dim
        scene.play(
            *[Create(Underline(m, color=theme.ROLES["summed"], buff=0.05)) for m in fading],
            *[m.animate.set_opacity(0.45) for m in axis_marks],
            FadeIn(explain),
            run_time=0.9,
        )
        scene.play(FadeIn(arrow), appear(rgrid), run_time=0.9)
        yield
        cell = self.worked_cell(ins, out, sizes, summed)
        assign = dict(zip(out, cell, strict=True))
        terms = []
        for combo in itertools.product(*[range(sizes[c]) for c in summed]):
            assign.update(zip(summed, combo, strict=True))
            factors = [
                self.beat[n].label(*[assign[c] for c in letters], digits=self.digits)
                for n, letters in zip(in_names, ins, strict=True)
            ]
            terms.append(factors)
        result = self.beat[res_name].label(*cell, digits=self.digits)
        self.shown["cell"] = {
            "index": list(cell),
            "terms": terms,
            "result": result,
            "count": math.prod(sizes[c] for c in summed) if summed else 1,
        }
        body = sum_of_products(terms, "·", MAX_TERMS)
        if not summed and len(ins) == 1:  # a pure reordering: the cell's source, so the move is seen
            body = f"{in_names[0]}[{','.join(str(assign[c]) for c in ins[0])}]"
        where = f"[{','.join(map(str, cell))}]" if cell else ""  # a scalar result is written bare: dot, not dot[]
        worked = note(
            f"{res_name}{where} = {body} = {result}",
            theme.ROLES["selected"],
            font_mono=True,
            width=90,
        )
        same_as = self.option("same_as")
        if same_as:  # the torch call the einsum is, as the narration says it, with the trace's own verdict
            check = self.option("same")
            verdict = f": {self.text_value(check)}" if check else ""
            self.shown["same_as"] = f"{same_as}{verdict}"
            worked = VGroup(worked, note(f"{res_name} equals {same_as}{verdict}", theme.TEXT, font_mono=True,
                                         width=90)).arrange(DOWN, buff=0.15)
        bottom.fit(worked)
        scene.play(FadeOut(explain), run_time=0.25)  # the old note leaves before the new one comes: no cross-fade
        scene.play(FadeIn(worked), run_time=0.6)
        yield

    @staticmethod
    def worked_cell(ins: list[str], out: str, sizes: dict[str, int], summed: list[str]) -> tuple[int, ...]:
        """The result cell the last step works out: the first one, or for a pure reordering of one input
        (`ij->ji`) the first cell that moved, so the picture shows a move rather than [0,0] staying put."""
        first = tuple(0 for _ in out)
        if summed or len(ins) != 1:
            return first
        for cell in itertools.product(*[range(sizes[c]) for c in out]):
            assign = dict(zip(out, cell, strict=True))
            if tuple(assign[c] for c in ins[0]) != cell:
                return cell
        return first
