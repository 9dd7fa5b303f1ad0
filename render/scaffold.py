"""`render new`: a lesson script to fill in, from templates/new_lesson.py.jinja, and its manifest entry."""

from __future__ import annotations

import re
from pathlib import Path

from render.course import ROOT, SCRIPTS, Course, LessonEntry
from render.errors import UnknownName
from render.state import write_text
from render.templating import environment

LESSON_ID = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def scaffold_lesson(entry: LessonEntry, title: str | None = None) -> Path:
    """Write the lesson's script: an opening card, two stepped beats (one with a checked claim), a recap and a
    challenge, which lints clean as it stands; never overwrite."""
    path = entry.script
    if path.exists():
        raise FileExistsError(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} already exists")
    text = environment().get_template("new_lesson.py.jinja").render(entry=entry, title=title or entry.title)
    write_text(path, text)
    return path


def manifest_entry(lesson_id: str, title: str) -> str:
    """The lines scripts/course.toml needs for a new lesson (its file named after the title)."""
    file = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "lesson"
    return (f'[[modules.sections.lessons]]\nid = "{lesson_id}"\nfile = "{file}"\ntitle = {_quoted(title)}\n'
            f'blurb = {_quoted(title)}\n')


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def add_to_manifest(course: Course, lesson_id: str, title: str, manifest: Path = SCRIPTS / "course.toml") -> None:
    """Add lesson `lesson_id` to `manifest`, after the last lesson of its section (which must exist)."""
    lines = manifest.read_text(encoding="utf-8").splitlines(keepends=True)
    at = _section_end(lines, section_of(course, lesson_id))
    lines[at:at] = ["\n", manifest_entry(lesson_id, title)]
    write_text(manifest, "".join(lines))


def section_of(course: Course, lesson_id: str) -> str:
    """The section id of a new lesson id, or UnknownName saying what is wrong and what exists."""
    match = LESSON_ID.fullmatch(lesson_id)
    if not match:
        raise UnknownName(f"{lesson_id!r} is not a lesson id: lesson ids are module.section.lesson, like 2.6.1")
    section = f"{match[1]}.{match[2]}"
    sections = [s.id for m in course.modules for s in m.sections]
    if section not in sections:
        raise UnknownName(f"section {section} is not in scripts/course.toml (it has {', '.join(sections)}): "
                          f"add the section under its module first, then run render new again")
    return section


def _section_end(lines: list[str], section: str) -> int:
    """The index of the line after section `section`'s last lesson (before the next section or module)."""
    start = next(i for i, line in enumerate(lines) if re.fullmatch(rf'\s*id\s*=\s*"{re.escape(section)}"\s*', line))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith(("[[modules]]",
                "[[modules.sections]]"))), len(lines))
    while end > start and not lines[end - 1].strip():
        end -= 1
    return end
