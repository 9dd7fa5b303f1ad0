"""The course page, `build/index.html`: every module and lesson in outline order, built lessons with their
video (subtitles on), duration, poster and both decks, the others shown as planned.

The page is self-contained (its CSS inline, subtitles inlined as data: URLs) so it works opened from disk,
where browsers refuse to load a `<track>` file from a file:// URL, and through `python -m http.server`.
"""

from __future__ import annotations

import base64
import posixpath
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from render.course import ROOT, Course
from render.decks import format_duration, inline_parts
from render.state import write_text
from render.templating import environment
from scenes import theme

PATH_KEYS = ("video", "poster", "vtt", "srt", "deck_html", "deck_pptx", "deck_pdf", "notebook")
GITHUB = re.compile(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?(?:/(?:tree|blob)/([^/]+)(/.*)?)?/?")
LAB_CHECK = ROOT / "assets" / "lab" / "check_lab.py"
CSS_VALUE = re.compile(r"[#\w\s',.()%-]+")


def root_css() -> Markup:
    """The theme's CSS variables as a `:root` rule for an inline <style> (where entities are not decoded,
    so the values go in unescaped: they are checked to be plain CSS values instead)."""
    lines = []
    for name, value in theme.css_variables().items():
        if not (CSS_VALUE.fullmatch(name) and CSS_VALUE.fullmatch(str(value))):
            raise ValueError(f"theme value {name}: {value!r} is not a plain CSS value")
        lines.append(f"  {name}: {value};")
    return Markup(":root {\n" + "\n".join(lines) + "\n}")


def rebase(lesson: dict[str, Any], lesson_dir: Path, build_dir: Path) -> dict[str, Any]:
    """A lesson.json dict (paths relative to its lesson folder) with its file paths made relative to
    `build_dir`, as `write_course_page` expects; adds `deck_html` and `deck_pptx`."""
    prefix = lesson_dir.resolve().relative_to(build_dir.resolve()).as_posix()
    out = dict(lesson)
    out.setdefault("deck_html", "deck.html")
    out.setdefault("deck_pptx", "deck.pptx")
    out.setdefault("deck_pdf", "deck.pdf")
    out.setdefault("notebook", "lesson.ipynb")
    for key in PATH_KEYS:
        if out.get(key):
            out[key] = posixpath.join(prefix, out[key])
    return out


def _href(path: str) -> str:
    """A relative URL for a POSIX path under build/ (spaces and odd characters quoted)."""
    return quote(path, safe="/")


def _subtitles(path: Path) -> str | None:
    """The WebVTT file as a data: URL; None when it is missing."""
    if not path.is_file():
        return None
    return "data:text/vtt;charset=utf-8;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def colab_url(repository: str, path: str) -> str | None:
    """The "Open in Colab" address of a notebook at `path` (relative to the build folder) published in a
    GitHub `repository` (https://github.com/OWNER/REPO, or .../tree/BRANCH/FOLDER where the build's files
    are kept); None for a repository Colab cannot open."""
    match = GITHUB.fullmatch(repository.strip())
    if match is None:
        return None
    owner, repo, branch, folder = match.groups()
    where = posixpath.join((folder or "").strip("/"), path) if folder and folder.strip("/") else path
    return f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch or 'main'}/{quote(where, safe='/')}"


def _lesson_card(entry: Any, lesson: dict[str, Any] | None, build_dir: Path,
                 repository: str = "") -> dict[str, Any]:
    card: dict[str, Any] = {
        "id": entry.id,
        "title": entry.title,
        "blurb": inline_parts(entry.blurb),
        "state": "planned",
        "scripted": entry.scripted,
    }
    if lesson is None:
        return card
    if not lesson.get("video") or not (build_dir / lesson["video"]).is_file():
        return card

    def existing(key: str, default: str | None = None) -> str | None:
        rel = lesson.get(key) or default
        return _href(rel) if rel and (build_dir / rel).is_file() else None

    folder = posixpath.dirname(lesson["video"])
    card.update(
        state="built",
        title=lesson.get("title") or entry.title,
        video=_href(lesson["video"]),
        poster=existing("poster"),
        duration=format_duration(lesson.get("duration")),
        subtitles=_subtitles(build_dir / lesson["vtt"]) if lesson.get("vtt") else None,
        vtt=existing("vtt"),
        srt=existing("srt"),
        deck_html=existing("deck_html", posixpath.join(folder, "deck.html")),
        deck_pptx=existing("deck_pptx", posixpath.join(folder, "deck.pptx")),
        deck_pdf=existing("deck_pdf", posixpath.join(folder, "deck.pdf")),
        notebook=existing("notebook", posixpath.join(folder, "lesson.ipynb")),
        device=lesson.get("device", ""),
        torch=lesson.get("torch", ""),
    )
    notebook = lesson.get("notebook") or posixpath.join(folder, "lesson.ipynb")
    card["colab"] = colab_url(repository, notebook) if repository and card["notebook"] else None
    return card


def copy_lab_check(build_dir: Path) -> str | None:
    """Copy the learners' lab check (assets/lab/check_lab.py) into the build, so the page's link works from
    disk and from a server; its href, or None when there is no lab check to link."""
    if not LAB_CHECK.is_file():
        return None
    write_text(build_dir / "lab" / LAB_CHECK.name, LAB_CHECK.read_text(encoding="utf-8"))
    return f"lab/{LAB_CHECK.name}"


def write_course_page(course: Course, lessons: dict[str, dict[str, Any] | None], build_dir: Path) -> Path:
    """Write `build_dir/index.html`.

    `lessons` maps a lesson id to its lesson record as a dict WITH PATHS RELATIVE TO `build_dir`
    (e.g. "module1/01-introduction-to-tensors/lesson.mp4"; `rebase` converts a lesson.json dict, whose paths
    are relative to its lesson folder), or to None when it is not built. Decks are found from
    `deck_html`/`deck_pptx` or beside the video, and linked only when the file exists, so every link
    on the page resolves; so are the PDF handout (`deck_pdf`) and the notebook (`notebook`), which gets
    an "Open in Colab" link when course.toml names the GitHub `repository` the build is published in.
    """
    repository = course.repository
    modules: list[dict[str, Any]] = []
    cards_all: list[dict[str, Any]] = []
    for module in course.modules:
        sections = []
        for section in module.sections:
            cards = [_lesson_card(e, lessons.get(e.id), build_dir, repository) for e in section.lessons]
            cards_all.extend(cards)
            sections.append(
                {"id": section.id, "title": section.title, "learn": section.learn, "lessons": cards}
            )
        modules.append(
            {"number": module.number, "title": module.title, "learn": module.learn, "sections": sections,
             "beyond_outline": module.beyond_outline}
        )
    built = sum(1 for c in cards_all if c["state"] == "built")
    total = len(cards_all)
    html = (
        environment()
        .get_template("course.html")
        .render(
            course=course,
            modules=modules,
            built=built,
            total=total,
            root_css=root_css(),
            inline_parts=inline_parts,
            lab_check=copy_lab_check(build_dir),
        )
    )
    dest = build_dir / "index.html"
    write_text(dest, html)
    return dest
