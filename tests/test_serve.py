"""`render serve` in a real browser: a served lesson page reloads by itself after a narration edit and shows
the new subtitle text; a syntax error shows an overlay with the file and line; fixing it clears it. It answers
before its first rebuild ends (the last good build, or a page saying it is being built), and a stop, during
that rebuild or after it, is clean: no "leaked semaphore" from multiprocessing's resource tracker, for serve
and for a render on a local Dask cluster."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import ROOT, Project
from tests.test_decks_fixtures import launch_chromium

pytestmark = pytest.mark.slow

WAIT_MS = 600_000  # a rebuild on a loaded two-core machine can take minutes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """`render serve 1.1.1` on a free port of a project copy, as a subprocess whose output is collected."""

    def __init__(self, project: Project, *options: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/module1/tiny/"
        env = {**os.environ, "PYTHONPATH": str(project.root)}
        self.proc = subprocess.Popen([sys.executable, "-m", "render.cli", "serve", "1.1.1", "--port", str(self.port),
                                      *options], cwd=project.root, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        # until every writer of the pipe is gone: the resource tracker too, which warns after serve exits
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout or []), daemon=True)
        self.reader.start()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, seconds: float = WAIT_MS / 1000) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.output:
            assert self.proc.poll() is None, f"serve ended before {text!r}:\n{self.output}"
            assert time.monotonic() < deadline, f"no {text!r} within {seconds:g} s:\n{self.output}"
            time.sleep(0.1)

    def listening(self) -> None:
        deadline = time.monotonic() + WAIT_MS / 1000
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert self.proc.poll() is None, self.output
                assert time.monotonic() < deadline, self.output
                time.sleep(0.1)

    def stop(self, signum: int = signal.SIGTERM) -> str:
        """Stop it as Ctrl-C (SIGINT) or a closing session (SIGTERM) would; all it and its children printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        self.proc.wait(timeout=30)
        self.reader.join(timeout=30)
        return self.output


