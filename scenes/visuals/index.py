"""`Index`: the cells an index or slice selects glow in the source, then travel into the result."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, ClassVar

from manim import DOWN, LEFT, RIGHT, Arrow, FadeIn, Scene, VGroup, Write

from scenes import theme
from scenes.anim import appear, fill, glow, note
from scenes.mobjects.text import mono
from scenes.visuals.base import TensorVisual


def parse_index(text: str, shape: tuple[int, ...]) -> tuple[list[list[int]], list[bool]]:
    """Python index text (`"1, :"`, `"::2"`, `"-1"`, `"0:2, 1:3"`) over `shape`: the source indices taken
    along each axis, and whether that axis stays in the result (slices keep it, integers drop it)."""
    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    if "..." in parts:
        at = parts.index("...")
        parts[at : at + 1] = [":"] * (len(shape) - len(parts) + 1)
    parts += [":"] * (len(shape) - len(parts))
    if len(parts) > len(shape):
        raise ValueError(f"index {text!r} has more entries than the {len(shape)} axes")
    taken: list[list[int]] = []
    kept: list[bool] = []
    for part, n in zip(parts, shape, strict=True):
        if ":" in part:
            bounds = [int(b) if b.strip() else None for b in part.split(":")]
            taken.append(list(range(*slice(*bounds).indices(n))))
            kept.append(True)
        else:
            i = int(part)
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of range for an axis of size {n}")
            taken.append([i % n])
            kept.append(False)
    return taken, kept


class Index(TensorVisual):
    """Source with the index written under it; selected cells glow, then travel to the result."""

    options: ClassVar[dict[str, str]] = {
        "index": "Python index text: '1, :', '::2', '-1', '0:2, 1:3', '..., 0'",
    }

    def steps(self) -> int:
        """The source with the index; the selected cells glow; they travel into the result."""
        return 3

    def play(self, scene: Scene) -> Iterator[None]:
        src_name, res_name = self.spec.tensors[:2]
        src, res = self.beat[src_name], self.beat[res_name]
        text = str(self.option("index", ""))
        taken, kept = parse_index(text, src.shape)
        links = []
        for combo in itertools.product(*taken):
            # position of this source index in the result: its rank along each kept axis
            res_idx = tuple(taken[a].index(combo[a]) for a in range(len(combo)) if kept[a])
            links.append((combo, res_idx))
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
        negatives = [p.strip() for p in text.split(",") if p.strip().startswith("-") and ":" not in p]
        if negatives:
            axis = [p.strip() for p in text.split(",")].index(negatives[0])
            n = src.shape[axis]
            lines.append(
                note(
                    f"{negatives[0]} counts from the end: {n} {negatives[0].replace('-', '- ')} = "
                    f"{int(negatives[0]) % n}",
                    theme.MUTED,
                )
            )
            self.shown["negative"] = [int(negatives[0]), n, int(negatives[0]) % n]
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
