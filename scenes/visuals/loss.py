"""`Loss`: a loss function as torch computes it. Cross-entropy is `-log softmax(logits)[target]` per sample
(with class weights multiplied in and `ignore_index` rows greyed out); BCE-with-logits, MSE, L1 and Huber
are per element; then the reduction collapses the per-element losses into the sum and the mean, whose
denominator (the counted samples, or the summed weights) is torch's too. Every number is from the trace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from manim import DOWN, RIGHT, UP, FadeIn, Scene, VGroup

from scenes import theme
from scenes.anim import appear, flow, glow, hide, restore, reveal, sign
from scenes.errors import VisualError
from scenes.mobjects.caption import Caption
from scenes.mobjects.column import ColumnGrid, settle
from scenes.mobjects.tensor_grid import TensorGrid
from scenes.trace import format_number, shape_text
from scenes.visuals.base import TensorVisual

KINDS = {
    "cross_entropy": "cross-entropy",
    "bce_with_logits": "BCE with logits",
    "mse": "MSE",
    "l1": "L1",
    "huber": "Huber",
}
FORMULAS = {
    "bce_with_logits": "-[y·log σ(x) + (1 - y)·log(1 - σ(x))]",
    "mse": "(pred - target)²",
    "l1": "|pred - target|",
    "huber": "½d² where |d| < δ, else δ(|d| - ½δ), d = pred - target",
}
MAX_ROWS = 6


class Loss(TensorVisual):
    """`Loss("logits", "target", "per", "loss", kind="cross_entropy")`: inputs and targets, row beside row;
    for cross-entropy the log-probabilities with each target's entry picked; the per-element losses
    (torch's `reduction="none"`); then the reduction into `loss` (and `total`, when given, as the sum)."""

    takes: ClassVar[str] = "input, target, per_element, [loss]"

    options: ClassVar[dict[str, str]] = {
        "kind": "cross_entropy (default), bce_with_logits, mse, l1 or huber",
        "reduction": "what the last tensor is: mean (default), sum, or none (then give only three names)",
        "logp": "cross-entropy: the log_softmax(logits) tensor, drawn with each target's entry picked",
        "weight": "cross-entropy: the class-weight tensor (C,), drawn above the classes",
        "ignore_index": "cross-entropy: the target value whose rows are greyed and not counted",
        "total": "the sum of the per-element losses (a 0-D tensor): the mean is drawn as total / count",
        "count": "name of a tensor or value: the mean's denominator torch used (samples counted, or weights)",
        "digits": "decimals shown for floats (default 2)",
    }

    # checks ------------------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        kind = str(self.option("kind", "cross_entropy"))
        if kind not in KINDS:
            raise VisualError("Loss", None, f"kind {kind!r} is not one of {', '.join(KINDS)}")
        return kind

    @property
    def reduction(self) -> str:
        reduction = str(self.option("reduction", "mean"))
        if reduction not in ("mean", "sum", "none"):
            raise VisualError("Loss", None, f"reduction {reduction!r} is not mean, sum or none")
        return reduction

    def names(self) -> tuple[str, str, str, str | None]:
        names = self.spec.tensors
        wanted = 3 if self.reduction == "none" else 4
        if len(names) != wanted:
            raise VisualError("Loss", None, f"reduction={self.reduction!r} takes {wanted} names (input, target,"
                              f" per-element losses{'' if wanted == 3 else ', the reduced loss'}); got {len(names)}")
        return names[0], names[1], names[2], names[3] if wanted == 4 else None

    def check(self) -> None:
        x_name, t_name, per_name, loss_name = self.names()
        x, target, per = self.beat[x_name], self.beat[t_name], self.beat[per_name]
        for name in (x_name, t_name, per_name):
            entry = self.beat[name]
            if entry.numel == 0 or entry.ndim > 2 or entry.is_complex or entry.truncated:
                raise VisualError("Loss", name, f"draws 1-D or 2-D real tensors with values, got a "
                                  f"{shape_text(entry.shape)} {entry.dtype} tensor")
        if self.kind == "cross_entropy":
            if x.ndim != 2 or target.shape != (x.shape[0],) or not target.dtype.startswith(("int", "uint")):
                raise VisualError("Loss", t_name, f"cross-entropy draws (N, C) logits with N class indices; got "
                                  f"{shape_text(x.shape)} and a {shape_text(target.shape)} {target.dtype} target")
            ignore = self.option("ignore_index")
            stray = sorted({int(v) for v in target.flat() if not 0 <= int(v) < x.shape[1]} - {ignore})
            if stray:
                raise VisualError("Loss", t_name, f"targets {stray} are not classes 0..{x.shape[1] - 1}; "
                                  f"pass ignore_index= to draw such rows as ignored")
            for name in (self.option("logp"),):
                if name is not None and self.beat[str(name)].shape != x.shape:
                    raise VisualError("Loss", str(name), f"log-probabilities must be {shape_text(x.shape)}")
            weight = self.option("weight")
            if weight is not None and self.beat[str(weight)].shape != (x.shape[1],):
                raise VisualError("Loss", str(weight), f"class weights must be ({x.shape[1]},)")
        elif target.shape != x.shape:
            raise VisualError("Loss", t_name, f"{self.kind} compares tensors of one shape; got "
                              f"{shape_text(x.shape)} and {shape_text(target.shape)}")
        expected = (x.shape[0],) if self.kind == "cross_entropy" else x.shape
        if per.shape != expected:
            raise VisualError("Loss", per_name, f"the per-element losses (reduction='none') are "
                              f"{shape_text(expected)}, got {shape_text(per.shape)}")
        for reduced in (loss_name, self.option("total")):
            if reduced is not None and self.beat[str(reduced)].ndim != 0:
                raise VisualError("Loss", str(reduced), "a reduced loss is one number (a 0-D tensor)")

    def steps(self) -> int:
        n = 2 + (self.kind == "cross_entropy" and self.option("logp") is not None)
        if self.reduction != "none":
            n += 1 + (self.option("total") is not None and self.reduction == "mean")
        return n

    # drawing -----------------------------------------------------------------------------------------
    def entry_grid(self, name: str, role: str = "input", **kwargs: Any) -> TensorGrid:
        """A column for 1-D tensors (entry i beside sample i), a grid otherwise; shown values recorded."""
        entry = self.beat[name]
        grid: TensorGrid
        if entry.ndim == 1:
            grid = ColumnGrid(entry, role=role, digits=self.digits, max_rows=MAX_ROWS, show_badge=False, **kwargs)
        else:
            grid = TensorGrid(entry, role=role, digits=self.digits, max_rows=MAX_ROWS, show_badge=False, **kwargs)
        self.shown.setdefault(name, {}).update(grid.shown_values())
        return grid

    def cell(self, grid: TensorGrid, index: tuple[int, ...]) -> Any:
        return grid.cells.get((index[0], 0) if isinstance(grid, ColumnGrid) else index)

    def ignored(self) -> list[int]:
        """Samples whose target is `ignore_index` (cross-entropy only)."""
        ignore = self.option("ignore_index")
        if ignore is None or self.kind != "cross_entropy":
            return []
        target = self.beat[self.spec.tensors[1]]
        return [i for i in range(target.shape[0]) if int(target.at(i)) == int(ignore)]

    def play(self, scene: Scene) -> Iterator[None]:
        self.check()
        x_name, t_name, per_name, loss_name = self.names()
        main, bottom = self.split_area(0.9)
        self.caption = Caption(bottom)
        ce = self.kind == "cross_entropy"
        xg = self.entry_grid(x_name)
        tg = self.entry_grid(t_name, role="selected")
        parts: list[Any] = [VGroup(xg, tg).arrange(RIGHT, buff=0.25)]
        lp_name = self.option("logp") if ce else None
        lpg = self.entry_grid(str(lp_name)) if lp_name is not None else None
        wg = None
        if ce and self.option("weight") is not None:
            wg = TensorGrid(self.beat[str(self.option("weight"))], role="selected", digits=self.digits,
                            show_badge=False, show_indices=False)
            self.shown.setdefault(str(self.option("weight")), {}).update(wg.shown_values())
        if lpg is not None:
            parts += [sign("→", theme.MUTED), lpg]
        perg = self.entry_grid(per_name, role="output")
        parts += [sign("→", theme.MUTED), perg]
        totg = lossg = None
        reduced: list[Any] = []
        if self.option("total") is not None and self.reduction != "none":
            totg = self.entry_grid(str(self.option("total")), role="output", tag=f"sum  {self.option('total')}")
            reduced += [totg, sign("↓", theme.MUTED)]
        if loss_name is not None:
            lossg = self.entry_grid(loss_name, role="output", tag=f"{self.reduction}  {loss_name}")
            reduced.append(lossg)
            parts += [sign("→", theme.MUTED), VGroup(*reduced).arrange(DOWN, buff=0.2)]
        picture = VGroup(*parts).arrange(RIGHT, buff=0.3)
        if wg is not None:  # the class weights stand above the classes they weigh
            above = lpg if lpg is not None else xg
            wg.match_width(above.body).next_to(above, UP, buff=0.15)
            picture.add(wg)
        self.fit(picture, main)
        later = [m for part in parts[1:] for m in (part if part is parts[-1] and reduced else [part])]
        hide([c for g in (lpg, perg, totg, lossg) if g is not None for c in g.cells.values()])
        kind = KINDS[self.kind]
        what = f"{shape_text(self.beat[x_name].shape)} {x_name} and their {t_name}"
        scene.play(appear(xg), appear(tg), *([appear(wg)] if wg else []), *self.caption.swap(f"{kind}: {what}"),
                   run_time=0.9)
        scene.play(*[appear(m) if isinstance(m, TensorGrid) else FadeIn(m) for m in later], run_time=0.5)
        settle(scene, xg, tg, wg, lpg, perg, totg, lossg)
        self.grey(scene, [xg, tg, lpg, perg])
        yield
        if lpg is not None:
            yield from self.pick(scene, lpg, tg)
        yield from self.per_element(scene, xg, tg, lpg, perg)
        if lossg is not None:
            yield from self.reduce(scene, perg, totg, lossg)

    def grey(self, scene: Scene, grids: list[TensorGrid | None]) -> None:
        """Ignored samples: every cell of their row dims to the ghost colour, and stays so."""
        rows = self.ignored()
        self.shown["ignored"] = rows
        cells = [c for g in grids if g is not None for i, c in g.cells.items() if i[0] in rows]
        for c in cells:
            c[0].set_stroke(theme.ROLES["ghost"]).set_fill(theme.BACKGROUND)
            c[1].set_color(theme.ROLES["ghost"])
        if rows:
            t_name = self.spec.tensors[1]
            said = self.caption.swap(f"{t_name} = {self.option('ignore_index')} (ignore_index): row"
                                     f"{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows))} ignored")
            scene.play(*said, run_time=0.5)

    def pick(self, scene: Scene, lpg: TensorGrid, tg: TensorGrid) -> Iterator[None]:
        """log_softmax of each row appears; the target's entry of every counted row glows."""
        target = self.beat[self.spec.tensors[1]]
        rows = [i for i in range(target.shape[0]) if i not in self.ignored()]
        picked = [(i, int(target.at(i))) for i in rows]
        self.shown["picked"] = [[i, t] for i, t in picked]
        cells = [lpg.cells[p] for p in picked if p in lpg.cells]
        said = self.caption.swap("log_softmax over each row; the target picks one entry per row")
        scene.play(reveal(lpg.cells.values()), *said, run_time=0.8)
        scene.play(glow(cells), run_time=0.5)
        yield

    def per_element(self, scene: Scene, xg: TensorGrid, tg: TensorGrid, lpg: TensorGrid | None,
                    perg: TensorGrid) -> Iterator[None]:
        """torch's per-element losses fill in; the first counted one is written out with its numbers."""
        x_name, t_name, per_name, _ = self.names()
        x, target, per = self.beat[x_name], self.beat[t_name], self.beat[per_name]
        d = self.digits
        ignored = self.ignored()
        counted = [i for i in per.indices() if i[0] not in ignored]
        first = counted[0] if counted else per.indices()[0]
        if self.kind == "cross_entropy":
            i = first[0]
            t = int(target.at(i))
            weight = self.option("weight")
            w = f"{self.beat[str(weight)].label(t, digits=d)}·" if weight is not None else ""
            wsym = f"{weight}[{t}]·" if weight is not None else ""
            lp = self.option("logp")
            if lp is not None:
                text = (f"{per_name}[{i}] = -{wsym}logp[{i}, {t}] = -{w}({self.beat[str(lp)].label(i, t, digits=d)})"
                        f" = {per.label(i, digits=d)}")
            else:
                text = f"{per_name}[{i}] = -{wsym}log softmax({x_name}[{i}])[{t}] = {per.label(i, digits=d)}"
        else:
            where = ", ".join(map(str, first))
            text = (f"{FORMULAS[self.kind]}:  {x_name}[{where}] = {x.label(*first, digits=d)},"
                    f" {t_name}[{where}] = {target.label(*first, digits=d)} -> {per.label(*first, digits=d)}")
        self.shown["worked"] = {"index": list(first), "text": text}
        said = self.caption.swap(text, theme.ROLES["selected"], mono=True)
        sources = [self.cell(xg if lpg is None else lpg, (first[0], int(target.at(first[0])))
                   if self.kind == "cross_entropy" else first), self.cell(tg, first)]
        lit = [c for c in sources if c is not None]
        scene.play(glow(lit), *said, run_time=0.6)
        scene.play(reveal([self.cell(perg, i) for i in per.indices() if self.cell(perg, i) is not None]),
                   run_time=0.8)
        yield
        if lpg is None:
            scene.play(restore(lit[:1], xg.role_color), restore(lit[1:], tg.role_color), run_time=0.3)

    def reduce(self, scene: Scene, perg: TensorGrid, totg: TensorGrid | None, lossg: TensorGrid) -> Iterator[None]:
        """The per-element losses flow into the sum (and the sum into the mean, over torch's count)."""
        _, _, per_name, loss_name = self.names()
        assert loss_name is not None
        per, loss = self.beat[per_name], self.beat[loss_name]
        d = self.digits
        ignored = self.ignored()
        counted = [i for i in per.indices() if i[0] not in ignored]
        terms = [per.label(*i, digits=d) for i in counted]
        listed = " + ".join(terms[:5]) + (" + …" if len(terms) > 5 else "")
        first = totg if totg is not None else lossg
        pairs = [(self.cell(perg, i), first.cells[()]) for i in counted if self.cell(perg, i) is not None]
        count = self.option("count")
        count_text = self.count_text(str(count)) if count is not None else None
        if totg is not None or self.reduction == "sum":
            name = str(self.option("total")) if totg is not None else loss_name
            text = f"sum = {listed} = {self.beat[name].label(digits=d)}"
        else:
            over = count_text or str(len(counted))
            text = f"mean = ({listed}) / {over} = {loss.label(digits=d)}"
        into = str(self.option("total")) if totg is not None else loss_name
        self.shown["reduced"] = [{"terms": terms, "into": into, "result": self.beat[into].label(digits=d)}]
        scene.play(*self.caption.swap(text, theme.ROLES["output"], mono=True), run_time=0.5)
        flow(scene, pairs, run_time=1.0, lag=0.1)
        scene.play(reveal([first.cells[()]]), run_time=0.3)
        yield
        if totg is None:
            return
        total = self.beat[str(self.option("total"))]
        over = count_text or str(len(counted))
        why = ""
        if self.option("weight") is not None:
            why = " (the weights of the counted targets)"
        elif ignored:
            why = " (ignored rows not counted)"
        text = f"mean = {total.label(digits=d)} / {over} = {loss.label(digits=d)}{why}"
        self.shown["reduced"].append({"terms": [total.label(digits=d)], "count": over, "into": loss_name,
                                      "result": loss.label(digits=d)})
        scene.play(*self.caption.swap(text, theme.ROLES["output"], mono=True), run_time=0.5)
        flow(scene, [(totg.cells[()], lossg.cells[()])], run_time=0.8)
        scene.play(reveal([lossg.cells[()]]), run_time=0.3)
        yield

    def count_text(self, name: str) -> str:
        """The mean's denominator as the trace holds it (a 0-D tensor or a number)."""
        if name in self.beat.tensors:
            entry = self.beat[name]
            return entry.label(digits=self.digits)
        value = self.text_value(name)
        return format_number(value, "int64" if isinstance(value, int) else "float32", self.digits)
