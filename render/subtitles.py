"""Subtitles (`lesson.vtt`, `lesson.srt`) from the narration's real segment times, and where a human
recording for a beat lives.

A cue holds at most two lines of at most 42 characters; a longer segment becomes several cues that share
its time in proportion to their text.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

MAX_CHARS = 42
MAX_LINES = 2
RECORDING_SUFFIXES = (".wav", ".mp3")
Cue = tuple[float, float, str]  # (start, end, text) in seconds of lesson time


def _chunks(text: str) -> list[str]:
    """`text` as cue bodies of at most MAX_LINES lines of at most MAX_CHARS characters each."""
    lines = textwrap.wrap(" ".join(text.split()), MAX_CHARS, break_long_words=True, break_on_hyphens=False)
    return ["\n".join(lines[i: i + MAX_LINES]) for i in range(0, len(lines), MAX_LINES)]


def layout_cues(cues: list[Cue], end: float | None = None) -> list[Cue]:
    """Cues in time order, none overlapping the next, none past `end`, long text split by time proportion."""
    out: list[Cue] = []
    for start, stop, text in sorted(cues, key=lambda c: c[0]):
        bodies = _chunks(text)
        if not bodies:
            continue
        weights = [len(b) for b in bodies]
        total = sum(weights)
        t = start
        for body, weight in zip(bodies, weights, strict=True):
            t_next = t + (stop - start) * weight / total
            out.append((t, t_next, body))
            t = t_next
    fixed: list[Cue] = []
    for k, (start, stop, body) in enumerate(out):
        start = max(start, fixed[-1][1] if fixed else 0.0)
        if k + 1 < len(out):
            stop = min(stop, out[k + 1][0])
        if end is not None:
            start, stop = min(start, end), min(stop, end)
        if stop - start >= 0.001:
            fixed.append((round(start, 3), round(stop, 3), body))
    return fixed


def _stamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _write(dest: Path, text: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and dest.read_text(encoding="utf-8") == text:
        return
    tmp = dest.with_name(f".{dest.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def write_subtitles(cues: list[Cue], vtt: Path, srt: Path, end: float | None = None) -> None:
    """Write WebVTT and SubRip files from (start, end, text) cues in lesson time; `end` (the video's
    length) clamps every cue inside the video."""
    laid = layout_cues(cues, end)
    vtt_text = "WEBVTT\n\n" + "".join(
        f"{_stamp(a, '.')} --> {_stamp(b, '.')}\n{body}\n\n" for a, b, body in laid)
    srt_text = "".join(
        f"{k}\n{_stamp(a, ',')} --> {_stamp(b, ',')}\n{body}\n\n" for k, (a, b, body) in enumerate(laid, 1))
    _write(Path(vtt), vtt_text)
    _write(Path(srt), srt_text)


def recording_path(recordings_dir: Path | str, lesson_slug: str, beat_name: str) -> Path | None:
    """A human recording for a beat: `<recordings_dir>/<lesson_slug>/<beat_name>.wav` (or `.mp3`; the WAV
    wins when both exist), or None to use the synthetic voice."""
    for suffix in RECORDING_SUFFIXES:
        path = Path(recordings_dir) / lesson_slug / f"{beat_name}{suffix}"
        if path.is_file():
            return path
    return None
