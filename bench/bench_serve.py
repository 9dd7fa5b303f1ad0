"""Benchmark `render serve` (not a test): the time from saving a one-sentence narration edit to the open
lesson page, reloaded by itself, showing the new text; at the default quality and with --draft.

    .venv/bin/python bench/bench_serve.py 1.1.1            # a lesson of this checkout, on a copy

It works on a copy of the project in a temporary folder. Goal: at most 10 s, and at most 3 s in draft. The page
reloads once the changed beat and the lesson page are rebuilt; the time until its video is swapped for the
one joined again is reported too, with what the server printed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_plan import copy_project  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def first_narration(script: Path) -> tuple[str, str]:
    """The first beat narration's opening words, and the same with a marker inserted: a number new to this run,
    so the voice's cache cannot have it and the edit is narrated as a real one would be."""
    text = script.read_text()
    match = re.search(r'narration=(?:"""|")\s*([A-Z][a-z]+)', text)
    if match is None:
        sys.exit(f"no narration found in {script}")
    word = match.group(1)
    return word, f"Behold {random.randrange(100, 1000)}! {word}"


def measure(root: Path, target: str, script: Path, draft: bool) -> tuple[float, float, list[str]]:
    """Seconds from saving the edit to the reloaded page showing it, and to the page's lesson video swapped
    for the one joined again; and what the server printed meanwhile."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(root)}
    cmd = [sys.executable, "-m", "render.cli", "serve", target, "--voice", "espeak", "--port", str(port)]
    server = subprocess.Popen(cmd + (["--draft"] if draft else []), cwd=root, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    said: list[str] = []
    try:
        assert server.stdout is not None
        for line in server.stdout:  # the first build, then the address
            if line.startswith("serving "):
                url = line.split()[1]
                break
        threading.Thread(target=lambda: said.extend(server.stdout or []), daemon=True).start()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page()
            page.goto(url)
            old, new = first_narration(script)
            script.write_text(script.read_text().replace(f'"{old}', f'"{new}', 1)
                              .replace(f'"""{old}', f'"""{new}', 1))
            saved = time.perf_counter()
            page.wait_for_selector(f"text={new.split('!')[0]}!", timeout=900_000)
            seconds = time.perf_counter() - saved
            page.wait_for_function("() => document.querySelector('video.lesson').src.includes('?v=')",
                                   timeout=900_000)
            joined = time.perf_counter() - saved
            browser.close()
            script.write_text(script.read_text().replace(new, old))
        return seconds, joined, said
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", nargs="?", default="1.1.1")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="studio-serve-") as tmp:
        root = Path(tmp) / "studio"
        copy_project(root, None)
        sys.path.insert(0, str(root))
        from render.course import load_course

        script = load_course().lesson(args.target).script  # the copy's (its render package is first on the path)
        for draft in (False, True):
            seconds, joined, said = measure(root, args.target, script, draft)
            goal = 3 if draft else 10
            name = "draft" if draft else "default"
            print("".join(f"    server: {line}" for line in said), end="")
            print(f"{name:8s} save -> reloaded page: {seconds:6.2f} s (goal <= {goal} s); "
                  f"-> lesson video swapped in place: {joined:6.2f} s", flush=True)


if __name__ == "__main__":
    main()
