"""`render gallery`: one short clip per vocabulary item, on one HTML page with a contact sheet, so authors can
pick visuals and reviewers see them all. The beats come from every scripts/gallery/*.py (each a Lesson traced by
torch like any lesson; vocabulary.py first), so a new visual's gallery file joins by being there."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from render.clips import ClipJob, render_clip
from render.course import ROOT
from render.errors import StudioError
from render.files import atomic_path, write_text
from render.lesson import Lesson, load_lesson
from render.pool import RenderPool
from render.templating import environment
from render.trace import resolve_device, trace_lesson

GALLERY_DIR = ROOT / "scripts" / "gallery"
GALLERY_SCRIPT = GALLERY_DIR / "vocabulary.py"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Torchenstein visual vocabulary</title>
<style>
:root { {% for k, v in css.items() %}{{ k }}: {{ v }}; {% endfor %} }
body { background: var(--bg); color: var(--text); font-family: var(--font); margin: 2rem; }
h1 { color: var(--accent); } .muted { color: var(--muted); }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 1.2rem; }
figure { background: var(--panel); border: 1px solid var(--panel-edge); border-radius: 8px;
         margin: 0; padding: .6rem; }
video, img { width: 100%; border-radius: 4px; } figcaption code { color: var(--selected); }
.lint { color: var(--error); font-size: .85rem; }
</style></head><body>
<h1>The visual vocabulary</h1>
<p class="muted">{{ clips|length }} clips from <code>{{ script|e }}</code>,
traced on {{ device|e }} with torch {{ torch|e }}. Every number on screen came from that trace.</p>
{% for e in errors %}<p class="lint">{{ e|e }}</p>{% endfor %}
<p><a href="contact-sheet.png"><img src="contact-sheet.png"
  alt="contact sheet of every clip's last frame"></a></p>
<div class="grid">
{% for c in clips %}<figure id="{{ c.name|e }}">
<video src="{{ c.video|e }}" poster="{{ c.poster|e }}" controls muted loop preload="none"></video>
<figcaption><strong>{{ c.title|e }}</strong><br><code>{{ c.call|e }}</code>
{% for p in c.lint %}<div class="lint">{{ p|e }}</div>{% endfor %}</figcaption></figure>
{% endfor %}</div></body></html>
"""


@dataclass
class GalleryClip:
    name: str
    title: str
    call: str
    video: str
    poster: str
    lint: list[str] = field(default_factory=list)
    rendered: bool = False


@dataclass
class Gallery:
    index: Path
    contact_sheet: Path
    clips: list[GalleryClip]
    errors: list[str] = field(default_factory=list)  # gallery files that failed to load or trace


def gallery_scripts(folder: Path = GALLERY_DIR) -> list[Path]:
    """Every gallery file: vocabulary.py first, then the others by name."""
    return sorted(folder.glob("*.py"), key=lambda p: (p.name != GALLERY_SCRIPT.name, p.name))


def merge(lessons: Sequence[Lesson], traces: Sequence[dict[str, Any]] | None = None) -> tuple[Lesson, dict[str, Any]]:
    """One lesson (and trace) of several gallery files' beats, in order. A beat name already taken by an
    earlier file is prefixed with its file's stem (`nn_layers.linear`), so every clip and test has its own."""
    beats, traced, seen = [], [], set()
    for k, lesson in enumerate(lessons):
        stem = lesson.script.stem if lesson.script else f"file{k}"
        for i, beat in enumerate(lesson.beats):
            name = beat.name if beat.name not in seen else f"{stem}.{beat.name}"
            seen.add(name)
            beats.append(replace(beat, name=name))
            if traces is not None:
                traced.append({**traces[k]["beats"][i], "name": name})
    first = traces[0] if traces else {}
    trace = {"device": first.get("device", "cpu"), "torch": first.get("torch", ""), "beats": traced}
    return Lesson(objectives=["See every visual of the vocabulary once"], beats=beats), trace


def load_gallery(scripts: Sequence[Path] | None = None) -> Lesson:
    """The gallery files' beats as one lesson (not traced); a broken file raises its LessonError."""
    return merge([load_lesson(p) for p in (scripts or gallery_scripts())])[0]


def trace_gallery(scripts: Sequence[Path] | None = None, device: str = "cpu",
                  errors: list[str] | None = None) -> tuple[Lesson, dict[str, Any]]:
    """Load and trace every gallery file. With an `errors` list, a file that fails to load or trace is
    reported there and left out (the others still render); without one, its LessonError is raised."""
    lessons, traces = [], []
    for path in scripts or gallery_scripts():
        try:
            lesson = load_lesson(path)
            traces.append(trace_lesson(lesson, device))
            lessons.append(lesson)
        except StudioError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
    return merge(lessons, traces)


def _call(visual: dict[str, Any]) -> str:
    args = [repr(t) for t in visual["tensors"]] + [f"{k}={v!r}" for k, v in visual["options"].items()]
    return f"{visual['kind']}({', '.join(args)})"


