"""Shared helpers for the vocabulary tests: every gallery file (scripts/gallery/*.py) traced once, and beat
jobs built from it."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from render.checks import DRY_RUN
from scenes.trace import BeatTrace

ROOT = Path(__file__).resolve().parents[1]
GALLERY_DIR = ROOT / "scripts" / "gallery"


@functools.lru_cache(maxsize=1)
def gallery() -> tuple[Any, dict[str, Any]]:
    """The gallery beats of every file as one lesson, and their trace (torch runs here, on the CPU, once per
    test session)."""
    from render.gallery import trace_gallery

    lesson, trace = trace_gallery(device="cpu")
    return lesson, json.loads(json.dumps(trace))  # exactly what a clip worker receives


def beat_names() -> list[str]:
    """Every gallery beat's name (unique across files), without tracing."""
    from render.gallery import load_gallery

    return [b.name for b in load_gallery().beats]


def job(name: str) -> dict[str, Any]:
    """A BeatScene job for gallery beat `name`."""
    lesson, trace = gallery()
    i = [b.name for b in lesson.beats].index(name)
    beat = lesson.beats[i]
    return {
        "title": beat.title,
        "lesson": "Visual vocabulary",
        "visual": beat.visual.to_json(),
        "trace": {"beat": trace["beats"][i], "device": trace["device"], "torch": trace["torch"]},
        "timing": None,
    }


@functools.cache
def dry(name: str) -> tuple[Any, dict[str, Any], list[str], dict[str, Any], int]:
    """Gallery beat `name` run once as a Manim dry run (shared by every vocabulary test): its trace view,
    options, layout problems, the values it showed and the number of steps it played."""
    from manim import tempconfig

    from scenes.beat import BeatScene
    from scenes.trace import BeatTrace

    j = job(name)
    with tempconfig(DRY_RUN):
        scene = BeatScene(j)
        scene.render()
    assert scene.visual is not None
    beat = BeatTrace.from_json(j["trace"]["beat"])
    return beat, j["visual"]["options"], list(scene.lint_problems), scene.visual.shown, scene.steps_played


def dry_scene(compute: Any, visual: Any) -> tuple[dict[str, Any], Any]:
    """Trace one compute function as a beat and dry-run its visual as a clip worker would; (the beat's trace
    JSON, the rendered `BeatScene`)."""
    from manim import tempconfig

    from render.lesson import Lesson
    from render.trace import trace_beat
    from scenes.beat import BeatScene

    lesson = Lesson()
    lesson.beat("t", narration="n", visual=visual)(compute)
    data = json.loads(json.dumps(trace_beat(lesson.beats[0], "cpu", 0)))
    job = {"title": "t", "lesson": "crash", "visual": visual.to_json(),
           "trace": {"beat": data, "device": "cpu", "torch": ""}, "timing": None}
    with tempconfig(DRY_RUN):
        scene = BeatScene(job)
        scene.render()
    assert scene.visual is not None
    return data, scene


def dry_beat(compute: Any, visual: Any) -> tuple[BeatTrace, dict[str, Any], list[str]]:
    """Trace one compute function and dry-run its visual; (trace, shown, lint problems). Steps played
    must equal the steps the visual declares."""
    data, scene = dry_scene(compute, visual)
    assert scene.steps_played == scene.visual.steps()
    return BeatTrace.from_json(data), scene.visual.shown, list(scene.lint_problems)


@functools.cache
def traced_script(script: Path) -> tuple[Any, dict[str, Any]]:
    """One gallery file's lesson and its CPU trace, through JSON as a clip worker receives it."""
    from render.lesson import load_lesson
    from render.trace import trace_lesson

    lesson = load_lesson(script)
    return lesson, json.loads(json.dumps(trace_lesson(lesson, "cpu")))


@functools.cache
def dry_script_beat(script: Path, name: str) -> tuple[BeatTrace, Any, list[str], dict[str, Any], int, int]:
    """Dry-run beat `name` of one gallery file: (its trace, its spec, lint problems, shown, steps played,
    steps declared)."""
    from manim import tempconfig

    from scenes.beat import BeatScene

    lesson, trace = traced_script(script)
    i = [b.name for b in lesson.beats].index(name)
    beat = lesson.beats[i]
    job = {"title": beat.title, "lesson": script.stem, "visual": beat.visual.to_json(),
           "trace": {"beat": trace["beats"][i], "device": "cpu", "torch": trace["torch"]}, "timing": None}
    with tempconfig(DRY_RUN):
        scene = BeatScene(job)
        scene.render()
    assert scene.visual is not None
    steps = scene.visual.steps()  # type: ignore[attr-defined]
    return (BeatTrace.from_json(trace["beats"][i]), beat.visual, list(scene.lint_problems), scene.visual.shown,
            scene.steps_played, steps)
