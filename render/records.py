"""Typed, versioned records passed between stages: `LessonRecord` (lesson.json, written once by the video
step and read by the decks, the page and the gallery) with its `BeatRecord`s, and the trace's schema.

Paths inside a lesson record are relative to its lesson folder, always. A record from another schema is
refused with a message that says to rebuild, never a KeyError halfway through a deck.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from render.errors import RecordVersion
from render.files import write_text

LESSON_SCHEMA = 1
TRACE_SCHEMA = 2


@dataclass(frozen=True)
class BeatRecord:
    """One beat as the decks show it: its slide, narration, code (as a learner types it: scenes.typed_code),
    clip and place in the video."""

    name: str
    title: str
    bullets: list[str]
    narration: str
    source: str
    clip: str
    poster: str
    start: float
    duration: float
    draft: bool = False  # a still per step (render serve --draft), not the animation


@dataclass(frozen=True)
class LessonRecord:
    """Everything the decks and the course page need about a built lesson."""

    id: str
    slug: str
    module: int
    title: str
    blurb: str
    objectives: list[str]
    recap: list[str]
    challenge: str
    device: str
    torch: str
    duration: float
    beats: list[BeatRecord]
    video: str = "lesson.mp4"
    poster: str = "poster.png"
    vtt: str | None = None
    srt: str | None = None
    schema: int = LESSON_SCHEMA
    extras: dict[str, str] = field(default_factory=dict)  # other outputs by kind (notebook, handout...)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: Path) -> None:
        write_text(path, json.dumps(self.to_dict(), indent=1, ensure_ascii=False))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "lesson record") -> LessonRecord:
        if data.get("schema") != LESSON_SCHEMA:
            raise RecordVersion(f"{source} has schema {data.get('schema')!r}, this studio reads "
                                f"{LESSON_SCHEMA}: rebuild it with `render <lesson> --force`")
        names = {f.name for f in fields(cls)}
        try:
            beats = [BeatRecord(**b) for b in data["beats"]]
            return cls(**{k: v for k, v in data.items() if k in names and k != "beats"}, beats=beats)
        except (KeyError, TypeError) as exc:
            raise RecordVersion(f"{source} is incomplete ({exc}): rebuild it with `render <lesson> --force`") from None

    @classmethod
    def read(cls, path: Path) -> LessonRecord:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RecordVersion(f"{path} is not a readable lesson record ({exc}): rebuild with --force") from None
        return cls.from_dict(data, str(path))


def check_trace(trace: dict[str, Any], source: str) -> dict[str, Any]:
    """A trace as read from disk, refused with a rebuild hint when it comes from another schema."""
    if trace.get("schema") != TRACE_SCHEMA:
        raise RecordVersion(f"{source} has trace schema {trace.get('schema')!r}, this studio reads "
                            f"{TRACE_SCHEMA}: rebuild with --force")
    return trace
