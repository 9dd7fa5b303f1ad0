"""Upload-ready files beside a lesson's video: a description with the chapter list video sites read, and a
1280x720 thumbnail from the lesson's title card. Written with the lesson record, so every render has them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from render.state import write_text

MIN_CHAPTER = 10.0  # seconds: video sites ignore a chapter list with a shorter chapter
MIN_CHAPTERS = 3  # ... or with fewer chapters
THUMBNAIL = (1280, 720)


def chapters(beats: list[tuple[str, float]]) -> list[tuple[float, str]]:
    """(start, title) of each chapter from the beats' (title, duration), in order: the first at 0:00, a beat
    shorter than MIN_CHAPTER joins the chapter before it (the first beat's, the next), and a short last chapter
    joins the one before; [] when fewer than MIN_CHAPTERS remain (a site would ignore the list)."""
    merged: list[list[Any]] = []  # [start, title, length]
    start = 0.0
    for title, duration in beats:
        if merged and (duration < MIN_CHAPTER or merged[-1][2] < MIN_CHAPTER):
            merged[-1][2] += duration
        else:
            merged.append([start, title, duration])
        start += duration
    if len(merged) > 1 and merged[-1][2] < MIN_CHAPTER:
        merged[-2][2] += merged.pop()[2]
    return [(s, t) for s, t, _ in merged] if len(merged) >= MIN_CHAPTERS else []


def stamp(seconds: float) -> str:
    """A chapter time as video sites write it: 0:00, 12:05, 1:02:03."""
    whole = int(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def description(record: Any) -> str:
    """The lesson's video description: title, blurb, what it teaches, its chapters, where the subtitles are."""
    parts = [f"{record.id} · {record.title}".replace("`", "")]
    if record.blurb:
        parts.append(record.blurb)
    if record.objectives:
        parts.append("You will learn:\n" + "\n".join(f"- {o}".replace("`", "") for o in record.objectives))
    listed = chapters([(b.title.replace("`", ""), b.duration) for b in record.beats])
    if listed:
        parts.append("Chapters:\n" + "\n".join(f"{stamp(s)} {t}" for s, t in listed))
    if record.vtt:
        parts.append(f"Subtitles: {record.vtt} and {record.srt} beside the video.")
    return "\n\n".join(parts) + "\n"


def write_description(record: Any, path: Path) -> None:
    write_text(path, description(record))


def write_thumbnail(poster: Path, path: Path) -> None:
    """The title card's frame at 1280x720 (letterboxed on the theme's background if its shape differs)."""
    from PIL import Image

    from render.files import atomic_path
    from scenes import theme

    with Image.open(poster) as opened:
        frame = opened.convert("RGB")
    scale = min(THUMBNAIL[0] / frame.width, THUMBNAIL[1] / frame.height)
    size = (round(frame.width * scale), round(frame.height * scale))
    canvas = Image.new("RGB", THUMBNAIL, theme.BACKGROUND)
    canvas.paste(frame.resize(size, Image.Resampling.LANCZOS),
                 ((THUMBNAIL[0] - size[0]) // 2, (THUMBNAIL[1] - size[1]) // 2))
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG")
