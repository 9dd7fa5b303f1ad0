"""`Reduce`: sum / mean / max / min / std / argmax along a dim (or over everything), with keepdim."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from manim import DOWN, LEFT, RIGHT, Arrow, FadeIn, FadeOut, Scene, VGroup

from scenes import theme
from scenes.anim import appear, glow, hide, note, restore, reveal
from scenes.trace import TensorEntry, shape_text
from scenes.visuals.base import TensorVisual

STEPPED = 3
MAX_TERMS = 5


def reduced_line(
    src: TensorEntry, res_idx: tuple[int, ...], dim: int | None, keepdim: bool
) -> list[tuple[int, ...]]:
    """The source cells that reduce into result cell `res_idx`."""
    if dim is None:
        return src.indices()
    base = list(res_idx)
    if not keepdim:
        base.insert(dim, 0)
    return [tuple(k if a == dim else i for a, i in enumerate(base)) for k in range(src.shape[dim])]


class Reduce(TensorVisual):
    """Each result cell: its line of source cells glows, the values and torch's result are written out,
    the cell fills; then the rest at once. max/min also show the index where the value was found."""

    takes: ClassVar[str] = "src, result, [indices]"

    options: ClassVar[dict[str, str]] = {
        "dim": "axis reduced (default: every axis, one number)",
        "op": "'sum', 'mean', 'max', 'min', 'std' or 'argmax' (default 'sum')",
        "keepdim": "True: the reduced axis stays with size 1 (default False)",
    }

    def validate(self) -> None:
        src_name, res_name, *extra = self.spec.tensors
        src, res = self.beat[src_name], self.beat[res_name]
        raw_dim = self.option("dim")
        keepdim = bool(self.option("keepdim", False))
        if raw_dim is None:
            expected = tuple(1 for _ in src.shape) if keepdim else ()
        else:
            if not -src.ndim <= int(raw_dim) < max(src.ndim, 1) or not src.ndim:
                self.refuse(src_name, f"dim={raw_dim} is not an axis of {src_name} ({shape_text(src.shape)})")
            dim = int(raw_dim) % src.ndim
            expected = tuple(1 if a == dim else n for a, n in enumerate(src.shape) if a != dim or keepdim)
        if res.shape != expected:
            self.refuse(res_name, f"reducing {shape_text(src.shape)} over "
                        f"{'everything' if raw_dim is None else f'dim={raw_dim}'} gives {shape_text(expected)}, "
                        f"but {res_name} is {shape_text(res.shape)}")
        for name in extra[:1]:
            if self.beat[name].shape != res.shape:
                self.refuse(name, f"the indices have the values' shape {shape_text(res.shape)}; {name} is "
                            f"{shape_text(self.beat[name].shape)}")
        if src.numel == 0 and res.numel:
            self.refuse(src_name, f"{src_name} is empty ({shape_text(src.shape)}): no values reduce into "
                        f"{res_name}'s cells")

    def steps(self) -> int:
        """The source and the shape change; each of the first STEPPED result cells; the rest at once."""
        return 1 + min(STEPPED, len(self.drawn(self.spec.tensors[1]))) + 1

    def play(self, scene: Scene) -> Iterator[None]:
        src_name, res_name, *extra = self.spec.tensors
        src, res = self.beat[src_name], self.beat[res_name]
        op = str(self.option("op", "sum"))
        raw_dim = self.option("dim")
        dim = None if raw_dim is None else int(raw_dim) % src.ndim
        keepdim = bool(self.option("keepdim", False))
        main, bottom = self.split_area(0.9)
        sgrid = self.grid(src_name)
        rgrid = self.grid(res_name, role="output")
        outs = [rgrid]
        igrid = None
        if extra:
            igrid = self.grid(extra[0], role="selected")
            outs.append(igrid)
        arrow = Arrow(LEFT, RIGHT, color=theme.MUTED, buff=0)
        picture = VGroup(sgrid, arrow, VGroup(*outs).arrange(DOWN, buff=0.5)).arrange(RIGHT, buff=theme.GAP)
        self.fit(picture, main)
        hidden = list(rgrid.cells.values()) + (list(igrid.cells.values()) if igrid else [])
        hide(hidden)
        where = "everything" if dim is None else f"dim={dim}"
        lead = note(
            f"{op} over {where}{', keepdim=True' if keepdim else ''}: {'x'.join(map(str, src.shape))} -> "
            f"{'x'.join(map(str, res.shape)) or 'scalar'}"
            + (f" (axis {dim} kept with size 1)" if keepdim and dim is not None else ""),
            theme.MUTED,
        )
        bottom.fit(lead)
        scene.play(appear(sgrid), run_time=0.8)
        scene.play(FadeIn(arrow), *[appear(g) for g in outs], FadeIn(lead), run_time=0.6)
        yield
        drawn = [i for i in res.indices() if rgrid.has(i)]
        revealed: list = []
        lines = []
        for n, idx in enumerate(drawn):
            cells_idx = reduced_line(src, idx, dim, keepdim)
            terms = [src.label(*c, digits=self.digits) for c in cells_idx]
            result = res.label(*idx, digits=self.digits)
            record: list = [list(idx), [list(c) for c in cells_idx], result]
            shown_terms = ", ".join(terms[:MAX_TERMS]) + (", …" if len(terms) > MAX_TERMS else "")
            text = f"{op}({shown_terms}) = {result}"
            if igrid is not None:
                where_idx = self.beat[extra[0]].at(*idx)
                record.append(where_idx)
                text += f" at index {where_idx}"
            lines.append(record)
            if n >= STEPPED:
                continue
            cells = [sgrid.cell(*c) for c in cells_idx if sgrid.has(c)]
            eq = note(text, theme.ROLES["selected"], theme.NOTE_SIZE, font_mono=True, width=80)
            bottom.fit(eq)
            marks = [igrid.cell(*idx)] if igrid is not None and igrid.has(idx) else []
            if n == 0:  # the lead note leaves before the first equation comes: no cross-fade
                scene.play(FadeOut(lead), run_time=0.25)
            scene.play(glow(cells), FadeIn(eq), run_time=0.5)
            revealed += [rgrid.cell(*idx), *marks]
            scene.play(reveal([rgrid.cell(*idx), *marks]), run_time=0.4)
            yield
            scene.play(restore(cells, theme.ROLES["input"]), FadeOut(eq), run_time=0.3)
        self.shown["reductions"] = lines
        rest = [c for c in hidden if all(c is not r for r in revealed)]
        scene.play(reveal(rest), FadeIn(lead), run_time=0.6)
        yield
