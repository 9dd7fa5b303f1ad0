"""`Index`: the cells an index or slice selects glow in the source, then travel into the result."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from manim import DOWN, LEFT, RIGHT, Arrow, FadeIn, Scene, VGroup, Write

from scenes import theme
from scenes.anim import appear, fill, glow, note
from scenes.errors import VisualError
from scenes.mobjects.text import mono
from scenes.trace import TensorEntry, shape_text
from scenes.visuals.base import TensorVisual


@dataclass(frozen=True)
class Part:
    """One entry of an index: an int, a slice (the indices it takes), a list of ints (advanced
    indexing), None (a new axis of size 1) or `...`; `axis` is the source axis it reads (None for None)."""

    kind: str
    axis: int | None = None
    taken: tuple[int, ...] = ()


def _literal(node: ast.expr, tensors: dict[str, TensorEntry]) -> Any:
    """An index entry's value: ints, slices, None, `...`, lists of ints, `torch.tensor([...])`, or the
    name of a traced 1-D integer (or bool) tensor."""
    if isinstance(node, ast.Slice):
        return slice(*[None if b is None else _literal(b, tensors) for b in (node.lower, node.upper, node.step)])
    if isinstance(node, ast.Name) and node.id in tensors:
        t = tensors[node.id]
        if t.ndim != 1 or t.dtype.startswith(("float", "complex", "bfloat")):
            raise ValueError(f"{node.id} must be a 1-D integer or bool tensor to index with")
        values = t.flat()
        return [i for i, v in enumerate(values) if v] if t.dtype == "bool" else [int(v) for v in values]
    if isinstance(node, ast.Call) and node.args:  # torch.tensor([2, 0]), tensor([2, 0])
        return _literal(node.args[0], tensors)
    value = ast.literal_eval(node)
    if isinstance(value, list) and not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError("a list index must hold integers (nested lists are not drawn)")
    return value


def parse_index(text: str, shape: tuple[int, ...],
                tensors: dict[str, TensorEntry] | None = None) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Python index text over `shape` as (source index, result index) pairs, in result order, following
    torch's rules: ints drop an axis, slices keep it, None adds an axis of size 1, `...` stands for the
    axes not named, and lists (or traced index tensors) pick positions; several of those, and the ints
    among them, broadcast together into one axis, placed where they stand if adjacent, else in front."""
    tree = ast.parse(f"_[{text}]" if text.strip() else "_[...]", mode="eval").body
    assert isinstance(tree, ast.Subscript)
    nodes = tree.slice.elts if isinstance(tree.slice, ast.Tuple) else [tree.slice]
    values = [_literal(n, tensors or {}) for n in nodes]
    named = sum(1 for v in values if v is not None and v is not Ellipsis)
    if named > len(shape):
        raise ValueError(f"index {text!r} has more entries than the {len(shape)} axes")
    if Ellipsis in values:
        at = values.index(Ellipsis)
        values[at : at + 1] = [slice(None)] * (len(shape) - named)
    values += [slice(None)] * (len(shape) - sum(1 for v in values if v is not None))
    parts: list[Part] = []
    axis = 0
    for v in values:
        if v is None:
            parts.append(Part("none"))
            continue
        n = shape[axis]
        if isinstance(v, slice):
            parts.append(Part("slice", axis, tuple(range(*v.indices(n)))))
        else:
            picks = [v] if isinstance(v, int) else list(v)
            bad = [i for i in picks if not -n <= i < n]
            if bad:
                raise IndexError(f"index {bad[0]} is out of range for an axis of size {n}")
            parts.append(Part("int" if isinstance(v, int) else "list", axis, tuple(i % n for i in picks)))
        axis += 1
    return _pairs(parts)


