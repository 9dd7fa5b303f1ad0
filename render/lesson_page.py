"""A page per lesson (`build/module<M>/<slug>/index.html`): the video, each beat as its poster with its
narration as timed subtitles, and links to both decks, the notebook and the handout. `render serve` opens
it on the beat that just changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from render.files import write_text
from render.records import LessonRecord

LINKS = (("deck.html", "HTML deck"), ("deck.pptx", "PowerPoint deck"), ("lesson.ipynb", "Notebook"),
         ("deck.pdf", "PDF handout"), ("lesson.vtt", "Subtitles"))


def clock(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}:{rest:02d}"


def beat_cues(out: Path, index: int, name: str) -> list[dict[str, str]]:
    """A beat's narration segments with their times, from its narration step's timing."""
    timing = out / "beats" / f"{index + 1:02d}-{name}.timing.json"
    if not timing.is_file():
        return []
    return [{"at": clock(s["start"]), "text": s["text"]} for s in json.loads(timing.read_text())["segments"]]


def page_context(record: LessonRecord, out: Path) -> dict[str, Any]:
    beats = [{"name": b.name, "title": b.title, "poster": b.poster, "start": b.start, "at": clock(b.start),
              "draft": b.draft, "cues": beat_cues(out, i, b.name)}
             for i, b in enumerate(record.beats)]
    links = [{"href": name, "label": label} for name, label in LINKS if (out / name).is_file()]
    return {"lesson": record, "beats": beats, "links": links, "course_href": "../../index.html"}


def write_lesson_page(record: LessonRecord, out: Path) -> Path:
    from render.page import root_css
    from render.templating import environment

    html = environment().get_template("lesson.html").render(root_css=root_css(), **page_context(record, out))
    write_text(out / "index.html", html)
    return out / "index.html"
