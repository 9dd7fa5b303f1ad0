"""`render new`: a lesson script to fill in, from templates/new_lesson.py.jinja."""

from __future__ import annotations

from pathlib import Path

from render.course import LessonEntry
from render.state import write_text
from render.templating import environment


def scaffold_lesson(entry: LessonEntry, title: str | None = None) -> Path:
    """Write the lesson's script with an opening beat, one example beat and a recap; never overwrite."""
    path = entry.script
    if path.exists():
        raise FileExistsError(f"{path} already exists")
    text = environment().get_template("new_lesson.py.jinja").render(entry=entry, title=title or entry.title)
    write_text(path, text)
    return path