def _pairs(parts: list[Part]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """torch's order: integers select first (dropping their axes); the remaining list indices broadcast
    into one result axis, where they stand when adjacent, else in front."""
    fixed = {p.axis: p.taken[0] for p in parts if p.kind == "int" and p.axis is not None}
    rest = [p for p in parts if p.kind != "int"]
    advanced = [i for i, p in enumerate(rest) if p.kind == "list"]
    lengths = {len(rest[i].taken) for i in advanced} - {1}
    if len(lengths) > 1:
        raise IndexError(f"index lists of lengths {sorted(lengths)} do not broadcast together")
    length = lengths.pop() if lengths else 1
    together = bool(advanced) and advanced == list(range(advanced[0], advanced[-1] + 1))
    axes: list[int] = []  # result axes: a position in `rest`, or -1 for the advanced axis
    for i, p in enumerate(rest):
        if together and i == advanced[0]:
            axes.append(-1)
        if p.kind in ("slice", "none"):
            axes.append(i)
    if advanced and not together:
        axes.insert(0, -1)
    sizes = [length if i < 0 else 1 if rest[i].kind == "none" else len(rest[i].taken) for i in axes]
    pairs = []
    for res in itertools.product(*[range(n) for n in sizes]):
        src = dict(fixed)
        for i, r in zip(axes, res, strict=True):
            for part in ([rest[j] for j in advanced] if i < 0 else [rest[i]]):
                if part.axis is not None:
                    src[part.axis] = part.taken[r if len(part.taken) > 1 else 0]
        pairs.append((tuple(src[a] for a in sorted(src)), tuple(res)))
    return pairs


def negative_ints(text: str) -> list[tuple[int, int]]:
    """(axis, value) of each negative integer entry of index text (for the "counts from the end" note)."""
    try:
        tree = ast.parse(f"_[{text}]", mode="eval").body
    except SyntaxError:
        return []
    assert isinstance(tree, ast.Subscript)
    nodes = tree.slice.elts if isinstance(tree.slice, ast.Tuple) else [tree.slice]
    out: list[tuple[int, int]] = []
    axis = 0
    for node in nodes:
        if isinstance(node, ast.Constant) and node.value is None:
            continue
        if isinstance(node, ast.Constant) and node.value is Ellipsis:
            return out  # axes after `...` depend on the shape; the note is for the plain cases
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            out.append((axis, -int(node.operand.value)))  # type: ignore[arg-type]
        axis += 1
    return out


class Index(TensorVisual):
    """Source with the index written under it; selected cells glow, then travel to the result."""

    takes: ClassVar[str] = "src, result"

    options: ClassVar[dict[str, str]] = {
        "index": "Python index text: '1, :', '::2', '-1', '0:2, 1:3', '..., 0', 'None, :', '[2, 0]', "
                 "':, idx' (idx: a traced integer tensor)",
    }

    def steps(self) -> int:
        """The source with the index; the selected cells glow; they travel into the result."""
        return 3

    def play(self, scene: Scene) -> Iterator[None]:
        src_name, res_name = self.spec.tensors[:2]
        src, res = self.beat[src_name], self.beat[res_name]
        text = str(self.option("index", ""))
        try:
            links = parse_index(text, src.shape, self.beat.tensors)
        except (ValueError, IndexError, SyntaxError) as exc:
            raise VisualError("Index", src_name, f"index {text!r}: {exc}") from None
        if len(links) != res.numel or any(not res.has(*r) and res.kept is None for _, r in links):
            raise VisualError("Index", res_name, f"{src_name}[{text}] has {len(links)} values in this drawing, "
                              f"but {res_name} is {shape_text(res.shape)}")
        self.shown["selected_cells"] = [list(s) for s, _ in links]
        self.shown["index"] = text

        main, bottom = self.split_area(1.1)
        sgrid = self.grid(src_name)
        rgrid = self.grid(res_name, role="output")
        arrow = Arrow(LEFT, RIGHT, color=theme.MUTED, buff=0)
        picture = VGroup(sgrid, arrow, rgrid).arrange(RIGHT, buff=theme.GAP)
        self.fit(picture, main)
        expr = mono(f"{src_name}[{text}]", theme.BODY_SIZE, theme.ROLES["selected"])
        lines: list[Any] = [expr]
        negatives = negative_ints(text)
        if negatives:
            axis, value = negatives[0]
            n = src.shape[axis]
            lines.append(note(f"{value} counts from the end: {n} - {-value} = {value % n}", theme.MUTED))
            self.shown["negative"] = [value, n, value % n]
        shares = res.storage == src.storage or res.storage == src_name
        lines.append(
            note("a view: shares memory with " + src_name if shares else "a copy: new memory", theme.MUTED)
        )
        self.shown["view"] = shares
        notes = VGroup(*lines).arrange(DOWN, buff=0.15)
        bottom.fit(notes)

        scene.play(appear(sgrid), Write(expr), run_time=1.0)
        yield
        selected = [sgrid.cell(*s) for s, _ in links if sgrid.has(s)]
        scene.play(glow(selected), *[FadeIn(m) for m in lines[1:-1]], run_time=0.8)
        yield
        scene.play(FadeIn(arrow), run_time=0.3)
        moves = self.pairs([(src_name, sgrid, s, res_name, rgrid, r) for s, r in links])
        fill(scene, moves, [rgrid], FadeIn(lines[-1]), tag_time=0.6)
        yield
