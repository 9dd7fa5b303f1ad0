"""Shared helpers for the vocabulary tests: the gallery traced once, and beat jobs built from it."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "scripts" / "gallery" / "vocabulary.py"


@functools.lru_cache(maxsize=1)
def gallery() -> tuple[Any, dict[str, Any]]:
    """The gallery lesson and its trace (torch runs here, on the CPU, once per test session)."""
    from render.lesson import load_lesson
    from render.trace import trace_lesson

    lesson = load_lesson(GALLERY)
    trace = trace_lesson(lesson, "cpu")
    return lesson, json.loads(json.dumps(trace))  # exactly what a clip worker receives


def beat_names() -> list[str]:
    from render.lesson import load_lesson

    return [b.name for b in load_lesson(GALLERY).beats]


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
