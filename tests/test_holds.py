"""Still holds encoded once (issue 20): the segment encoder against Manim's frame-by-frame one, and a lesson
rendered both ways compared frame by frame (SSIM), with its audio, duration and chapters."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from manim._config.video_encoder import VideoEncoderSpec
from manim.scene.video_segment_encoder import VideoSegmentEncoder

from render.video import ffmpeg_exe, probe
from scenes.holds import HoldEncoder
from tests.conftest import Project

FPS = 15
SPEC = VideoEncoderSpec("mp4", "libx264", "yuv420p", 320, 180, Fraction(FPS), (("crf", "23"), ("preset", "veryfast")))


def picture(seed: int) -> np.ndarray:
    """An RGBA frame with shapes and text-like detail, different per seed."""
    rng = np.random.default_rng(seed)
    frame = np.zeros((SPEC.height, SPEC.width, 4), dtype=np.uint8)
    frame[..., 3] = 255
    frame[20:160, 30:290, :3] = 40
    for _ in range(30):
        y, x = rng.integers(0, SPEC.height - 12), rng.integers(0, SPEC.width - 20)
        frame[y:y + 10, x:x + 18, :3] = rng.integers(60, 255, 3)
    return frame


def decoded(path: Path) -> tuple[list[np.ndarray], int]:
    """Every frame of a video as RGB, and how many were key frames."""
    frames, keys = [], 0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24").astype(np.int16))
            keys += frame.key_frame
    return frames, keys


def encode(encoder: VideoSegmentEncoder, *writes: tuple[np.ndarray, int]) -> None:
    for pixels, repeat in writes:
        encoder.write_frame(pixels, repeat=repeat)
    encoder.finish()


def test_a_hold_is_chunks_with_every_frame_present_and_the_same_picture(tmp_path: Path) -> None:
    still = picture(1)
    hold = HoldEncoder(target=tmp_path / "hold.mp4", spec=SPEC, chunk=FPS)
    encode(hold, (still, 100))
    plain = VideoSegmentEncoder(target=tmp_path / "plain.mp4", spec=SPEC)
    encode(plain, (still, 100))
    frames, keys = decoded(tmp_path / "hold.mp4")
    reference, _ = decoded(tmp_path / "plain.mp4")
    assert hold.held_frames == 100 and len(frames) == len(reference) == 100
    assert keys == 7  # six chunks of 15 frames and one of 10, each opening on a key frame
    source = still[..., :3].astype(np.int16)
    for ours, theirs in zip(frames, reference, strict=True):
        assert np.abs(ours - source).mean() < 3.0  # the still itself, as the encoder's quality allows
        assert np.abs(ours - theirs).mean() < 1.0
    # every full chunk decodes to the same pictures, and no join shows more than the encoder's own changes
    assert all(np.array_equal(frames[i], frames[i + FPS]) for i in range(100 - FPS - 10))
    within = max(np.abs(frames[i + 1] - frames[i]).mean() for i in range(FPS - 1))
    joins = max(np.abs(frames[i] - frames[i - 1]).mean() for i in range(FPS, 100, FPS))
    assert joins <= max(within, 0.5), (joins, within)


def test_short_holds_and_moving_segments_are_encoded_frame_by_frame(tmp_path: Path) -> None:
    a, b = picture(2), picture(3)
    short = HoldEncoder(target=tmp_path / "short.mp4", spec=SPEC, chunk=FPS)
    encode(short, (a, 2 * FPS - 1))
    moving = HoldEncoder(target=tmp_path / "moving.mp4", spec=SPEC, chunk=FPS)
    encode(moving, (a, 40), (b, 1), (a, 3))
    assert short.held_frames == moving.held_frames == 0
    assert len(decoded(tmp_path / "short.mp4")[0]) == 2 * FPS - 1
    frames, _ = decoded(tmp_path / "moving.mp4")
    assert len(frames) == 44
    assert np.abs(frames[40] - b[..., :3]).mean() < 3.0 and np.abs(frames[39] - a[..., :3]).mean() < 3.0


HOLDING_LESSON = '''
"""Three beats with long narrations: most of each clip is a still picture held while the narrator speaks."""

import torch

from render.lesson import Lesson
from scenes.vocabulary import Show, Title

lesson = Lesson(objectives=["Hold still"], recap=["Held"], challenge="Hold longer.")


@lesson.beat("Counting", visual=Show("x", "y", code=False), slide=["counts"],
             narration="Here is a grid of {{ x.numel }} numbers that torch counted for us, and we look at it "
                       "for a while. | Then its double appears beside it, and we look at that for a while too.")
def counting(device):
    x = torch.arange(6, device=device).reshape(2, 3)
    return {"x": x, "y": x * 2}


@lesson.beat("The end", visual=Title(heading="Recap", lines=["Held"]), slide=["Done"],
             narration="And that is all for today, apprentices: a picture that stands still while the voice "
                       "goes on, which is most of every lesson in this course.")
def the_end(device):
    return {}
'''


def frame_ssim(a: Path, b: Path, stats: Path) -> list[float]:
    """ffmpeg's SSIM of every frame of `a` against the frame of `b` at the same time."""
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(a), "-i", str(b), "-lavfi",
                    f"[0:v][1:v]ssim=stats_file={stats}", "-f", "null", "-"], check=True)
    return [float(line.split("All:")[1].split()[0]) for line in stats.read_text().splitlines()]


def stream_seconds(info: dict, kind: str) -> float:
    return float(next(s for s in info["streams"] if s["codec_type"] == kind)["duration"])


@pytest.mark.slow
def test_a_lesson_with_still_holds_matches_the_frame_by_frame_render(project: Project, tmp_path: Path) -> None:
    project.script().write_text(HOLDING_LESSON)
    other = tmp_path / "frame-by-frame"
    project.render("1.1.1", "--voice", "espeak", "--only", "video", "--quality", "low")
    project.render("1.1.1", "--voice", "espeak", "--only", "video", "--quality", "low", "--frame-by-frame",
                   "--build-dir", str(other))
    ours, theirs = project.lesson_dir() / "lesson.mp4", other / "module1" / "tiny" / "lesson.mp4"
    mine, reference = probe(ours), probe(theirs)
    fps = 15
    assert abs(stream_seconds(mine, "video") - stream_seconds(reference, "video")) < 1 / fps
    assert abs(stream_seconds(mine, "video") - stream_seconds(mine, "audio")) <= 1 / fps
    assert [c["start_time"] for c in mine["chapters"]] == [c["start_time"] for c in reference["chapters"]]
    ssim = frame_ssim(ours, theirs, tmp_path / "ssim.txt")
    counted = int(next(s for s in reference["streams"] if s["codec_type"] == "video")["nb_frames"])
    assert len(ssim) == counted
    sampled = [ssim[round(i * (len(ssim) - 1) / 19)] for i in range(20)]
    assert min(sampled) >= 0.99 and min(ssim) >= 0.99, (min(sampled), min(ssim))
    lesson = json.loads((project.lesson_dir() / "lesson.json").read_text())
    timing = json.loads((other / "module1" / "tiny" / "lesson.json").read_text())
    assert [b["start"] for b in lesson["beats"]] == [b["start"] for b in timing["beats"]]
    # the holds took the chunked path: a key frame opens every chunk (a second) of each hold
    assert decoded(ours)[1] >= decoded(theirs)[1] + 3