def _key(job: dict[str, Any], code: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps([job, code], sort_keys=True).encode()).hexdigest()[:16]


def last_frame(video: Path, png: Path) -> None:
    """The clip's last frame as a PNG (the poster and the contact-sheet tile)."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-sseof", "-0.1", "-i", str(video), "-frames:v", "1", str(png)],
        check=True,
    )


def contact_sheet(frames: list[Path], out: Path, columns: int = 5) -> None:
    """Every clip's last frame tiled into one PNG (ffmpeg's tile filter)."""
    rows = -(-len(frames) // columns)
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{f.resolve()}'\n" for f in frames))
    with atomic_path(out) as tmp:
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-vf",
             f"scale=427:-1,tile={columns}x{rows}:padding=4:color=gray", "-frames:v", "1", "-update", "1",
             "-f", "image2", str(tmp)],
            check=True,
        )
    listing.unlink()


def build_gallery(
    out_dir: Path = ROOT / "build" / "gallery",
    *,
    quality: str = "low",
    device: str = "auto",
    jobs: int = 2,
    only: list[str] | None = None,
    executor: Executor | None = None,
    script: Path | None = None,
) -> Gallery:
    """Trace the gallery files (every scripts/gallery/*.py, or just `script`), render each beat's clip
    (skipping clips whose inputs did not change), and write index.html and contact-sheet.png into `out_dir`.
    A file that fails is listed in `errors` (and on the page); the other files' clips still render."""
    errors: list[str] = []
    scripts = [script] if script is not None else gallery_scripts()
    lesson, trace = trace_gallery(scripts, resolve_device(device), errors)
    if not lesson.beats:
        raise StudioError("no gallery file could be traced: " + "; ".join(errors))
    clips = render_clips(lesson, trace, out_dir, quality, only, executor or RenderPool(jobs),
                         own=executor is None)
    sheet = out_dir / "contact-sheet.png"
    contact_sheet(posters(clips, out_dir), sheet)
    index = write_page(clips, scripts, trace, errors, out_dir)
    return Gallery(index, sheet, clips, errors)


def render_clips(lesson: Any, trace: dict[str, Any], out_dir: Path, quality: str, only: list[str] | None,
                 pool: Executor, own: bool) -> list[GalleryClip]:
    """Each beat's clip, rendered in `pool` unless a clip with the same inputs is already there."""
    from render.build import video_code_digest

    code = video_code_digest()
    clips_dir = out_dir / "clips"
    clips_dir.mkdir(parents=True, exist_ok=True)
    clips: list[GalleryClip] = []
    pending = []
    try:
        for beat, beat_trace in zip(lesson.beats, trace["beats"], strict=True):
            if only and beat.name not in only:
                continue
            visual = beat.visual.to_json()
            job_trace = {"beat": beat_trace, "device": trace["device"], "torch": trace["torch"]}
            key = _key({"title": beat.title, "lesson": "Visual vocabulary", "visual": visual, "trace": job_trace,
                        "quality": quality}, code)
            video = clips_dir / f"{beat.name}-{key}.mp4"
            clip = GalleryClip(beat.name, beat.title, _call(visual), f"clips/{video.name}",
                               f"clips/{beat.name}-{key}.png")
            clips.append(clip)
            lint_file = video.with_suffix(".lint.json")
            if video.exists() and lint_file.exists():
                clip.lint = json.loads(lint_file.read_text())
                continue
            for old in clips_dir.glob(f"{beat.name}-*"):
                old.unlink()
            job = ClipJob(key=key, output=str(video), title=beat.title, lesson="Visual vocabulary", visual=visual,
                          trace=job_trace, timing=None, quality=quality, work_dir=str(out_dir / "work"))
            pending.append((clip, lint_file, pool.submit(render_clip, job)))
        for clip, lint_file, future in pending:
            clip.lint = list(future.result().lint)
            clip.rendered = True
            write_text(lint_file, json.dumps(clip.lint))
    finally:
        if own:
            pool.shutdown()
    shutil.rmtree(out_dir / "work", ignore_errors=True)
    return clips


def posters(clips: list[GalleryClip], out_dir: Path) -> list[Path]:
    frames = []
    for clip in clips:
        poster = out_dir / clip.poster
        if not poster.exists():
            last_frame(out_dir / clip.video, poster)
        frames.append(poster)
    return frames


def write_page(clips: list[GalleryClip], scripts: list[Path], trace: dict[str, Any], errors: list[str],
               out_dir: Path) -> Path:
    from scenes.theme import css_variables

    html = environment().from_string(PAGE).render(
        clips=clips, css=css_variables(), device=trace["device"], torch=trace["torch"], errors=errors,
        script=", ".join(str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p) for p in scripts),
    )
    index = out_dir / "index.html"
    write_text(index, html)
    return index
