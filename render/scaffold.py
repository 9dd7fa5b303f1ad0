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


def manifest_entry(lesson_id: str, title: str, number: int | None = None) -> str:
    """The lines scripts/course.toml needs for a new lesson: its file named like its neighbours
    (`15_attention_shapes`, numbered when `number` is given) and an empty blurb for the author to write."""
    file = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "lesson"
    if number is not None:
        file = f"{number:02d}_{file}"
    return (f'[[modules.sections.lessons]]\nid = "{lesson_id}"\nfile = "{file}"\ntitle = {_quoted(title)}\n'
            'blurb = ""\n')


def section_entry(section: str, title: str) -> str:
    """The lines scripts/course.toml needs for a new section (its title and what it teaches, to write)."""
    return f'[[modules.sections]]\nid = "{section}"\ntitle = {_quoted(title)}\nlearn = []\n'


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def add_to_manifest(course: Course, lesson_id: str, title: str, manifest: Path = SCRIPTS / "course.toml") -> bool:
    """Add lesson `lesson_id` to `manifest`, after the last lesson of its section; a section its module lacks
    is added first, at the module's end, titled like the lesson. Returns whether a section was added."""
    section, exists = section_of(course, lesson_id)
    module = course.module(section.split(".")[0])
    lines = manifest.read_text(encoding="utf-8").splitlines(keepends=True)
    entry = manifest_entry(lesson_id, title, number=next_number(course))
    if exists:
        at = _section_end(lines, section)
        lines[at:at] = ["\n", entry]
    else:
        at = _section_end(lines, module.sections[-1].id) if module.sections else len(lines)
        lines[at:at] = ["\n", section_entry(section, title), "\n", entry]
    write_text(manifest, "".join(lines))
    return not exists


def next_number(course: Course) -> int:
    """One more than the highest number a lesson file of the course starts with (`14_...` -> 15)."""
    numbers = [int(m[1]) for m in (re.match(r"(\d+)", e.file) for mod in course.modules for e in mod.lessons) if m]
    return max(numbers, default=0) + 1


def section_of(course: Course, lesson_id: str) -> tuple[str, bool]:
    """The section id of a new lesson id and whether the manifest has it, or UnknownName saying what is wrong
    and what exists (a malformed id, a module the course lacks)."""
    match = LESSON_ID.fullmatch(lesson_id)
    if not match:
        raise UnknownName(f"{lesson_id!r} is not a lesson id: lesson ids are module.section.lesson, like 2.6.1")
    section = f"{match[1]}.{match[2]}"
    modules = [str(m.number) for m in course.modules]
    if match[1] not in modules:
        raise UnknownName(f"module {match[1]} is not in scripts/course.toml (it has {', '.join(modules)}): add "
                          f"the module first, then run render new again")
    return section, section in [s.id for m in course.modules for s in m.sections]


def _section_end(lines: list[str], section: str) -> int:
    """The index of the line after section `section`'s last lesson (before the next section or module)."""
    start = next(i for i, line in enumerate(lines) if re.fullmatch(rf'\s*id\s*=\s*"{re.escape(section)}"\s*', line))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith(("[[modules]]",
                "[[modules.sections]]"))), len(lines))
    while end > start and not lines[end - 1].strip():
        end -= 1
    return end
