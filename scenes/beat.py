"""`BeatScene`: one Manim scene per beat, drawn from its trace alone and timed to its narration cues."""

from __future__ import annotations

import importlib
from typing import Any

from manim import DL, DOWN, LEFT, UP, UR, Create, FadeIn, FadeOut, GrowArrow, GrowFromCenter, Line, Scene, VGroup, Write

from scenes import theme
from scenes.holds import hold_encoders
from scenes.lint import lint_mobjects, smallest_text, visible_texts
from scenes.mobjects.text import label
from scenes.spec import VisualSpec
from scenes.trace import BeatTrace
from scenes.visuals.base import Area, Visual, speaking_for

FRAME_W, FRAME_H = 14.222, 8.0
# animations whose end state is their mobject exactly as it was built (or that mobject gone)
BRING_IN = (FadeIn, Write, Create, GrowArrow, GrowFromCenter)
TAKE_OUT = (FadeOut,)
CONTENT = Area(0, -0.45, FRAME_W - 2 * theme.FRAME_MARGIN - 0.2, FRAME_H - 1.6 - 0.7)


def load_visual(spec: VisualSpec, beat: BeatTrace, area: Area = CONTENT) -> Visual:
    module, cls = spec.implementation.split(":")
    visual: Visual = getattr(importlib.import_module(module), cls)(spec, beat, area)
    visual.validate()
    return visual


