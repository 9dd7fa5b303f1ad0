"""Layout lint for a key frame: every mobject inside the frame, no two pieces of text overlapping, and no value
text too small to read at 480p (the lowest quality the course ships: 8 Manim units high = 480 pixels).

Value text is every text but annotations (marked `annotation = True`: a grid's index labels and dtype/device
badge, drawn smaller on purpose); `smallest_text` measures either."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from manim import Mobject, Text

from scenes import theme

FRAME_W, FRAME_H = 14.222, 8.0
TOLERANCE = 0.02
PX_PER_UNIT = 480 / FRAME_H  # at 480p
MIN_TEXT_PX = 9.0  # the smallest digit height that stays legible at 480p


def _texts(mobjects: Iterable[Mobject]) -> list[Text]:
    found: list[Text] = []
    for mob in mobjects:
        for m in mob.get_family():
            if isinstance(m, Text) and m.text.strip() and m.get_fill_opacity() > 0.05:
                found.append(m)
    return found


def visible_texts(mobjects: Iterable[Mobject]) -> list[Text]:
    """Every text on screen (annotations too): what a viewer can read in the frame, spaces dropped (Manim's
    `Text.text`)."""
    return _texts(mobjects)


def _box(m: Mobject) -> tuple[float, float, float, float]:
    (x0, y0, _), (x1, y1, _) = m.get_critical_point((-1, -1, 0)), m.get_critical_point((1, 1, 0))
    return x0, y0, x1, y1


@functools.cache
def _digit_height() -> float:
    """Height of a digit per point of font size, in Manim units (measured once from the theme's font)."""
    return float(Text("0", font_size=100, font=theme.FONT).height / 100)


def text_px(text: Text) -> float:
    """How tall a digit of `text` is at 480p, in pixels: its font size as drawn (after every scaling), so a
    short string like '-' or '…' is measured like any other."""
    return float(text.font_size) * _digit_height() * PX_PER_UNIT


def value_texts(mobjects: list[Mobject]) -> list[Text]:
    """Visible texts that are not annotations (a mobject marked `annotation = True`, like a grid's index
    labels and badge, which are drawn small on purpose)."""
    return [t for t in _texts(mobjects) if not getattr(t, "annotation", False)]


def smallest_text(mobjects: list[Mobject], values_only: bool = True) -> tuple[float, str] | None:
    """The smallest visible (value) text of a frame: (pixels at 480p, the string), or None without text."""
    texts = value_texts(mobjects) if values_only else _texts(mobjects)
    sizes = [(round(text_px(t), 1), t.text) for t in texts]
    return min(sizes) if sizes else None


def lint_mobjects(mobjects: list[Mobject], where: str = "") -> list[str]:
    """Problems in one frame: pieces outside the frame, overlapping texts (by their bounding boxes), and
    value texts under 9 px tall at 480p."""
    problems: list[str] = []
    half_w, half_h = FRAME_W / 2 + TOLERANCE, FRAME_H / 2 + TOLERANCE
    for mob in mobjects:
        if mob.width == 0 and mob.height == 0:
            continue
        x0, y0, x1, y1 = _box(mob)
        if x0 < -half_w or x1 > half_w or y0 < -half_h or y1 > half_h:
            problems.append(
                f"{where}{type(mob).__name__} outside the frame: x {x0:.2f}..{x1:.2f}, y {y0:.2f}..{y1:.2f}"
            )
    for panel in {id(m): m for mob in mobjects for m in mob.get_family() if getattr(m, "hidden_lines", 0)}.values():
        problems.append(f"{where}the code panel hides {panel.hidden_lines} of its {panel.total_lines} lines behind "
                        "'...': shorten the beat's code or split the beat")
    texts = _texts(mobjects)
    boxes = [_box(t) for t in texts]
    for i in range(len(texts)):
        ax0, ay0, ax1, ay1 = boxes[i]
        for j in range(i + 1, len(texts)):
            bx0, by0, bx1, by1 = boxes[j]
            overlap_w = min(ax1, bx1) - max(ax0, bx0)
            overlap_h = min(ay1, by1) - max(ay0, by0)
            if overlap_w > TOLERANCE and overlap_h > TOLERANCE:
                problems.append(f"{where}text {texts[i].text!r} overlaps {texts[j].text!r}")
    owners = _owners(mobjects)
    small = sorted((round(text_px(t), 1), _words(t), owners.get(id(t), "")) for t in value_texts(mobjects)
                   if text_px(t) < MIN_TEXT_PX)
    if small:
        px, text, owner = small[0]
        element, fix = ELEMENTS.get(owner, (owner or "the picture", FIXES["default"]))
        problems.append(f"{where}{len(small)} value text{'s' if len(small) != 1 else ''} under {MIN_TEXT_PX:g} px "
                        f"at 480p, the smallest {text!r} {px:.1f} px in {element}: {fix}")
    return problems


FIXES = {
    "default": "draw fewer things at once (fewer tensors in one visual, or split the beat in two)",
}
# the mobject a small text belongs to, as an author knows it, and what usually makes it larger
ELEMENTS = {
    "CodePanel": ("the code panel", "shorten the compute function, or pass code=False, or show fewer tensors "
                  "beside it"),
    "TensorGrid": ("a tensor grid", "show fewer tensors in this visual, fewer decimals (digits=1), or a smaller "
                   "slice of the tensor"),
    "Caption": ("a caption", "shorten the caption"),
    "TerminalWindow": ("the terminal", "show fewer output lines"),
    "KeyTable": ("the key table", "show fewer keys"),
    "ModuleBoxes": ("the module boxes", "show a smaller module, or one submodule"),
}


def _words(text: Text) -> str:
    """A text as written (Manim drops the spaces from `.text`)."""
    return str(getattr(text, "original_text", text.text))


def _owners(mobjects: Iterable[Mobject]) -> dict[int, str]:
    """For each text, the class of the innermost vocabulary mobject it belongs to (`CodePanel`, `TensorGrid`...)."""
    owners: dict[int, str] = {}

    def walk(mob: Mobject, owner: str) -> None:
        if type(mob).__name__ in ELEMENTS:
            owner = type(mob).__name__
        if isinstance(mob, Text):
            owners.setdefault(id(mob), owner)
        for sub in mob.submobjects:
            walk(sub, owner)

    for mob in mobjects:
        walk(mob, "")
    return owners
