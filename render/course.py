"""The course manifest: modules, sections and lessons in outline order, and name resolution for the CLI."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from render.errors import StudioError, UnknownName

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"




@dataclass(frozen=True)
class LessonEntry:
    id: str
    file: str
    title: str
    blurb: str
    module: int
    section: str

    @property
    def slug(self) -> str:
        return self.file.replace("_", "-")

    @property
    def script(self) -> Path:
        return SCRIPTS / f"module{self.module}" / f"{self.file.replace('-', '_')}.py"

    @property
    def scripted(self) -> bool:
        return self.script.is_file()


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    learn: tuple[str, ...]
    lessons: tuple[LessonEntry, ...]


@dataclass(frozen=True)
class Module:
    number: int
    title: str
    learn: tuple[str, ...]
    sections: tuple[Section, ...]
    beyond_outline: bool = False  # made before the published outline lists it (the page says so)

    @property
    def name(self) -> str:
        return f"module{self.number}"

    @property
    def lessons(self) -> tuple[LessonEntry, ...]:
        return tuple(lesson for s in self.sections for lesson in s.lessons)


@dataclass(frozen=True)
class Course:
    title: str
    mentor: str
    modules: tuple[Module, ...] = field(default_factory=tuple)
    repository: str = ""  # the GitHub repository the build is published in, for "Open in Colab" links

    @property
    def lessons(self) -> tuple[LessonEntry, ...]:
        return tuple(lesson for m in self.modules for lesson in m.lessons)

    def module(self, name: str) -> Module:
        """Find a module by `module1`, `m1` or `1`."""
        m = re.fullmatch(r"(?:module|m)?(\d+)", name.strip().lower())
        for mod in self.modules:
            if m and int(m.group(1)) == mod.number:
                return mod
        valid = ", ".join(f"{mod.name} (m{mod.number}, {mod.number})" for mod in self.modules)
        raise UnknownName(f"unknown module {name!r}; valid modules: {valid}")

    def lesson(self, name: str) -> LessonEntry:
        """Find a lesson by id (`1.1.2`), slug (`02a-tensor-manipulation`) or file stem."""
        key = name.strip().lower()
        for lesson in self.lessons:
            if key in (lesson.id, lesson.slug, lesson.file.lower()):
                return lesson
        valid = ", ".join(f"{lesson.id} ({lesson.slug})" for lesson in self.lessons)
        raise UnknownName(f"unknown lesson {name!r}; valid lessons: {valid}")

    def select(self, names: tuple[str, ...] | list[str]) -> list[LessonEntry]:
        """Lessons named on the command line: modules expand to their lessons, `course` (or `all`) to every lesson
        of every module, in course order."""
        chosen: list[LessonEntry] = []
        for name in names:
            if name.strip().lower() in WHOLE_COURSE:
                chosen.extend(lesson for module in self.modules for lesson in module.lessons if lesson not in chosen)
                continue
            try:
                found: tuple[LessonEntry, ...] = self.module(name).lessons
            except UnknownName as module_error:
                try:
                    found = (self.lesson(name),)
                except UnknownName as lesson_error:
                    raise UnknownName(f"{module_error}\n{lesson_error}") from None
            chosen.extend(lesson for lesson in found if lesson not in chosen)
        return chosen


WHOLE_COURSE = ("course", "all")


def load_course(path: Path = SCRIPTS / "course.toml") -> Course:
    """Read the manifest; a manifest that is not valid TOML is the author's error, named with its place."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise StudioError(f"{path}: not valid TOML: {exc}") from None
    modules = []
    for m in data["modules"]:
        sections = []
        for s in m.get("sections", []):
            lessons = tuple(
                LessonEntry(
                    id=entry["id"],
                    file=entry["file"],
                    title=entry["title"],
                    blurb=entry["blurb"],
                    module=m["number"],
                    section=s["id"],
                )
                for entry in s.get("lessons", [])
            )
            sections.append(Section(s["id"], s["title"], tuple(s.get("learn", [])), lessons))
        modules.append(Module(m["number"], m["title"], tuple(m.get("learn", [])), tuple(sections),
                              bool(m.get("beyond_outline", False))))
    return Course(data["title"], data.get("mentor", ""), tuple(modules), data.get("repository", ""))
