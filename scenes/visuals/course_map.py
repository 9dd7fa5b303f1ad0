"""`CourseMap`: the course as the manifest (`scripts/course.toml`) lays it out: one column per module, its
sections, and a chip per lesson, filled when the lesson has a script and outlined when it is planned; then
where the course leads. The lesson reads the manifest in its compute function, so the map is trace data:
the scene draws what it is given and records it in `shown`.

The course value is a list of modules `[number, title, sections]`, a section `[id, title, lessons]`, a
lesson `[id, title, scripted]` (dicts with those keys work too).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any, ClassVar, cast

from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    Animation,
    Arrow,
    DashedVMobject,
    FadeIn,
    GrowArrow,
    LaggedStart,
    RoundedRectangle,
    Scene,
    VGroup,
)

from scenes import theme
from scenes.errors import VisualError
from scenes.mobjects.text import label
from scenes.visuals.base import Area, TensorVisual

SCRIPTED, PLANNED = theme.ROLES["output"], theme.ROLES["ghost"]
HERE = theme.ACCENT
CHIP_W, CHIP_H = 0.82, 0.38
CHIPS_PER_ROW = 4
LEADS_W = 2.5  # the column for where the course leads


def _field(item: Any, key: str, index: int) -> Any:
    return item[key] if isinstance(item, dict) else item[index]


def normalise(course: Any) -> list[dict[str, Any]]:
    """Modules as dicts (number, title, sections: id, title, lessons: id, title, scripted)."""
    modules = []
    for m in course:
        sections = []
        for s in _field(m, "sections", 2):
            lessons = [{"id": str(_field(x, "id", 0)), "title": str(_field(x, "title", 1)),
                        "scripted": bool(_field(x, "scripted", 2))} for x in _field(s, "lessons", 2)]
            sections.append({"id": str(_field(s, "id", 0)), "title": str(_field(s, "title", 1)), "lessons": lessons})
        modules.append({"number": int(_field(m, "number", 0)), "title": str(_field(m, "title", 1)),
                        "sections": sections})
    return modules


MAX_LINES = 3  # a title longer than this many lines ends in an ellipsis: the map keeps its size
MAX_ID = 7  # characters of a lesson id a chip holds ("10.12.3")


def wrapped(text: str, width: int, size: float, color: str, weight: str = "NORMAL") -> VGroup:
    """A title broken into lines of about `width` characters (at most MAX_LINES), left-aligned."""
    lines = textwrap.wrap(text.replace("`", ""), width, max_lines=MAX_LINES, placeholder=" …") or [" "]
    return VGroup(*[label(line, size, color, weight=weight) for line in lines]).arrange(
        DOWN, aligned_edge=LEFT, buff=0.08)


def chip(lesson: dict[str, Any], here: str | None) -> VGroup:
    """A lesson's chip: its id, filled when scripted, a dashed outline when planned, violet if current."""
    colour = HERE if lesson["id"] == here else (SCRIPTED if lesson["scripted"] else PLANNED)
    box = RoundedRectangle(corner_radius=0.08, width=CHIP_W, height=CHIP_H, stroke_color=colour,
                           stroke_width=2.5, fill_color=colour, fill_opacity=0.35 if lesson["scripted"] else 0.0)
    shape = box if lesson["scripted"] or lesson["id"] == here else DashedVMobject(box, num_dashes=18)
    text = label(lesson["id"], theme.BADGE_SIZE + 1, theme.TEXT if lesson["scripted"] else theme.MUTED)
    return VGroup(shape, text.move_to(box))


