"""Benchmark `render serve` (not a test): the time from saving a one-sentence narration edit to the open
lesson page, reloaded by itself, showing the new text; at the default quality and with --draft. Also the time
from starting `render serve` to its first HTTP answer (it serves the last good build while it rebuilds) and to
the end of that first rebuild.

    .venv/bin/python bench/bench_serve.py 1.1.1            # a lesson of this checkout, on a copy

It works on a copy of the project in a temporary folder and measures --edits edits in each mode. Goal: at most 10
s, and at most 3 s in draft. The page reloads once the changed beat and the lesson page are rebuilt; the time until
its video is swapped for the one joined again is reported too, with what the server printed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_plan import copy_project  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def first_narration(script: Path) -> str:
    """The first beat narration's opening word (an edit puts a marker before it)."""
    match = re.search(r'narration=(?:"""|")\s*([A-Z][a-z]+)', script.read_text())
    if match is None:
        sys.exit(f"no narration found in {script}")
    return match.group(1)


def marker() -> str:
    """A number new to each edit, so the voice's cache cannot have it and the edit is narrated as a real one."""
    return f"Behold {random.randrange(100, 1000)}!"


def edit(script: Path, word: str, old: str, new: str) -> None:
    """Put marker `new` before the first narration's first word, in place of `old` (none at first)."""
    text = script.read_text()
    for quote in ('"', '"""'):
        before = f"{quote}{old} {word}" if old else f"{quote}{word}"
        if before in text:
            script.write_text(text.replace(before, f"{quote}{new} {word}", 1))
            return
    sys.exit(f"could not edit {script}")


def first_answer(url: str) -> int:
    """The status of the first answer from `url` (polled until the server listens)."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=900) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:  # 503: a page not built yet, being built
            return int(error.code)
        except OSError:
            time.sleep(0.02)


def measure(root: Path, target: str, script: Path, draft: bool, edits: int) -> tuple[list[tuple[float, float]],
                                                                                       list[str], str]:
    """For each of `edits` saved edits: seconds from saving to the reloaded page showing it, and to the page's
    lesson video swapped for the one joined again; what the server printed meanwhile; and how long from its
    start to its first answer and to the end of its first rebuild. Each edit waits for the rebuild before it
    (decks included) to end."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(root)}
    cmd = [sys.executable, "-m", "render.cli", "serve", target, "--voice", "espeak", "--port", str(port)]
    started = time.perf_counter()
    server = subprocess.Popen(cmd + (["--draft"] if draft else []), cwd=root, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    said: list[str] = []
    times: list[tuple[float, float]] = []
    word, old = first_narration(script), ""
    try:
        assert server.stdout is not None
        for line in server.stdout:  # the address, as soon as it listens
            if line.startswith("serving "):
                url = line.split()[1]
                break
        threading.Thread(target=lambda: said.extend(server.stdout or []), daemon=True).start()
        status = first_answer(url)
        answered = time.perf_counter() - started
        while not any("up to date" in line for line in said):  # the first rebuild, decks included
            assert server.poll() is None, "".join(said)
            time.sleep(0.05)
        startup = (f"start -> first answer {answered:.2f} s (HTTP {status}); -> first rebuild done "
                   f"{time.perf_counter() - started:.2f} s")
        said.clear()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page()
            page.goto(url)
            for _ in range(edits):
                finished = sum("decks, handouts and notebooks rebuilt" in line for line in said)
                new = marker()
                edit(script, word, old, new)
                saved = time.perf_counter()
                page.wait_for_selector(f"text={new}", timeout=900_000)
                seconds = time.perf_counter() - saved
                page.wait_for_function("() => document.querySelector('video.lesson').src.includes('?v=')",
                                       timeout=900_000)
                times.append((seconds, time.perf_counter() - saved))
                while sum("decks, handouts and notebooks rebuilt" in line for line in said) == finished:
                    time.sleep(0.2)
                time.sleep(1)
                old = new
            browser.close()
        return times, said, startup
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", nargs="?", default="1.1.1")
    parser.add_argument("--edits", type=int, default=3, help="edits measured in each mode (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="studio-serve-") as tmp:
        root = Path(tmp) / "studio"
        copy_project(root, None)
        sys.path.insert(0, str(root))
        from render.course import load_course

        script = load_course().lesson(args.target).script  # the copy's (its render package is first on the path)
        original = script.read_text()
        for draft in (False, True):
            times, said, startup = measure(root, args.target, script, draft, args.edits)
            script.write_text(original)
            goal = 3 if draft else 10
            name = "draft" if draft else "default"
            print("".join(f"    server: {line}" for line in said), end="")
            pages = [t[0] for t in times]
            print(f"{name:8s} save -> reloaded page: {', '.join(f'{t:.2f}' for t in pages)} s; median "
                  f"{statistics.median(pages):.2f} s (goal <= {goal} s); -> lesson video swapped in place: "
                  f"{', '.join(f'{t[1]:.2f}' for t in times)} s; {startup}", flush=True)


if __name__ == "__main__":
    main()