@contextmanager
def serving(project: Project, *options: str) -> Iterator[str]:
    """`render serve 1.1.1` on a free port of this copy, until the block ends; yields the lesson page's URL."""
    served = Serve(project, "--voice", "espeak", *options)
    served.listening()
    try:
        yield served.url
    finally:
        served.stop()


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
        page.goto(url)  # the first rebuild may still run: the page opens by itself when it is written
        page.wait_for_selector("text=Behold 6 numbers.", timeout=WAIT_MS)
        page.wait_for_function("() => document.querySelector('script[src=\"/__studio/live.js\"]') !== null")
        # the tiny lesson's last beat speaks one segment over two steps: lint marks it on the served page
        marked = page.wait_for_selector("#the_end ul.studio-lint", timeout=WAIT_MS)
        assert "tiny.py:" in marked.inner_text() and "1 narration segment but the visual plays 2 steps" \
            in marked.inner_text()
        assert page.query_selector("#counting ul.studio-lint") is None
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
    # the fastest loop leaves decks, handouts and notebooks to a full render
    assert not any((project.lesson_dir() / name).exists() for name in ("deck.pptx", "handout.pdf", "lesson.ipynb"))


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def first_event(port: int) -> dict[str, object]:
    """The state the live channel tells a page that opens now."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__studio/events", timeout=60) as events:
        for raw in events:
            line = raw.decode()
            if line.startswith("data: "):
                return dict(json.loads(line.removeprefix("data: ")))
    raise AssertionError("the events channel closed")


def gate(project: Project) -> Path:
    """The lesson's trace waits for a file the test writes: serve's first rebuild cannot end before that."""
    opened = project.root / "gate-open"
    script = project.script()
    wait = f"import pathlib, time\nwhile not pathlib.Path({str(opened)!r}).exists():\n    time.sleep(0.05)\n"
    script.write_text(script.read_text().replace("import torch\n", "import torch\n" + wait, 1))
    return opened


def quiet(output: str) -> None:
    """A clean stop: exit 130 saying serve stopped (not that a render broke off), no traceback, nothing the resource
    tracker cleaned up."""
    assert "stopped serving" in output and "interrupted" not in output, output
    assert "leaked semaphore" not in output and "resource_tracker" not in output, output
    assert "Traceback" not in output, output


def test_serve_answers_before_its_first_rebuild_ends_and_stops_cleanly(project: Project) -> None:
    opened = gate(project)
    served = Serve(project, "--voice", "espeak")
    try:
        served.listening()
        # no build yet, and the first rebuild is held in the trace: a page saying so, that reloads when ready
        status, html = get(served.url)
        assert status == 503 and "Being built" in html, (status, html)
        assert 'id="studio-building"' not in html  # that note is for pages of the last good build
        assert '<script src="/__studio/live.js" data-version="0">' in html
        assert first_event(served.port)["building"] is True
        assert "serving http://127.0.0.1:" in served.output and "rebuilt in" not in served.output
        opened.touch()
        served.wait_for("up to date; watching")
        status, html = get(served.url)
        assert status == 200 and "Behold 6 numbers." in html and 'id="studio-building"' not in html
        assert first_event(served.port)["building"] is False
        status, html = get(served.url + "nothing-here.html")
        assert status == 404 and "Not built" in html  # says why, and reloads if a rebuild writes it
        served.proc.send_signal(signal.SIGINT)  # Ctrl-C, once up and idle
        assert served.proc.wait(timeout=30) == 130
    finally:
        output = served.stop()
    quiet(output)

    # the next serve, after an edit: the last good build at once, marked as rebuilding, while the rebuild is
    # held; SIGTERM then stops it, the rebuild included, as cleanly
    project.edit(project.script(), "Behold {{ x.numel }} numbers.", "Gaze upon {{ x.numel }} numbers.")
    opened.unlink()
    served = Serve(project, "--voice", "espeak")
    try:
        served.listening()
        status, html = get(served.url)
        assert status == 200 and "Behold 6 numbers." in html and 'id="studio-building"' in html, (status, html)
        assert first_event(served.port)["building"] is True
        served.wait_for("rebuilding;")
        time.sleep(2)  # render processes starting, the trace waiting at the gate
        served.proc.send_signal(signal.SIGTERM)
        assert served.proc.wait(timeout=30) == 130
    finally:
        output = served.stop()
    quiet(output)
    assert "rebuilt in" not in output
    assert "Behold" in (project.lesson_dir() / "lesson.json").read_text()  # the last good build stays


KILLED_WHILE_BUSY = textwrap.dedent("""
    import multiprocessing, sys, time, tqdm
    from concurrent.futures import ProcessPoolExecutor
    from render.pool import RenderPool

    if sys.argv[1] == "render-pool":
        pool = RenderPool(1)
    else:  # a bare spawn pool, as the render's was
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    pool.submit(tqdm.tqdm, total=1, disable=True).exception()  # a progress bar, as Manim makes: its lock
    pool.submit(time.sleep, 60)
    time.sleep(0.5)
    for process in list(pool._processes.values()):  # a Ctrl-C while the process renders: it is killed
        process.kill()
    pool.shutdown(wait=True, cancel_futures=True)
    print("killed")
""")


@pytest.mark.parametrize("pool", ["render-pool", "bare-pool"])
def test_a_render_process_killed_mid_job_leaves_no_semaphore(pool: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", KILLED_WHILE_BUSY, pool], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0 and "killed" in result.stdout, result.stderr
    # in a bare pool, tqdm's default lock is a named semaphore made in the process, which a kill leaves behind;
    # every render process takes a thread lock instead (render.pool)
    assert ("leaked semaphore" in result.stderr) == (pool == "bare-pool"), result.stderr


def test_a_render_on_a_local_dask_cluster_stops_without_leaked_semaphores(project: Project) -> None:
    result = project.render("1.1.1", "--voice", "none", "--only", "video", "--scheduler", "local:2")
    assert (project.lesson_dir() / "lesson.mp4").is_file()
    assert "leaked semaphore" not in result.stderr + result.stdout, result.stderr
