"""The course page: modules and lessons in outline order, built lessons with video, subtitles, poster,
duration and decks, the rest planned; opened in Chromium from disk and through `python -m http.server`."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from render import decks, page
from render.course import Course, load_course
from tests.test_decks_fixtures import HOSTILE, PageProblems, launch_chromium, make_hostile_lesson

BUILT = "1.1.1"


class Cards(HTMLParser):
    """Lesson cards (<li class="lesson ...">) in document order with their video, track and links."""

    def __init__(self) -> None:
        super().__init__()
        self.modules: list[str] = []
        self.cards: list[dict[str, Any]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "section" and "module" in a.get("class", "").split():
            self.modules.append(a["id"])
        elif tag == "li" and "lesson" in a.get("class", "").split():
            self.cards.append({"id": a["data-lesson"], "class": a["class"], "links": {}, "text": ""})
        elif self.cards and tag == "video":
            self.cards[-1]["video"] = a
        elif self.cards and tag == "track":
            self.cards[-1]["track"] = a
        elif self.cards and tag == "a":
            self.cards[-1]["links"][a.get("class", "")] = a["href"]

    def handle_data(self, data: str) -> None:
        self.text += data
        if self.cards:
            self.cards[-1]["text"] += data


@pytest.fixture(scope="module")
def built_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Course, dict[str, Any], Path]:
    """A build folder with lesson 1.1.1 built (hostile text, decks written) and the course page."""
    lesson, lesson_dir = make_hostile_lesson(tmp_path_factory)
    build = lesson_dir.parent.parent
    decks.copy_deck_assets(build)
    decks.write_html_deck(lesson, lesson_dir, "../../assets")
    decks.write_pptx_deck(lesson, lesson_dir)
    course = load_course()
    lessons: dict[str, dict[str, Any] | None] = {e.id: None for e in course.lessons}
    lessons[BUILT] = page.rebase(lesson, lesson_dir, build)
    page.write_course_page(course, lessons, build)
    return course, lesson, build


def test_page_lists_the_outline_in_order(built_page: tuple[Course, dict[str, Any], Path]) -> None:
    course, lesson, build = built_page
    parsed = Cards()
    parsed.feed((build / "index.html").read_text(encoding="utf-8"))
    assert parsed.modules == [m.name for m in course.modules] and "module3" in parsed.modules
    assert [c["id"] for c in parsed.cards] == [e.id for e in course.lessons]
    html = (build / "index.html").read_text(encoding="utf-8")
    module3 = html.split('id="module3"', 1)[1]
    assert "Beyond the published outline" in module3 and "Beyond the published outline" not in html.split(
        'id="module3"', 1)[0]  # module 3 says it is made ahead of the outline; the others do not
    for card in parsed.cards:
        if card["id"] == BUILT:
            assert card["class"] == "lesson built"
            video = card["video"]
            assert video["src"] == "module1/01-introduction-to-tensors/lesson.mp4"
            assert video["poster"] == "module1/01-introduction-to-tensors/poster.png"
            assert card["track"]["src"].startswith("data:text/vtt") and "default" in card["track"]
            assert "0:06" in card["text"]
            assert card["links"]["deck-html"] == "module1/01-introduction-to-tensors/deck.html"
            assert card["links"]["deck-pptx"] == "module1/01-introduction-to-tensors/deck.pptx"
            assert lesson["title"] in card["text"]  # hostile title, shown as text
        else:
            assert card["class"] == "lesson planned" and "video" not in card and card["links"] == {}
            assert "planned" in card["text"] or "not rendered yet" in card["text"]
    html = (build / "index.html").read_text(encoding="utf-8")
    assert "<script" not in html and HOSTILE not in html  # escaped in the source...
    assert HOSTILE in parsed.text  # ...and literal once parsed


def test_missing_deck_is_not_linked(built_page: tuple[Course, dict[str, Any], Path], tmp_path: Path) -> None:
    course, lesson, build = built_page
    entry = page.rebase(lesson, build / "module1" / lesson["slug"], build)
    entry["deck_pptx"] = "module1/nowhere/deck.pptx"
    page.write_course_page(course, {BUILT: entry}, tmp_path)  # tmp_path: no video there either
    parsed = Cards()
    parsed.feed((tmp_path / "index.html").read_text(encoding="utf-8"))
    assert all(c["links"] == {} and "video" not in c for c in parsed.cards)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def check_page_in_browser(browser: Any, url: str, build: Path, shot: Path, base: str | None) -> None:
    """Open the page: no console error or failed request, the video loads with its subtitles showing,
    every link resolves (fetched through the server, or a file on disk), and the HTML deck opens."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    problems = PageProblems(tab, allow_http=base)
    tab.goto(url)
    tab.wait_for_function(
        """() => { const v = document.querySelector('video'); const t = v && v.textTracks[0];
        return v.readyState >= 2 && t && t.mode === 'showing' && t.cues && t.cues.length > 0; }""",
        timeout=15000,
    )
    tab.locator("li.lesson.built").screenshot(path=str(shot))
    urls = tab.evaluate(
        """() => [...document.querySelectorAll('a[href], video[src], video[poster], link[href], script[src]')]
           .flatMap(e => [e.href, e.src,
                          e.poster ? new URL(e.getAttribute('poster'), document.baseURI).href : '']
           .filter(u => typeof u === 'string' && u.length > 0 && !u.startsWith('data:')))"""
    )
    assert len(urls) >= 4
    for link in urls:
        if base:
            assert link.startswith(base), link
            assert tab.request.get(link).status == 200, link
        else:
            assert link.startswith("file://"), link
            assert Path(link.removeprefix("file://").split("#")[0]).is_file(), link
    assert problems.real_errors() == [] and problems.offsite() == []
    deck_url = tab.evaluate("document.querySelector('a.deck-html').href")
    deck_tab = context.new_page()
    deck_problems = PageProblems(deck_tab, allow_http=base)
    deck_tab.goto(deck_url)
    deck_tab.wait_for_function("window.Reveal && Reveal.isReady()")
    assert deck_tab.evaluate("Reveal.getTotalSlides()") == 5
    deck_tab.wait_for_timeout(300)
    assert deck_problems.errors == [] and deck_problems.offsite() == []
    context.close()


@pytest.mark.slow
def test_page_in_chromium_from_disk_and_http(
    built_page: tuple[Course, dict[str, Any], Path], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    _, _, build = built_page
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(build)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}/"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        with sync_playwright() as p:
            browser = launch_chromium(p)
            try:
                check_page_in_browser(
                    browser, (build / "index.html").as_uri(), build, tmp_path / "disk.png", None
                )
                check_page_in_browser(browser, base + "index.html", build, tmp_path / "http.png", base)
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"screenshots: {tmp_path}")


def test_the_course_page_is_keyed_on_the_lab_check_it_copies(tmp_path: Path) -> None:
    """The page copies assets/lab/check_lab.py beside itself: an edit to it alone must rebuild the page."""
    from render.course import load_course
    from render.settings import Settings
    from render.stages import page_step

    step = page_step(load_course(), Settings(build_dir=tmp_path))
    assert "assets/lab/check_lab.py" in step.inputs["code"]
