"""The lesson video: beat clips joined without re-encoding, chapters per beat, posters. ffmpeg does the work."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from render.errors import ToolMissing
from render.state import atomic_path


def ffmpeg_exe(tool: str = "ffmpeg") -> str:
    exe = shutil.which(tool)
    if exe is None:
        raise ToolMissing(
            f"{tool} not found: install it (Debian/Ubuntu: sudo apt install ffmpeg; macOS: brew install ffmpeg)"
        )
    return exe


def run_ffmpeg(args: list[str]) -> None:
    result = subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {result.stderr.strip()[-800:]}")


def probe(path: Path) -> dict:
    """ffprobe's view of a media file: format and streams."""
    out = subprocess.run(
        [ffmpeg_exe("ffprobe"), "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
         "-show_chapters", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out)


def video_duration(path: Path) -> float:
    """The video stream's duration in seconds."""
    info = probe(path)
    for stream in info["streams"]:
        if stream["codec_type"] == "video":
            return float(stream.get("duration") or info["format"]["duration"])
    raise ValueError(f"{path} has no video stream")


def chapters_metadata(titles: list[str], durations: list[float]) -> str:
    """An FFMETADATA document with one chapter per beat (millisecond time base)."""
    def esc(text: str) -> str:
        for ch in "\\=;#\n":
            text = text.replace(ch, "\\" + ch)
        return text

    lines = [";FFMETADATA1"]
    start = 0.0
    for title, duration in zip(titles, durations, strict=True):
        end = start + duration
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={round(start * 1000)}", f"END={round(end * 1000)}",
                  f"title={esc(title)}"]
        start = end
    return "\n".join(lines) + "\n"


def join_clips(clips: list[Path], titles: list[str], durations: list[float], out: Path,
               audio: Path | None = None) -> None:
    """Concatenate beat clips' video without re-encoding, add the lesson audio (if any) and chapters."""
    work = out.parent / ".join"
    work.mkdir(parents=True, exist_ok=True)
    listing = work / "clips.txt"
    listing.write_text("".join(f"file '{c.resolve()}'\n" for c in clips))
    meta = work / "chapters.txt"
    meta.write_text(chapters_metadata(titles, durations), encoding="utf-8")
    args = ["-f", "concat", "-safe", "0", "-i", str(listing)]
    if audio is not None:
        args += ["-i", str(audio)]
    args += ["-i", str(meta), "-map", "0:v"]
    meta_index = 1
    if audio is not None:
        args += ["-map", "1:a"]
        meta_index = 2
    args += ["-map_metadata", str(meta_index), "-map_chapters", str(meta_index), "-c", "copy",
             "-movflags", "+faststart"]
    with atomic_path(out) as tmp:
        run_ffmpeg([*args, "-f", "mp4", str(tmp)])
    shutil.rmtree(work, ignore_errors=True)


def extract_frame(video: Path, out: Path, at_end: bool = True, seconds: float = 0.0) -> None:
    """Save one frame as PNG: the last one (the beat's key moment, everything on screen) or at `seconds`."""
    seek = ["-sseof", "-0.2"] if at_end else ["-ss", f"{seconds:.3f}"]
    with atomic_path(out) as tmp:
        run_ffmpeg([*seek, "-i", str(video), "-frames:v", "1", "-update", "1", "-f", "image2", str(tmp)])