class BeatScene(Scene):
    """Header (lesson and beat title), then the visual's steps, each starting at its narration cue.

    `job` is plain data: title, lesson, visual spec, the beat's trace, and timing (`cues`: start of each
    narration segment in seconds; `duration`: the beat's length). Without timing, steps follow each other.
    """

    def __init__(self, job: dict[str, Any], **kwargs: Any):
        self.job = job
        self.visual: Visual | None = None
        self.lint_problems: list[str] = []
        self.steps_played = 0
        self.smallest_text: float | None = None  # px at 480p of the smallest value text at any step
        self.last_frame: Any = None  # the last frame as RGBA pixels: the beat's poster, everything on screen
        self.screen: list[list[str]] = []  # per step, once its animations end: every visible text but the header
        self.head: VGroup | None = None
        self.pending: list[Any] = []  # the header's animations, played with the visual's first ones
        self.first_content: float | None = None  # when the visual's first animation starts, in seconds
        self.picture_share = 0.0  # the largest share of the content area the visual's picture covers at a step
        super().__init__(**kwargs)

    def header(self) -> VGroup:
        lesson = label(self.job.get("lesson", "").replace("`", ""), theme.CAPTION_SIZE - 4, theme.MUTED)
        title = label(self.job["title"].replace("`", ""), theme.TITLE_SIZE, theme.TEXT, weight="BOLD")
        max_w = FRAME_W - 2 * theme.FRAME_MARGIN - 0.4
        for t in (lesson, title):
            if t.width > max_w:
                t.scale_to_fit_width(max_w)
        lesson.to_corner(UP + LEFT, buff=theme.FRAME_MARGIN + 0.05)
        title.next_to(lesson, DOWN, buff=0.12, aligned_edge=LEFT)
        rule = Line(
            LEFT * (FRAME_W / 2 - theme.FRAME_MARGIN),
            -LEFT * (FRAME_W / 2 - theme.FRAME_MARGIN),
            color=theme.ACCENT,
            stroke_width=2,
        ).next_to(title, DOWN, buff=0.15)
        rule.set_x(0)
        return VGroup(lesson, title, rule)

    def skipping(self, on: bool) -> None:
        """Draft mode: animations jump to their end state, so each step is one still held for its narration.
        (Manim resets the skip flag from its original status at every play, so both are set.)"""
        renderer: Any = self.renderer
        if not hasattr(self, "_skip_base"):
            self._skip_base = bool(renderer._original_skipping_status)  # a dry run skips everything anyway
        renderer._original_skipping_status = on or self._skip_base
        renderer.skip_animations = on or self._skip_base

    def play(self, *args: Any, **kwargs: Any) -> None:
        renderer: Any = self.renderer
        if self.pending:  # the first content comes at once, the header written beside it
            args, self.pending = (*self.pending, *args), []
            self.first_content = renderer.time
        start, skipped = renderer.time, renderer._original_skipping_status
        if not self.jump_to_end(args, kwargs):
            super().play(*args, **kwargs)
        if skipped and self.job.get("draft"):
            # a draft step is a still held from its cue to the next: a skipped animation writes no frames, so it
            # takes no time either, or the clip's picture would run shorter than its narration
            renderer.time = start

    def jump_to_end(self, animations: tuple[Any, ...], options: dict[str, Any]) -> bool:
        """While skipping (a draft, a dry run), a play that only brings mobjects in or takes them out ends with
        them as built: they are added or removed at once, without Manim copying each to animate it, and the
        clock moves on by the play's run time. Anything else is played (and skipped) by Manim."""
        renderer: Any = self.renderer
        if not renderer._original_skipping_status or set(options) - {"run_time"} or not animations:
            return False
        if not all(type(a) in BRING_IN + TAKE_OUT for a in animations):
            return False
        for animation in animations:
            if type(animation) in BRING_IN:
                self.add(animation.mobject)
            else:
                self.remove(animation.mobject)
        renderer.time += options.get("run_time") or max(a.run_time for a in animations)
        return True

    def construct(self) -> None:
        self.camera.background_color = theme.BACKGROUND  # type: ignore[union-attr]
        if self.job.get("still_holds", True):
            writer: Any = self.renderer.file_writer
            writer._create_segment_encoder = hold_encoders(writer)
        trace = self.job["trace"]
        beat = BeatTrace.from_json(trace["beat"], trace.get("device", "cpu"), trace.get("torch", ""))
        spec = VisualSpec.from_json(self.job["visual"])
        draft = bool(self.job.get("draft"))
        head = self.head = self.header()
        self.skipping(draft)
        self.pending = [Write(head[1]), *[Write(m) for m in (head[0], head[2])]]
        with speaking_for(spec.kind):
            self.play_visual(spec, beat, draft)
        if self.pending:  # a visual that only adds what it draws, or draws nothing
            self.add(head)
            self.pending = []
        self.skipping(False)
        timing = self.job.get("timing") or {}
        duration = timing.get("duration")
        remaining = (duration - self.time) if duration else 1.0
        if remaining > 1 / 60:
            self.wait(remaining)
        self.last_frame = self.draw_all()

    def play_visual(self, spec: VisualSpec, beat: BeatTrace, draft: bool) -> None:
        """The visual's steps, each linted, each waiting for its narration cue."""
        self.visual = load_visual(spec, beat)
        timing = self.job.get("timing") or {}
        cues: list[float] = list(timing.get("cues", []))
        for step, _ in enumerate(self.visual.play(self)):
            self.skipping(False)
            self.steps_played = step + 1
            for problem in lint_mobjects(list(self.mobjects), f"step {step + 1}: "):
                if lasting(problem) not in {lasting(p) for p in self.lint_problems}:
                    self.lint_problems.append(problem)  # a problem that lasts is named at its first step only
            header = set(self.head.get_family()) if self.head is not None else set()
            self.screen.append([t.text for t in visible_texts(list(self.mobjects)) if t not in header])
            self.picture_share = max(self.picture_share, picture_share([m for m in self.mobjects if m not in header]))
            smallest = smallest_text(list(self.mobjects))
            if smallest is not None and (self.smallest_text is None or smallest[0] < self.smallest_text):
                self.smallest_text = smallest[0]
            # the next step waits for the narration cue that introduces it
            if step + 1 < len(cues) and cues[step + 1] > self.time:
                self.wait(cues[step + 1] - self.time)
            self.skipping(draft)

    def draw_all(self) -> Any:
        """Every mobject drawn afresh on the background (not over a held static frame), as pixels."""
        renderer: Any = self.renderer
        renderer.static_image = None
        renderer.update_frame(self)
        return renderer.get_frame()


def picture_share(mobjects: list[Any]) -> float:
    """How much of the content area (the frame under the title) the visual's picture covers: its bounding box,
    clipped to the area, over the area."""
    shown = [m for m in mobjects if m.get_family() and any(p.has_points() for p in m.get_family())]
    if not shown:
        return 0.0
    box = VGroup(*shown)
    (x0, y0, _), (x1, y1, _) = box.get_corner(DL), box.get_corner(UR)
    a = CONTENT
    left, right, bottom, top = a.x - a.width / 2, a.x + a.width / 2, a.y - a.height / 2, a.y + a.height / 2
    w, h = max(0.0, min(x1, right) - max(x0, left)), max(0.0, min(y1, top) - max(y0, bottom))
    return round(w * h / (a.width * a.height), 3)


def lasting(problem: str) -> str:
    """What a layout problem is about, whatever step found it: small texts by the element they are in."""
    about = problem.split(": ", 1)[-1]
    return "small text in " + about.rsplit(" px in ", 1)[1] if " px at 480p" in about else about
