"""Beat clips: one Manim render per beat, in a worker process that imports Manim but never torch.

`render_clip` takes plain data (a `ClipJob`) so any `concurrent.futures.Executor` can run it: the local
process pool, or a Dask cluster's executor.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from render.errors import WorkerMismatch
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
    draft: bool = False
    still_holds: bool = True  # holds encoded once and repeated (False: frame by frame, as bare Manim does)
    text_cache: str = ""  # a folder where built texts are kept for the next render process ("": none)


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
    smallest_text: float | None = None
    frames: dict[str, Any] = field(default_factory=dict)  # what lint reads: screen, first_content, picture_share


def frame_facts(scene: Any) -> dict[str, Any]:
    """What a beat scene saw of its own frames, for lint: the texts on screen at each step, when the first content
    came, the largest share of the content area its picture covered."""
    return {"screen": scene.screen, "first_content": scene.first_content, "picture_share": scene.picture_share}


def render_clip(job: ClipJob) -> ClipResult:
    """Render one beat to `job.output` (written under a temporary name, then renamed into place)."""
    started = time.perf_counter()
    from manim import config, tempconfig

    from render.settings import QUALITIES
    from scenes.beat import BeatScene
    from scenes.mobjects.text import keep_texts_in

    keep_texts_in(usable_folder(job.text_cache))

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
            smallest = scene.smallest_text
            frames = frame_facts(scene)
            last_frame = scene.last_frame
        output.parent.mkdir(parents=True, exist_ok=True)
        if job.audio:
            add_audio(job, Path(job.audio), movie, duration, output)
        else:
            with atomic_path(output) as tmp:
                shutil.move(str(movie), tmp)
        save_poster(last_frame, output.with_suffix(".png"))
    finally:
        shutil.rmtree(media, ignore_errors=True)
    return ClipResult(job.key, job.output, time.perf_counter() - started, duration, _plain(shown), os.getpid(), lint,
                      steps, smallest, frames)


def usable_folder(folder: str) -> Path | None:
    """`folder` once created, or None where it cannot be (a cluster worker without the client's disk)."""
    if not folder:
        return None
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return Path(folder)


def add_audio(job: ClipJob, narration: Path, movie: Path, duration: float, output: Path) -> None:
    """The beat's narration fitted to its picture and muxed in (`output` is written under a temporary name, then
    renamed); its samples are kept beside it (`.f32`) for the lesson's audio. A draft takes the quick path: one
    gain to the target loudness instead of the true-peak limiter, and one ffmpeg call."""
    from render.audio import mux, mux_samples, normalise_beat, quick_beat

    beat_audio = output.with_suffix(".f32")
    if job.draft:
        quick_beat(narration, duration, beat_audio)
        mux_samples(movie, beat_audio, output)
    else:
        normalise_beat(narration, duration, beat_audio)
        mux(movie, beat_audio, output, target=None)


def save_poster(pixels: Any, png: Path) -> None:
    """The beat's last frame, as the scene drew it (lossless, no decoding of the clip), as an RGB PNG."""
    from PIL import Image

    with atomic_path(png) as tmp:
        Image.fromarray(pixels[..., :3]).save(tmp, format="PNG")


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


# -- self-contained beat work: data in, data out, for any executor on any machine ------------------------
@functools.cache
def studio_digest() -> str:
    """A hash of the studio's own Python code as installed here; a worker running other code refuses jobs."""
    import hashlib

    root = Path(__file__).resolve().parent.parent
    files = sorted(p for folder in ("render", "scenes") for p in (root / folder).rglob("*.py"))
    sha = hashlib.sha256()
    for path in files:
        sha.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return sha.hexdigest()[:16]


def check_code(code: str) -> None:
    if code != studio_digest():
        raise WorkerMismatch(f"this worker runs studio code {studio_digest()}, the render sent code {code}: "
                             "install the same studio version on every worker (pip install .)")


@dataclass(frozen=True)
class BeatJob:
    """One beat's clip render as data alone: the clip job (its paths are the worker's own), the narration
    audio's bytes, and the studio code digest of the render that sent it."""

    clip: ClipJob
    audio: bytes | None
    code: str
    length: float = 0.0  # seconds of narration: the longest beats are submitted first


@dataclass(frozen=True)
class BeatOutput:
    """What a worker sends back: the render's facts and the files' bytes, written by the client."""

    result: ClipResult
    mp4: bytes
    png: bytes
    f32: bytes | None


def render_beat(job: BeatJob) -> BeatOutput:
    """Render a beat in a scratch folder of this worker and return the outputs' bytes."""
    check_code(job.code)
    with tempfile.TemporaryDirectory(prefix="beat-") as scratch:
        folder = Path(scratch)
        audio = None
        if job.audio is not None:
            audio = folder / "narration.wav"
            audio.write_bytes(job.audio)
        clip = replace(job.clip, output=str(folder / "clip.mp4"), work_dir=str(folder / "work"),
                       audio=str(audio) if audio else None)
        result = render_clip(clip)
        f32 = folder / "clip.f32"
        return BeatOutput(result, (folder / "clip.mp4").read_bytes(), (folder / "clip.png").read_bytes(),
                          f32.read_bytes() if f32.is_file() else None)


def narrate_job(text: str, voice: Any, cache_dir: str, recording: bytes | None, suffix: str,
                code: str) -> dict[str, Any]:
    """Narrate a beat in a scratch folder: its timing as plain data, and the WAV's bytes under "wav"."""
    from render.narrate import narrate_beat

    check_code(code)
    cache = Path(cache_dir)
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:  # a remote worker without the client's folders keeps a cache of its own
        cache = Path(tempfile.gettempdir()) / "studio-tts-cache"
    with tempfile.TemporaryDirectory(prefix="narrate-") as scratch:
        take = None
        if recording is not None:
            take = Path(scratch) / f"recording{suffix}"
            take.write_bytes(recording)
        wav = Path(scratch) / "beat.wav"
        narration = narrate_beat(text, voice, cache, wav, take)
        return {
            "segments": [{"text": s.text, "start": s.start, "end": s.end} for s in narration.segments],
            "duration": narration.duration,
            "wav": wav.read_bytes(),
        }
