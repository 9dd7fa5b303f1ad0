"""Verbs shared by the visuals: make things appear, glow, flow from cell to cell, and notes to read.

Kept out of `scenes/visuals/` on purpose: every file there is a visual name lesson scripts can use.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

from manim import (
    DOWN,
    LEFT,
    Animation,
    AnimationGroup,
    FadeIn,
    LaggedStart,
    Mobject,
    Rectangle,
    Scene,
    Transform,
    VGroup,
    Write,
)

from scenes import theme
from scenes.mobjects.tensor_grid import TensorGrid
from scenes.mobjects.text import label, mono


def covered(cell: Mobject) -> bool:
    """A cell a nearer slab hides (drawn transparent; animations leave it so)."""
    return bool(getattr(cell, "covered", False))


def appear(grid: TensorGrid) -> Animation:
    """A grid arrives: cells fade in, then its shape tag is written, then its badge."""
    parts: list[Animation] = [FadeIn(grid.body), Write(grid.tag)]
    if len(grid.badge):
        parts.append(FadeIn(grid.badge))
    return LaggedStart(*parts, lag_ratio=0.25)


def glow(cells: Iterable[Any], color: str = theme.ROLES["selected"], opacity: float = 0.45) -> Animation:
    """Cells light up in `color` (their box fills and thickens)."""
    anims = [
        cell[0].animate.set_fill(color, opacity=opacity).set_stroke(color, width=4)
        for cell in cells
        if not covered(cell)
    ]
    return together(anims)


def together(anims: Sequence[Any]) -> Animation:
    """Animations of parts already on screen, run together. (A plain AnimationGroup would add a Group of
    those parts to the scene a second time, drawing boxes over the values inside them.)"""
    return AnimationGroup(*anims, group=VGroup()) if anims else Animation(VGroup(), run_time=0.01)


def flow(
    scene: Scene, pairs: Sequence[tuple[VGroup, VGroup]], run_time: float = 1.2, lag: float = 0.0
) -> None:
    """Copies of the source cells travel onto their destination cells; the copies are removed after, so
    the destination (added by the caller) is what stays on screen."""
    copies = [src.copy() for src, _ in pairs]
    if not copies:
        return
    scene.add(*copies)
    moves = [Transform(c, dst.copy()) for c, (_, dst) in zip(copies, pairs, strict=True)]
    if lag:
        scene.play(LaggedStart(*moves, lag_ratio=lag, group=VGroup()), run_time=run_time)
    else:
        scene.play(*moves, run_time=run_time)
    scene.remove(*copies)


def fill(
    scene: Scene, pairs: Sequence[tuple[VGroup, VGroup]], grids: Sequence[TensorGrid], *reveal: Animation,
    run_time: float = 1.2, lag: float = 0.0, tag_time: float = 0.8,
) -> None:
    """The result appears where its values land: source cells `flow` onto the result grids, which then
    stay, and their tags come in with `reveal` (a caption, usually)."""
    flow(scene, pairs, run_time=run_time, lag=lag)
    for grid in grids:
        scene.add(grid.body)
    scene.play(*[tags(g) for g in grids], *reveal, run_time=tag_time)


def note(
    text: str,
    color: str = theme.TEXT,
    size: float = theme.NOTE_SIZE,
    width: int = 70,
    font_mono: bool = False,
    max_lines: int | None = None,
) -> VGroup:
    """One or more lines of explanation, wrapped at `width` characters, left-aligned; with `max_lines`, a longer
    text ends in an ellipsis there (a traced error message of any length keeps the note legible)."""
    lines = wrapped(text, width, max_lines)
    make = mono if font_mono else label
    group = VGroup(*[make(line, size, color) for line in lines])
    return group.arrange(DOWN, aligned_edge=LEFT, buff=0.12)


def wrapped(text: str, width: int, max_lines: int | None = None) -> list[str]:
    """The lines `note` draws: wrapped at `width` characters, a short bracketed group never split."""
    return [unbroken(line) for line in textwrap.wrap(bracketed_spaces(text), width, max_lines=max_lines,
                                                     placeholder=" …")] or [""]


KEEP = "\u2060"  # a space inside brackets while wrapping: "target[0, 0]" stays on one line


HELD = 24  # characters of a bracketed group kept on one line; a longer one (a parenthetical) wraps as prose


def bracketed_spaces(text: str, held: int = HELD) -> str:
    """`text` with the spaces inside short (), [] and {} groups held together, so a wrap never splits an index
    or a call; a long bracketed clause wraps between its words, never inside one."""
    out = list(text)
    opened: list[int] = []
    for i, ch in enumerate(text):
        if ch in "([{":
            opened.append(i)
        elif ch in ")]}" and opened:
            start = opened.pop()
            if i - start + 1 <= held:
                out[start:i] = [KEEP if c == " " else c for c in out[start:i]]
    return "".join(out)


def unbroken(line: str) -> str:
    return line.replace(KEEP, " ")


def sign(text: str, color: str = theme.TEXT, size: float = theme.BODY_SIZE * 1.2) -> Any:
    """An operator between tensors: `+`, `@`, `=`, an arrow."""
    return label(text, size, color)


def separator(color: str = theme.MUTED, size: float = theme.BODY_SIZE * 1.4) -> Any:
    """A comma between tensors, sitting on the line through their middles as a comma sits on a baseline (a
    comma centred on the middle reads as an apostrophe)."""
    comma = label(",", size, color)
    strut = Rectangle(width=comma.width, height=2 * comma.height + 0.02, stroke_opacity=0, fill_opacity=0)
    return VGroup(strut, comma.next_to(strut.get_center(), DOWN, buff=0.02))  # its top on the middle


def show_at(scene: Scene, *mobs: Mobject) -> None:
    """Put mobjects on screen at once (after a flow landed where they are)."""
    scene.add(*mobs)


def restore(cells: Iterable[Any], color: Any, opacity: float = 1.0) -> Any:
    """Undo a glow: the box back to its role colour."""
    return together(
        [
            c[0].animate.set_fill(theme.PANEL, opacity=opacity).set_stroke(color, width=2)
            for c in cells
            if not covered(c)
        ]
    )


def tags(grid: TensorGrid) -> Animation:
    """Only the shape tag and badge of a grid whose cells are already on screen (after a flow)."""
    parts: list[Animation] = [Write(grid.tag)]
    if len(grid.badge):
        parts.append(FadeIn(grid.badge))
    return AnimationGroup(*parts)


def land(scene: Scene, grid: TensorGrid) -> None:
    """After a flow onto `grid`, its cells (and index labels) stay on screen."""
    scene.add(grid.body)


def hide(cells: Iterable[Any]) -> None:
    """Make cells invisible in place (they stay in their grid, to be revealed one by one)."""
    for cell in cells:
        cell.set_opacity(0)


def reveal(cells: Iterable[Any]) -> Animation:
    """Bring hidden cells back (box and value fully opaque)."""
    return together([cell.animate.set_opacity(1) for cell in cells if not covered(cell)])
