"""Beat clips: one Manim render per beat, in a worker process that imports Manim but never torch.

`render_clip` takes plain data (a `ClipJob`) so any `concurrent.futures.Executor` can run it: the local
process pool, or a Dask cluster's executor.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from render.files import atomic_path


@dataclass(frozen=True)
class ClipJob:
    """Everything one beat's render needs: the beat's trace, visual, timing, and where to put the MP4."""

    key: str
    output: str
    title: str
    lesson: str
    visual: dict[str, Any]
    trace: dict[str, Any]
    timing: dict[str, Any] | None
    quality: str
    work_dir: str
    audio: str | None = None
    encoder_preset: str = "veryfast"


@dataclass(frozen=True)
class ClipResult:
    key: str
    output: str
    seconds: float
    duration: float
    shown: dict[str, Any]
    pid: int
    lint: list[str]
    steps: int = 0


def render_clip(job: ClipJob) -> ClipResult:
    """Render one beat to `job.output` (written under a temporary name, then renamed into place)."""
    started = time.perf_counter()
    from manim import config, tempconfig

    from render.settings import QUALITIES
    from scenes.beat import BeatScene

    manim_quality, width, height, fps = QUALITIES[job.quality]
    work = Path(job.work_dir) / f"worker-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    media = Path(tempfile.mkdtemp(prefix="clip-", dir=work))
    output = Path(job.output)
    try:
        options = {
            "quality": manim_quality,
            "media_dir": str(media),
            "output_file": "clip",
            "disable_caching": True,
            "write_to_movie": True,
            "progress_bar": "none",
            "verbosity": "ERROR",
            "video_encoder_options": {"crf": "23", "preset": job.encoder_preset},
        }
        with tempconfig(options):
            config.frame_rate = fps
            scene = BeatScene(job.__dict__ | {"trace": job.trace})
            scene.render()
            movie = Path(scene.renderer.file_writer.movie_file_path)
            duration = scene.time
            shown = scene.visual.shown if scene.visual else {}
            lint = list(scene.lint_problems)
            steps = scene.steps_played
        output.parent.mkdir(parents=True, exist_ok=True)
        if job.audio:
            from render.audio import mux, normalise_beat

            beat_audio = output.with_suffix(".f32")
            normalise_beat(Path(job.audio), duration, beat_audio)
            mux(movie, beat_audio, output, target=None)  # writes under a temporary name, then renames
        else:
            with atomic_path(output) as tmp:
                shutil.move(str(movie), tmp)
        from render.video import extract_frame

        extract_frame(output, output.with_suffix(".png"))  # the beat's key moment: everything on screen
    finally:
        shutil.rmtree(media, ignore_errors=True)
    return ClipResult(job.key, job.output, time.perf_counter() - started, duration, _plain(shown), os.getpid(), lint,
                      steps)


def _plain(value: Any) -> Any:
    """Shown values as JSON-able data (tuples to lists, keys to strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def warm_worker() -> int:
    """Import Manim and the vocabulary in a pool worker ahead of its first beat."""
    import scenes.beat  # noqa: F401

    return os.getpid()
