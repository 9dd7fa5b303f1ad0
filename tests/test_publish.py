"""Upload-ready files: chapters as video sites read them, the description, the thumbnail."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urljoin

import pytest
from hypothesis import given
from hypothesis import strategies as st

from render.publish import MIN_CHAPTER, MIN_CHAPTERS, chapters, description, stamp, write_thumbnail
from tests.conftest import Project


def test_short_beats_join_the_chapter_before_and_the_first_starts_at_zero() -> None:
    beats = [("Objectives", 6.0), ("Rows", 14.0), ("Cols", 3.0), ("Shapes", 20.0), ("Recap", 4.0)]
    assert chapters(beats) == []  # Objectives+Rows+Cols (23 s), Shapes+Recap (24 s): two chapters, too few
    beats.insert(4, ("Views", 15.0))
    assert chapters(beats) == [(0.0, "Objectives"), (23.0, "Shapes"), (43.0, "Views")]
    assert chapters([("A", 12.0), ("B", 11.0), ("C", 15.0), ("D", 2.0)]) == [(0.0, "A"), (12.0, "B"), (23.0, "C")]
    assert chapters([("A", 30.0), ("B", 30.0)]) == []  # two chapters: a site would ignore the list


@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), st.floats(0.5, 90.0)), max_size=30))
def test_chapters_keep_the_rules_video_sites_read(beats: list[tuple[str, float]]) -> None:
    listed = chapters(beats)
    if not listed:
        return
    total = sum(d for _, d in beats)
    starts = [s for s, _ in listed] + [total]
    assert listed[0][0] == 0.0 and len(listed) >= MIN_CHAPTERS
    assert all(b - a >= MIN_CHAPTER - 1e-9 for a, b in zip(starts, starts[1:], strict=False))
    assert {t for _, t in listed} <= {t for t, _ in beats}


def test_description_lists_objectives_and_chapters(tmp_path: Path) -> None:
    beats = [SimpleNamespace(title=t, duration=d) for t, d in [("Opening", 12.0), ("`view`", 65.0), ("Recap", 15.0)]]
    record = SimpleNamespace(id="1.1.3", title="Tensor `Metamorphosis`", blurb="Reshape at will.",
                             objectives=["Use `view`"], beats=beats, vtt="lesson.vtt", srt="lesson.srt")
    text = description(record)
    assert text.startswith("1.1.3 · Tensor Metamorphosis\n\nReshape at will.\n\nYou will learn:\n- Use view")
    assert "Chapters:\n0:00 Opening\n0:12 view\n1:17 Recap" in text
    assert stamp(3723) == "1:02:03"


def test_thumbnail_is_1280_by_720(tmp_path: Path) -> None:
    from PIL import Image

    poster = tmp_path / "poster.png"
    Image.new("RGB", (854, 480), "white").save(poster)
    write_thumbnail(poster, tmp_path / "thumbnail.png")
    with Image.open(tmp_path / "thumbnail.png") as thumb:
        assert thumb.size == (1280, 720)


class Links(HTMLParser):
    """Every href and src of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [v for k, v in attrs if k in ("href", "src", "poster") and v]


def serve(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        time.sleep(0.05)
    return server, port


@pytest.mark.slow
def test_the_course_folder_served_from_another_path_has_no_broken_link(project: Project, tmp_path: Path) -> None:
    """The build folder copied as-is under /courses/pytorch/ of a static host: every href and src of every page
    (course page, lesson page, HTML deck) answers there and stays inside the copy (relative links only)."""
    project.render("1.1.1", "--voice", "espeak", "--jobs", "2")
    site = tmp_path / "site"
    shutil.copytree(project.build, site / "courses" / "pytorch", ignore=shutil.ignore_patterns(".state", ".lock"))
    pages = sorted((site / "courses" / "pytorch").rglob("*.html"))
    assert {p.name for p in pages} >= {"index.html", "deck.html"} and len(pages) >= 3
    server, port = serve(site)
    base = f"http://127.0.0.1:{port}/courses/pytorch/"
    checked = 0
    try:
        for page in pages:
            url = base + page.relative_to(site / "courses" / "pytorch").as_posix()
            parser = Links()
            parser.feed(urllib.request.urlopen(url, timeout=10).read().decode())
            for link in parser.found:
                if link.startswith(("https://", "mailto:", "data:", "#")):
                    continue  # offsite (Colab, the repository) or on the page itself
                target = urljoin(url, link).split("#")[0]
                assert target.startswith(base), (page.name, link)
                with urllib.request.urlopen(target, timeout=10) as answer:
                    assert answer.status == 200, (page.name, link)
                checked += 1
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert checked >= 10, checked
    print(f"{checked} links of {len(pages)} pages answered")
