"""`render serve` in a real browser: a served lesson page reloads by itself after a narration edit and shows
the new subtitle text; a syntax error shows an overlay with the file and line; fixing it clears it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import av
import numpy as np
import pytest

from tests.conftest import Project
from tests.test_decks_fixtures import launch_chromium

pytestmark = pytest.mark.slow

WAIT_MS = 600_000  # a rebuild on a loaded two-core machine can take minutes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(project: Project, *options: str) -> Iterator[str]:
    """`render serve 1.1.1` on a free port of this copy, until the block ends; yields the lesson page's URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(project.root)}
    proc = subprocess.Popen([sys.executable, "-m", "render.cli", "serve", "1.1.1", "--voice", "espeak", "--port",
                             str(port), *options], cwd=project.root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/module1/tiny/"
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(1)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def served(project: Project) -> Iterator[tuple[Project, str]]:
    with serving(project) as url:
        yield project, url


def test_a_served_lesson_page_follows_edits_and_shows_errors(served: tuple[Project, str]) -> None:
    from playwright.sync_api import sync_playwright

    project, url = served
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("text=Behold 6 numbers.")
        page.wait_for_function("() => document.querySelector('script[src=\"/__studio/live.js\"]') !== null")
        project.edit(project.script(), "Behold {{ x.numel }} numbers.", "Gaze upon {{ x.numel }} numbers.")
        page.wait_for_selector("text=Gaze upon 6 numbers.", timeout=WAIT_MS)  # reloaded by itself
        assert "counting" in page.url  # opened on the beat that changed
        # then the video joined again is swapped in place (a reloaded page would have no "?v=" on it),
        # and it is the new one: as long as the new lesson record says
        page.wait_for_function("() => document.querySelector('video.lesson').src.includes('?v=')",
                               timeout=WAIT_MS)
        page.wait_for_function("() => document.querySelector('video.lesson').readyState >= 1", timeout=WAIT_MS)
        record = json.loads((project.lesson_dir() / "lesson.json").read_text())
        assert "Gaze upon" in record["beats"][0]["narration"]
        assert abs(page.evaluate("() => document.querySelector('video.lesson').duration") - record["duration"]) < 0.1
        assert not page.is_visible("#studio-joining")

        good = project.script().read_text()
        project.script().write_text(good + "\ndef broken(:\n")
        overlay = page.wait_for_selector("#studio-error", timeout=WAIT_MS)
        assert "tiny.py:" in overlay.inner_text() and "SyntaxError" in overlay.inner_text()
        assert page.is_visible("text=Gaze upon 6 numbers.")  # the last good page stays under the overlay

        project.script().write_text(good)
        page.wait_for_selector("#studio-error", state="detached", timeout=WAIT_MS)
        browser.close()


def picture_changes(video: str) -> int:
    """How many times the picture of a video changes by more than the encoder's own noise."""
    with av.open(video) as container:
        frames = [f.to_ndarray(format="gray").astype(np.int16) for f in container.decode(video=0)]
    return sum(1 for a, b in zip(frames, frames[1:], strict=False) if np.abs(a - b).mean() > 1.0)


def test_draft_beats_are_one_still_per_step_and_marked_on_the_page(project: Project) -> None:
    from playwright.sync_api import sync_playwright

    project.edit(project.script(), 'visual=Show("x", code=False)', 'visual=Show("x", "y", code=False)')
    project.edit(project.script(), 'return {"x": x}', 'return {"x": x, "y": x + 1}')
    project.edit(project.script(), "numbers.", "numbers. | And one more each.")
    with serving(project, "--draft") as url, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("text=Behold 6 numbers.", timeout=WAIT_MS)
        badges = page.locator("h2 .badge").all_inner_texts()
        assert badges == ["draft", "draft"], badges
        clip = project.lesson_dir() / "beats" / "01-counting.mp4"
        # two steps, two stills (no animation frames between them): the picture changes exactly once
        assert picture_changes(str(clip)) == 1
        project.edit(project.script(), "And one more each.", "And one more for each.")
        page.wait_for_selector("text=And one more for each.", timeout=WAIT_MS)
        browser.close()
