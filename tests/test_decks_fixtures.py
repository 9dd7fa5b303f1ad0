"""Fixture lessons for the deck and course page tests: tiny ffmpeg lavfi clips (testsrc + sine) and a
hand-written lesson.json dict, so these tests never need the Manim pipeline."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

HOSTILE = (
    "<script>alert('x')</script> {{ lesson.title }} {% if %} \"quotes\" & 'apostrophes' 🧪🔥 שלום עולם مرحبا"
)
BEATS = ["from_list", "zeros_ones", "random_seed"]
COLOURS = ["", ",hue=h=120", ",hue=h=240"]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def make_clip(
    dest: Path,
    size: str = "854x480",
    seconds: float = 2.0,
    audio: bool = True,
    tint: str = "",
    freq: int = 440,
) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    args = ["-f", "lavfi", "-i", f"testsrc=size={size}:rate=25:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency={freq}:duration={seconds}"]
    args += ["-vf", f"format=yuv420p{tint}", "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "main"]
    args += ["-c:a", "aac", "-b:a", "64k"] if audio else []
    ffmpeg(*args, "-movflags", "+faststart", "-shortest", str(dest))


def make_poster(clip: Path, dest: Path, at: float = 1.0) -> None:
    ffmpeg("-ss", str(at), "-i", str(clip), "-frames:v", "1", str(dest))


def lesson_dict(slug: str, beats: list[dict[str, Any]], hostile: bool = False) -> dict[str, Any]:
    h = f" {HOSTILE}" if hostile else ""
    return {
        "id": "1.1.1",
        "slug": slug,
        "module": 1,
        "title": f"Introduction to Tensors{h}",
        "blurb": f"Meet the tensor, the `torch.Tensor` building block.{h}",
        "objectives": [
            "Create tensors from lists with `torch.tensor`",
            f"Read a tensor's shape and dtype{h}",
        ],
        "recap": ["`torch.tensor` copies data", f"`torch.zeros` fills with zeros{h}"],
        "challenge": f"Make a 3x3 identity with `torch.eye`.{h}",
        "device": "cpu",
        "torch": "2.13.0",
        "video": "lesson.mp4",
        "poster": "poster.png",
        "vtt": "lesson.vtt",
        "srt": None,
        "duration": 2.0 * len(beats),
        "beats": beats,
    }


def build_fixture_lesson(lesson_dir: Path, hostile: bool = False, big_silent: bool = False) -> dict[str, Any]:
    """A lesson folder with beat clips, posters, a lesson video, subtitles and lesson.json."""
    beats = []
    for i, name in enumerate(BEATS):
        clip = lesson_dir / "beats" / f"{i + 1:02d}-{name}.mp4"
        last = i == len(BEATS) - 1
        if big_silent and last:  # over 1080p and without narration yet: re-encoded for PPTX, no audio
            make_clip(clip, size="3840x2160", seconds=1.0, audio=False, tint=COLOURS[i])
        else:
            make_clip(clip, tint=COLOURS[i], freq=330 + 110 * i)
        make_poster(clip, clip.with_suffix(".png"), at=0.5)
        h = f" {HOSTILE}" if hostile else ""
        beats.append(
            {
                "name": name,
                "title": f"Beat {i + 1}: {name.replace('_', ' ')}{h}",
                "bullets": [f"Call `torch.{name}` on the {i + 1}st list", f"Shape is `(2, 3)` here{h}"],
                "narration": f"Narration for {name}: the tensor has 6 elements.{h}",
                "source": f"def {name}(device):\n"
                + "    x = torch.tensor([[1, 2, 3], [4, 5, 6]], device=device)\n"
                + (f"    note = {HOSTILE!r}\n" if hostile else "")
                + "    return {'x': x}",
                "clip": f"beats/{clip.name}",
                "poster": f"beats/{clip.with_suffix('.png').name}",
                "start": 2.0 * i,
                "duration": 2.0,
            }
        )
    listing = lesson_dir / "concat.txt"
    listing.write_text("".join(f"file '{b['clip']}'\n" for b in beats))
    if not big_silent:
        ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(lesson_dir / "lesson.mp4"))
        make_poster(lesson_dir / "lesson.mp4", lesson_dir / "poster.png", at=2.5)
    else:
        shutil.copy(lesson_dir / beats[0]["clip"], lesson_dir / "lesson.mp4")
        make_poster(lesson_dir / "lesson.mp4", lesson_dir / "poster.png", at=0.5)
    listing.unlink()
    cues = "".join(
        f"{i + 1}\n00:00:{2 * i:02d}.000 --> 00:00:{2 * i + 2:02d}.000\n{b['narration']}\n\n"
        for i, b in enumerate(beats)
    )
    (lesson_dir / "lesson.vtt").write_text("WEBVTT\n\n" + cues, encoding="utf-8")
    lesson = lesson_dict(lesson_dir.name, beats, hostile)
    (lesson_dir / "lesson.json").write_text(
        json.dumps(lesson, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return lesson


def make_built_lesson(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """(lesson dict, lesson folder) inside a build folder: build/module1/01-introduction-to-tensors."""
    build = tmp_path_factory.mktemp("build")
    lesson_dir = build / "module1" / "01-introduction-to-tensors"
    return build_fixture_lesson(lesson_dir), lesson_dir


def make_hostile_lesson(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """A lesson whose every text field carries markup, template syntax, quotes, emoji and RTL text;
    its last clip is 1080p and silent."""
    build = tmp_path_factory.mktemp("hostile")
    lesson_dir = build / "module1" / "01-introduction-to-tensors"
    return build_fixture_lesson(lesson_dir, hostile=True, big_silent=True), lesson_dir


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
    "--enable-blink-features=AudioVideoTracks",  # exposes video.audioTracks, to see the clip's sound
]


def launch_chromium(playwright: Any) -> Any:
    """Debian's chromium through Playwright (never a downloaded browser); skips when it is missing."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} not installed (./dev setup --test installs it)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class PageProblems:
    """Console errors, page errors and failed or off-disk requests seen by a page."""

    def __init__(self, page: Any, allow_http: str | None = None):
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url} {r.failure}"))
        page.on("dialog", lambda d: (self.errors.append(f"dialog: {d.message}"), d.dismiss()))

        def response(r: Any) -> None:
            if r.status >= 400:  # the console says only "404", this says which URL
                self.errors.append(f"HTTP {r.status}: {r.url}")

        page.on("response", response)
        page.on("request", lambda r: self.requests.append(r.url))
        self.allow_http = allow_http

    def real_errors(self) -> list[str]:
        """Errors, less the media loads that Chromium cancels itself once it has the metadata it wants
        (preload="metadata", then range requests): callers check those videos' readyState instead."""
        return [
            e for e in self.errors if not (e.startswith("failed: ") and e.endswith(".mp4 net::ERR_ABORTED"))
        ]

    def offsite(self) -> list[str]:
        """Requests that left the disk (or the local server): a deck must work offline."""
        ok = ("file://", "data:", "blob:", "about:") + ((self.allow_http,) if self.allow_http else ())
        return [u for u in self.requests if not u.startswith(ok)]