class CourseMap(TensorVisual):
    """One step per module (its column of sections and lesson chips), then one for where the course leads."""

    takes: ClassVar[str] = ""

    options: ClassVar[dict[str, str]] = {
        "course": "trace value: the modules, sections and lessons (default: course)",
        "leads": "trace value: where the course leads, a list of names (default: leads)",
        "here": "trace value: the id of the lesson being watched, drawn in violet (optional)",
    }

    def modules(self) -> list[dict[str, Any]]:
        name = self.option("course", "course")
        if name not in self.beat.values:
            raise VisualError("CourseMap", name, f"the beat returned no value {name!r}")
        try:
            modules = normalise(self.beat.values[name])
        except (TypeError, KeyError, IndexError, ValueError) as exc:
            raise VisualError("CourseMap", name, f"not a list of [number, title, sections]: {exc}") from None
        if not modules:
            raise VisualError("CourseMap", name, "the course has no modules")
        for lesson in (x for m in modules for s in m["sections"] for x in s["lessons"]):
            if not lesson["id"].strip() or len(lesson["id"]) > MAX_ID or "\n" in lesson["id"]:
                raise VisualError("CourseMap", name, f"lesson id {lesson['id']!r} does not fit a chip: ids are "
                                  f"1 to {MAX_ID} characters on one line, like '1.2.3'")
        return modules

    def leads(self) -> list[str]:
        value = self.beat.values.get(self.option("leads", "leads"), [])
        return [str(v) for v in value] if isinstance(value, list) else []

    def steps(self) -> int:
        return len(self.modules()) + bool(self.leads())

    def column(self, module: dict[str, Any], here: str | None) -> VGroup:
        head = VGroup(label(f"Module {module['number']}", theme.CAPTION_SIZE, theme.ACCENT, weight="BOLD"),
                      wrapped(module["title"], 30, theme.BADGE_SIZE + 1, theme.TEXT)).arrange(
                          DOWN, aligned_edge=LEFT, buff=0.1)
        sections = VGroup()
        for s in module["sections"]:
            chips = VGroup(*[chip(x, here) for x in s["lessons"]])
            if len(chips):
                chips.arrange_in_grid(cols=min(CHIPS_PER_ROW, len(chips)), buff=(0.1, 0.1), flow_order="rd")
            title = wrapped(f"{s['id']} {s['title']}", 36, theme.BADGE_SIZE + 1, theme.MUTED)
            sections.add(VGroup(title, chips).arrange(DOWN, aligned_edge=LEFT, buff=0.1))
        sections.arrange(DOWN, aligned_edge=LEFT, buff=0.22)
        return VGroup(head, sections).arrange(DOWN, aligned_edge=LEFT, buff=0.3)

    def legend(self) -> VGroup:
        done = chip({"id": "done", "scripted": True}, None)
        todo = chip({"id": "next", "scripted": False}, None)
        return VGroup(done, label("scripted", theme.BADGE_SIZE + 2, theme.MUTED), todo,
                      label("planned", theme.BADGE_SIZE + 2, theme.MUTED)).arrange(RIGHT, buff=0.15)

    def heading_to(self, leads: list[str]) -> VGroup:
        """Where the course leads: boxes joined by arrows, top to bottom."""
        boxes = VGroup()
        for name in leads:
            text = wrapped(name, 14, theme.BODY_SIZE - 4, theme.TEXT, weight="BOLD")
            frame = RoundedRectangle(corner_radius=0.12, width=LEADS_W - 0.2, height=text.height + 0.4,
                                     stroke_color=theme.ACCENT, stroke_width=2.5, fill_color=theme.PANEL,
                                     fill_opacity=1)
            boxes.add(VGroup(frame, text.move_to(frame)))
        boxes.arrange(DOWN, buff=0.7)
        arrows = VGroup(*[Arrow(a.get_bottom(), b.get_top(), buff=0.08, color=theme.ACCENT, stroke_width=4)
                          for a, b in zip(boxes[:-1], boxes[1:], strict=True)])
        title = label("where we are heading", theme.BADGE_SIZE, theme.MUTED)
        return VGroup(title, VGroup(boxes, arrows)).arrange(DOWN, buff=0.3)

    def play(self, scene: Scene) -> Iterator[None]:
        modules, leads = self.modules(), self.leads()
        here_name = self.option("here")
        here = str(self.beat.values.get(here_name)) if here_name else None
        self.shown.update(modules=modules, leads=leads, here=here)
        columns = VGroup(*[self.column(m, here) for m in modules]).arrange(RIGHT, aligned_edge=UP, buff=0.45)
        legend = self.legend()
        a = self.area
        map_w = a.width - (LEADS_W + 0.3 if leads else 0.0)
        body = VGroup(columns, legend).arrange(DOWN, aligned_edge=LEFT, buff=0.35)
        Area(a.x - a.width / 2 + map_w / 2, a.y, map_w, a.height).fit(body, max_scale=1.0)
        body.align_to((a.x - a.width / 2, 0.0, 0.0), LEFT)
        for i, col in enumerate(columns):
            anims = [FadeIn(col[0], shift=0.2 * DOWN),
                     LaggedStart(*[FadeIn(s, shift=0.2 * RIGHT) for s in col[1]], lag_ratio=0.15)]
            if i == 0:
                anims.append(FadeIn(legend))
            scene.play(*anims, run_time=1.0)
            yield
        if leads:
            ahead = self.heading_to(leads)
            Area(a.x + a.width / 2 - LEADS_W / 2, a.y, LEADS_W, a.height).fit(ahead, max_scale=1.0)
            first = ahead[1][0][0]
            start = (columns.get_right()[0] + 0.05, first.get_y(), 0.0)
            pointer = Arrow(start, first.get_left(), buff=0.1, color=theme.ACCENT, stroke_width=4)
            scene.play(FadeIn(ahead[0]), FadeIn(ahead[1][0][0], shift=0.3 * LEFT), GrowArrow(pointer), run_time=0.8)
            rest: list[Animation] = []
            for arrow, box in zip(ahead[1][1], ahead[1][0][1:], strict=True):
                rest += [GrowArrow(cast(Arrow, arrow)), FadeIn(box, shift=0.3 * UP)]
            if rest:
                scene.play(LaggedStart(*rest, lag_ratio=0.3), run_time=1.0)
            yield
