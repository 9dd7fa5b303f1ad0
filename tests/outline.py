"""Parse the client's course outline (markdown) into modules, sections and lessons, for checking the manifest."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

OUTLINE = Path(__file__).parent / "data" / "course-outline.md"
LINK = re.compile(r"^\s*(\d+)\.\s+\[(?P<title>[^\]]+)\]\((?P<href>[^)]+)\)\s*-?\s*(?P<blurb>.*)$")
PLAIN = re.compile(r"^\s*(\d+)\.\s+(?P<title>[^\[].*?):?\s*$")


@dataclass
class OutlineLesson:
    title: str
    href: str
    blurb: str


@dataclass
class OutlineSection:
    title: str
    learn: list[str] = field(default_factory=list)
    lessons: list[OutlineLesson] = field(default_factory=list)


@dataclass
class OutlineModule:
    number: int
    title: str
    learn: list[str] = field(default_factory=list)
    sections: list[OutlineSection] = field(default_factory=list)


def parse_outline(text: str, commented: bool = False) -> list[OutlineModule]:
    """Modules, sections and lessons of the outline, leaving out what is commented out (or, with `commented`,
    reading it too: the modules the outline keeps for later)."""
    text = re.sub(r"<!--|-->", "", text) if commented else re.sub(r"<!--.*?-->", "", text, flags=re.S)
    modules: list[OutlineModule] = []
    mode = ""
    for line in text.splitlines():
        if m := re.match(r"^## Module (\d+):?\s*(.*)$", line):
            modules.append(OutlineModule(int(m.group(1)), m.group(2).strip()))
            mode = "module"
            continue
        if not modules:
            continue
        mod = modules[-1]
        if m := re.match(r"^### (\d+\.\d+) (.*)$", line):
            mod.sections.append(OutlineSection(m.group(2).strip()))
            mode = "section"
        elif line.strip().startswith("What you will learn"):
            mode = "learn-module" if not mod.sections else "learn"
        elif re.match(r"^(?:#+ .*)?Lessons:?\s*$", line.strip()):
            mode = "lessons"
        elif mode in ("learn", "learn-module") and (m := re.match(r"^\s*(?:\d+\.|-)\s+(.*\S)", line)):
            (mod.learn if mode == "learn-module" else mod.sections[-1].learn).append(m.group(1).strip())
        elif m := LINK.match(line):
            if not mod.sections:
                mod.sections.append(OutlineSection(""))
            mod.sections[-1].lessons.append(OutlineLesson(m["title"].strip(), m["href"], m["blurb"].strip()))
        elif mode == "learn-module" and (m := PLAIN.match(line)):
            pass
    return modules
