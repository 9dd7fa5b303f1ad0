"""Layout lint for a key frame: every mobject inside the frame, no two pieces of text overlapping."""

from __future__ import annotations

from collections.abc import Iterable

from manim import Mobject, Text

FRAME_W, FRAME_H = 14.222, 8.0
TOLERANCE = 0.02


def _texts(mobjects: Iterable[Mobject]) -> list[Text]:
    found: list[Text] = []
    for mob in mobjects:
        for m in mob.get_family():
            if isinstance(m, Text) and m.text.strip() and m.get_fill_opacity() > 0.05:
                found.append(m)
    return found


def _box(m: Mobject) -> tuple[float, float, float, float]:
    (x0, y0, _), (x1, y1, _) = m.get_critical_point((-1, -1, 0)), m.get_critical_point((1, 1, 0))
    return x0, y0, x1, y1


def lint_mobjects(mobjects: list[Mobject], where: str = "") -> list[str]:
    """Problems in one frame: pieces outside the frame, and overlapping texts (by their bounding boxes)."""
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
    return problems
