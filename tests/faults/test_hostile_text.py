"""Hostile text everywhere a lesson puts words: HTML, Jinja braces, quotes, right-to-left text, emoji and a
very long word, in the title, narration, bullets, objectives, recap and challenge. It is shown literally
in the video (inside the frame), the HTML deck, the PPTX, the subtitles and the course page."""

from __future__ import annotations

import html
import json
from html.parser import HTMLParser

import pytest

from tests.conftest import Project

pytestmark = pytest.mark.slow

HOSTILE = "<b>bold?</b> {{ x }} {% if %} \"quoted\" & 'it's' 🧪🔥 שלום مرحبا"
LONG = "Supercalifragilisticexpialidociouselectrotensorification"

SCRIPT = f'''
import torch
from render.lesson import Lesson
from scenes.vocabulary import Show, Title

H = {HOSTILE!r}
lesson = Lesson(objectives=[H], recap=[H + " {LONG}"], challenge=H)


@lesson.beat("Title " + H, narration="{{% raw %}}" + H + "{{% endraw %}}. {LONG} is a long word.",
             visual=Title(heading="Objectives", lines=[H, "{LONG}"]), slide=[H])
def opening(device):
    return {{}}


@lesson.beat("{LONG}{LONG}", narration="Behold {{{{ x.numel }}}} numbers.", visual=Show("x", code=False),
             slide=[H])
def counting(device):
    return {{"x": torch.arange(6, device=device).reshape(2, 3)}}
'''


class Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(markup: str) -> str:
    parser = Text()
    parser.feed(markup)
    return " ".join(parser.parts)


def test_hostile_text_is_shown_literally_everywhere(project: Project) -> None:
    project.script().write_text(SCRIPT)
    course = project.root / "scripts" / "course.toml"
    course.write_text(course.read_text().replace('blurb = "Two beats, for tests."',
                                                 f"blurb = {json.dumps(HOSTILE, ensure_ascii=False)}"))
    project.render("1.1.1", "--voice", "espeak")
    out = project.lesson_dir()
    deck = visible_text((out / "deck.html").read_text())
    assert deck.count(HOSTILE) >= 4  # objectives, the two slides' bullets, recap and challenge
    from pptx import Presentation

    pptx = " ".join(shape.text_frame.text for slide in Presentation(str(out / "deck.pptx")).slides
                    for shape in slide.shapes if shape.has_text_frame)
    assert HOSTILE in pptx
    vtt = (out / "lesson.vtt").read_text()
    assert html.unescape(vtt).count("<b>bold?</b>") == 1 and "<b>" not in vtt  # escaped: shown, not styled
    assert "🧪🔥" in vtt and "שלום" in vtt
    assert HOSTILE in visible_text((project.build / "index.html").read_text())
    for shown in sorted((out / "beats").glob("*.shown.json")):
        assert json.loads(shown.read_text())["lint"] == [], shown.name  # every word inside the frame
