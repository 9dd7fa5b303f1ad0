"""Shared helpers for the vocabulary tests: every gallery file (scripts/gallery/*.py) traced once, and beat
jobs built from it."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

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
