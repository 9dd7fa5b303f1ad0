"""`Norm`: which cells share one mean and variance in BatchNorm, LayerNorm, RMSNorm, GroupNorm and InstanceNorm,
on (B, T, D) or (N, C, H, W) data; the statistics torch computed and the normalised result; in eval mode the
running statistics in their place; and the running-statistics update. Every number comes from the trace."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from manim import DOWN, RIGHT, Scene, VGroup

from scenes import theme
from scenes.anim import appear, glow, hide, restore, reveal
from scenes.errors import VisualError
from scenes.mobjects.caption import Caption
from scenes.mobjects.column import settle
from scenes.mobjects.tensor_grid import TensorGrid
from scenes.trace import TensorEntry, broadcast_index, format_number, shape_text
from scenes.visuals.base import Area, TensorVisual

KINDS = {"batch": "BatchNorm", "layer": "LayerNorm", "rms": "RMSNorm", "group": "GroupNorm",
         "instance": "InstanceNorm"}
LETTERS = {1: "D", 2: "NC", 3: "BTD", 4: "NCHW"}
MAX_BLOCKS = 3
Index = tuple[int, ...]


def group_of(kind: str, index: Index, x_shape: Index, s_shape: Index, channel: int) -> Index:
    """The statistics entry that cell `index` of x is normalised with: torch's own layout of the
    statistics decides (keepdim shapes broadcast; otherwise the layout each norm's statistics have)."""
    if len(s_shape) == len(x_shape):
        return broadcast_index(index, s_shape)
    if kind == "batch":
        return (index[channel],)
    if kind == "instance":
        return (index[0], index[1])
    if kind == "group":
        return (index[0], index[1] * s_shape[1] // x_shape[1])
    return index[: len(s_shape)]


def signed(text: str) -> str:
    """A negative factor in brackets: 0.1·(-2.84), not 0.1·-2.84."""
    return f"({text})" if text.startswith("-") else text


def place(x_shape: Index, block: int) -> Callable[[int, int], Index]:
    """For block `block` of x: (row, column) in the drawn block -> x's own index."""
    if len(x_shape) == 1:
        return lambda r, c: (c,)
    if len(x_shape) == 2:
        return lambda r, c: (r, c)
    if len(x_shape) == 3:
        return lambda r, c: (block, r, c)
    w = x_shape[3]
    return lambda r, c: (block, r, c // w, c % w)


def blocks(x: TensorEntry) -> list[tuple[str, TensorEntry, Callable[[int, int], Index]]]:
    """x cut into 2-D blocks to draw: one per sample for 3-D and 4-D data (rows: axis 1; columns: the rest,
    flattened), the tensor itself for 1-D and 2-D. Each block comes with its title (name and the tensor's own
    shape: `x[0]  3x(2x2)` for a (C, H, W) sample whose H x W image is a row) and its map (row, col) -> x's index."""
    name = x.name
    if x.ndim == 1:
        return [(f"{name}  {shape_text(x.shape)}",
                 TensorEntry(name, [x.values], (1, x.shape[0]), x.dtype, x.device, (x.shape[0], 1)),
                 place(x.shape, 0))]
    if x.ndim == 2:
        return [(f"{name}  {shape_text(x.shape)}", x, place(x.shape, 0))]
    out = []
    for b in range(min(x.shape[0], MAX_BLOCKS)):
        sub = x.select(b)
        title = f"{name}[{b}]  {shape_text(sub.shape)}"
        if sub.ndim == 3:  # (C, H, W) -> (C, H*W): the title keeps the real shape, the image in brackets
            hw = sub.shape[1] * sub.shape[2]
            title = f"{name}[{b}]  {sub.shape[0]}x({sub.shape[1]}x{sub.shape[2]})"
            values = [[v for row in plane for v in row] for plane in sub.values]
            sub = TensorEntry(f"{name}[{b}]", values, (sub.shape[0], hw), x.dtype, x.device, (hw, 1))
        out.append((title, sub, place(x.shape, b)))
    return out


class Norm(TensorVisual):
    """`Norm("x", "mean", "var", "y", kind="layer")` (RMSNorm: `Norm("x", "rms", "y", kind="rms")`): x in
    blocks, one per sample; the cells that share statistics take one colour; torch's statistics appear in
    those colours, one group worked out; then the normalised y. `mode="eval"` says the statistics are the
    running ones; `mode="update"` draws `running_before, batch_stat, running_after` (mean, then var) and the
    momentum update."""

    takes: ClassVar[str] = "x, statistics..., y"

    options: ClassVar[dict[str, str]] = {
        "kind": "batch, layer (default), rms, group or instance",
        "mode": "train (default: this batch's statistics), eval (the running statistics), or update"
        " (old running stat, batch stat, new running stat; three more for the variance)",
        "channel": "batch norm: the axis of x holding the channels (default 1; -1 for (B, T, D) features)",
        "axes": "letters naming x's axes, e.g. 'BTD' or 'NCHW' (default by rank)",
        "momentum": "update mode: the momentum, a number or the name of a beat value (default 0.1)",
        "digits": "decimals shown for floats (default 2)",
    }

    @property
    def kind(self) -> str:
        kind = str(self.option("kind", "layer"))
        if kind not in KINDS:
            raise VisualError("Norm", None, f"kind {kind!r} is not one of {', '.join(KINDS)}")
        return kind

    @property
    def mode(self) -> str:
        mode = str(self.option("mode", "train"))
        if mode not in ("train", "eval", "update"):
            raise VisualError("Norm", None, f"mode {mode!r} is not train, eval or update")
        return mode

    def steps(self) -> int:
        if self.mode == "update":
            return 1 + len(self.spec.tensors) // 3
        return 4

    # checks ------------------------------------------------------------------------------------------
    def check(self) -> tuple[TensorEntry, list[TensorEntry], TensorEntry, dict[Index, Index], str]:
        names = self.spec.tensors
        wanted = (3,) if self.kind == "rms" else (4,)
        if len(names) not in wanted:
            takes = "one statistic (the rms)" if self.kind == "rms" else "two statistics (mean, var)"
            raise VisualError("Norm", None, f"{KINDS[self.kind]} takes x, {takes} and y; got {len(names)} names")
        x, y = self.beat[names[0]], self.beat[names[-1]]
        stats = [self.beat[n] for n in names[1:-1]]
        if not 1 <= x.ndim <= 4 or x.numel == 0 or x.truncated or x.is_complex:
            raise VisualError("Norm", names[0], f"draws 1-D to 4-D real data with its values, got "
                              f"{shape_text(x.shape)} {x.dtype}")
        if y.shape != x.shape:
            raise VisualError("Norm", names[-1], f"the result has x's shape {shape_text(x.shape)}, "
                              f"got {shape_text(y.shape)}")
        letters = str(self.option("axes", LETTERS[x.ndim]))
        if len(letters) != x.ndim:
            raise VisualError("Norm", names[0], f"axes {letters!r} name {len(letters)} axes; x has {x.ndim}")
        channel = int(self.option("channel", 1 if x.ndim > 1 else 0)) % x.ndim
        groups: dict[Index, Index] = {}
        for s in stats:
            if s.shape != stats[0].shape:
                raise VisualError("Norm", s.name, f"{s.name} and {stats[0].name} differ in shape")
        s_shape = stats[0].shape
        if self.kind in ("group", "instance") and (x.ndim < 3 or (len(s_shape) != x.ndim and len(s_shape) != 2)):
            raise VisualError("Norm", stats[0].name, f"{KINDS[self.kind]} statistics are (N, groups) for "
                              f"(N, C, ...) data; got {shape_text(s_shape)} for {shape_text(x.shape)}")
        if self.kind == "group" and len(s_shape) == 2 and x.shape[1] % s_shape[1]:
            raise VisualError("Norm", stats[0].name, f"{s_shape[1]} groups do not divide {x.shape[1]} channels")
        for i in x.indices():
            g = group_of(self.kind, i, x.shape, s_shape, channel)
            if len(g) != len(s_shape) or not all(0 <= a < n for a, n in zip(g, s_shape, strict=True)):
                raise VisualError("Norm", stats[0].name, f"statistics of shape {shape_text(s_shape)} do not fit "
                                  f"{KINDS[self.kind]} on {shape_text(x.shape)} data")
            groups[i] = g
        if len(set(groups.values())) != stats[0].numel:
            raise VisualError("Norm", stats[0].name, f"{stats[0].numel} statistics for "
                              f"{len(set(groups.values()))} groups of x")
        return x, stats, y, groups, letters

    def describe(self, x: TensorEntry, groups: dict[Index, Index], letters: str) -> str:
        """Which cells share statistics, in words: per which axes, over which."""
        first = next(iter(groups.values()))
        size = sum(1 for g in groups.values() if g == first)
        count = len(set(groups.values()))
        varying = [a for a in range(x.ndim) if len({groups[i] for i in x.indices() if all(
            i[b] == 0 for b in range(x.ndim) if b != a)}) > 1]
        per = ", ".join(letters[a] for a in varying) or "all"
        over = ", ".join(letters[a] for a in range(x.ndim) if a not in varying)
        what = "one mean and variance" if self.kind != "rms" else "one root mean square"
        if self.kind == "group":
            per_group = x.shape[1] // len({g[1] for g in groups.values()})
            return (f"GroupNorm: {what} per sample and group of {per_group} channels, over those channels and "
                    f"{', '.join(letters[2:])}: {count} groups of {size} values")
        return f"{KINDS[self.kind]}: {what} per {per}, over {over}: {count} groups of {size} values"

    # drawing -----------------------------------------------------------------------------------------
    def block_grids(self, x: TensorEntry, role: str) -> tuple[list[TensorGrid], dict[Index, Any]]:
        """Blocks of x (or y) as grids; cells keyed by the tensor's own index; shown values recorded."""
        group: list[TensorGrid] = []
        cells: dict[Index, Any] = {}
        for tag, entry, where in blocks(x):
            grid = TensorGrid(entry, role=role, digits=self.digits, tag=tag, show_badge=False)
            for (r, c), cell in grid.cells.items():
                index = where(r, c)
                cells[index] = cell
                self.shown.setdefault(x.name, {})[",".join(map(str, index))] = grid.shown[(r, c)]
            group.append(grid)
        return group, cells

    def play(self, scene: Scene) -> Iterator[None]:
        if self.mode == "update":
            yield from self.update(scene)
            return
        x, stats, y, groups, letters = self.check()
        main, bottom = self.split_area(0.9)
        self.caption = Caption(bottom)
        xg, xcells = self.block_grids(x, "input")
        yg, ycells = self.block_grids(y, "output")
        sgrids = [TensorGrid(s, role="selected", digits=self.digits, show_badge=False) for s in stats]
        for s, g in zip(stats, sgrids, strict=True):
            self.shown.setdefault(s.name, {}).update(g.shown_values())
        stat_col = VGroup(*sgrids).arrange(DOWN, buff=0.35)
        sides = [VGroup(*xg), VGroup(*yg)]
        picture = self.arrange(sides, stat_col, main)
        self.fit(picture, main)
        order = list(dict.fromkeys(groups.values()))
        colour = {g: theme.SERIES[k % len(theme.SERIES)] for k, g in enumerate(order)}
        self.shown["groups"] = {",".join(map(str, i)): list(g) for i, g in groups.items() if i in xcells}
        hide(list(ycells.values()) + [c for g in sgrids for c in g.cells.values()])
        what = f"{x.name}: {shape_text(x.shape)} ({', '.join(letters)})"
        scene.play(*[appear(g) for g in xg], *self.caption.swap(what), run_time=0.9)
        settle(scene, *xg)
        yield
        painted = [cell[0].animate.set_stroke(colour[groups[i]], width=3).set_fill(colour[groups[i]], opacity=0.3)
                   for i, cell in xcells.items()]
        text = self.describe(x, groups, letters)
        if self.mode == "eval":
            text = f"eval mode: {KINDS[self.kind]} uses its running statistics, one per {letters[self.channel(x)]}"
        scene.play(*painted, *self.caption.swap(text), run_time=1.0)
        yield
        yield from self.statistics(scene, x, stats, sgrids, groups, xcells, colour, order)
        yield from self.result(scene, x, stats, y, yg, ycells, groups)

    @staticmethod
    def arrange(sides: list[VGroup], middle: VGroup, area: Area) -> VGroup:
        """x's blocks, the statistics, y's blocks in a row; blocks stacked or side by side, whichever lets
        the whole picture be drawn largest."""
        def scale(direction: Any) -> float:
            for side in sides:
                side.arrange(direction, buff=0.35 if direction is DOWN else 0.45)
            width = sides[0].width + middle.width + sides[1].width + 2 * 0.6
            height = max(sides[0].height, middle.height, sides[1].height)
            return min(area.width / width, area.height / height)

        best = max((DOWN, RIGHT), key=scale)
        scale(best)
        return VGroup(sides[0], middle, sides[1]).arrange(RIGHT, buff=0.6)

    def channel(self, x: TensorEntry) -> int:
        return int(self.option("channel", 1 if x.ndim > 1 else 0)) % x.ndim

    def statistics(self, scene: Scene, x: TensorEntry, stats: list[TensorEntry], sgrids: list[TensorGrid],
                   groups: dict[Index, Index], xcells: dict[Index, Any], colour: dict[Index, str],
                   order: list[Index]) -> Iterator[None]:
        """torch's statistics appear in their groups' colours; the first group is worked out."""
        anims = []
        for grid in sgrids:
            for index, cell in grid.cells.items():
                anims.append(cell[0].animate.set_stroke(colour[index], width=3).set_fill(colour[index], opacity=0.3))
        g0 = order[0]
        members = [i for i, g in groups.items() if g == g0]
        values = [x.label(*i, digits=self.digits) for i in members]
        listed = ", ".join(values[:4]) + (", …" if len(values) > 4 else "")
        results = ", ".join(f"{s.name} = {s.label(*g0, digits=self.digits)}" for s in stats)
        source = "running, from training" if self.mode == "eval" else f"over {listed}"
        self.shown["worked_group"] = {"group": list(g0), "members": [list(i) for i in members],
                                      "stats": {s.name: s.label(*g0, digits=self.digits) for s in stats}}
        text = f"{results}   ({source})"
        lit = [xcells[i] for i in members if i in xcells]
        scene.play(*[appear(g) for g in sgrids], run_time=0.4)
        settle(scene, *sgrids)
        scene.play(reveal([c for g in sgrids for c in g.cells.values()]), *anims, run_time=0.8)
        scene.play(glow(lit, colour[g0], 0.6), *self.caption.swap(text, colour[g0], mono=True), run_time=0.6)
        yield
        scene.play(restore(lit, colour[g0], 0.3), run_time=0.3)
        for cell in lit:
            cell[0].set_fill(colour[g0], opacity=0.3)

    def result(self, scene: Scene, x: TensorEntry, stats: list[TensorEntry], y: TensorEntry, yg: list[TensorGrid],
               ycells: dict[Index, Any], groups: dict[Index, Index]) -> Iterator[None]:
        """The normalised y, one cell written out with torch's values."""
        i = next(iter(ycells))
        g = groups[i]
        d = self.digits
        xv, yv = x.label(*i, digits=d), y.label(*i, digits=d)
        where = ",".join(map(str, i))
        if self.kind == "rms":
            text = f"{y.name}[{where}] = {xv} / {stats[0].label(*g, digits=d)} = {yv}"
        else:
            m, v = (s.label(*g, digits=d) for s in stats)
            text = f"{y.name}[{where}] = ({xv} - {signed(m)}) / √({v} + eps) = {yv}"
        self.shown["worked_cell"] = {"index": list(i), "group": list(g), "text": text}
        scene.play(*[appear(grid) for grid in yg], *self.caption.swap(text, theme.ROLES["output"], mono=True),
                   run_time=0.6)
        settle(scene, *yg)
        scene.play(reveal(ycells.values()), run_time=0.8)
        yield

    # the running-statistics update -------------------------------------------------------------------
    def momentum(self) -> str:
        raw = self.option("momentum", 0.1)
        if isinstance(raw, str):
            value = self.text_value(raw)
            return format_number(value, "float32", self.digits) if not isinstance(value, str) else value
        return format_number(raw, "float32", self.digits)

    def update(self, scene: Scene) -> Iterator[None]:
        """`new = (1 - momentum) · old + momentum · batch`, per channel, for the mean (and the variance)."""
        names = self.spec.tensors
        if len(names) not in (3, 6):
            raise VisualError("Norm", None, "update mode takes old, batch, new (then the same for the variance); "
                              f"got {len(names)} names")
        triples = [names[k : k + 3] for k in range(0, len(names), 3)]
        for triple in triples:
            shapes = {self.beat[n].shape for n in triple}
            if len(shapes) != 1 or self.beat[triple[0]].ndim != 1:
                raise VisualError("Norm", triple[0], f"running statistics are one value per channel; got "
                                  f"{', '.join(shape_text(self.beat[n].shape) for n in triple)}")
        m = self.momentum()
        main, bottom = self.split_area(0.9)
        self.caption = Caption(bottom)
        rows: list[list[TensorGrid]] = [
            [self.grid(old), self.grid(batch, role="selected"), self.grid(new, role="output")]
            for old, batch, new in triples
        ]
        picture = VGroup(*[VGroup(*r).arrange(RIGHT, buff=0.6) for r in rows]).arrange(DOWN, buff=0.5)
        self.fit(picture, main)
        hide([c for r in rows for c in r[2].cells.values()])
        self.shown["momentum"] = m
        scene.play(*[appear(g) for r in rows for g in r], *self.caption.swap(
            f"training step: the batch's statistics, and the running ones kept in buffers (momentum {m})"),
            run_time=0.9)
        settle(scene, *[g for r in rows for g in r])
        yield
        self.shown["updates"] = []
        for (old, batch, new), row in zip(triples, rows, strict=True):
            o, b, n = (self.beat[t] for t in (old, batch, new))
            lines = [[o.label(c, digits=self.digits), b.label(c, digits=self.digits), n.label(c, digits=self.digits)]
                     for c in range(o.shape[0]) if row[2].has((c,))]
            self.shown["updates"].append({"names": [old, batch, new], "values": lines})
            c0 = lines[0]
            text = f"{new}[0] = (1 - {m})·{signed(c0[0])} + {m}·{signed(c0[1])} = {c0[2]}"
            lit = [row[0].cell(0), row[1].cell(0)]
            scene.play(glow(lit), *self.caption.swap(text, theme.ROLES["output"], mono=True), run_time=0.6)
            scene.play(reveal(row[2].cells.values()), run_time=0.8)
            yield
            scene.play(restore(lit[:1], row[0].role_color), restore(lit[1:], row[1].role_color), run_time=0.3)

