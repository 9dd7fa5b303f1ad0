"""Audio assembly on tiny lavfi test videos (15 fps): sync within a frame, loudness, true peak, atomic mux."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from render.audio import (
    RATE,
    decode,
    fit_audio,
    lesson_audio,
    loudness,
    measure_loudness,
    measure_true_peak,
    mux,
    normalise_beat,
    probe_duration,
)
from render.narrate import Voice, narrate_beat

FPS = 15
FRAME = 1 / FPS


def make_video(path: Path, seconds: float) -> Path:
    """A silent test-pattern clip of a whole number of frames."""
    frames = math.ceil(seconds * FPS - 1e-9)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=160x120:rate={FPS}",
                    "-frames:v", str(frames), "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def concat(clips: list[Path], out: Path) -> Path:
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{c}'\n" for c in clips))
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                    "-c", "copy", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def beats(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, Path]]:
    """Two narrated beats (espeak) and their clips, each as long as its narration rounded up to frames."""
    tmp = tmp_path_factory.mktemp("beats")
    texts = ["Behold, apprentices! A tensor is a grid of numbers. | It has a shape, here 2x3.",
             "Now we add one to every element. The sum of all elements is 27."]
    out = []
    for k, text in enumerate(texts):
        n = narrate_beat(text, Voice("espeak"), tmp / "cache", tmp / f"beat{k}.wav")
        out.append((Path(n.wav), make_video(tmp / f"clip{k}.mp4", n.duration)))
    return out


def test_fit_audio_pads_and_trims_exactly(tmp_path: Path, beats: list[tuple[Path, Path]]) -> None:
    wav = beats[0][0]
    for seconds in (0.5, 7.3333):
        fit_audio(wav, seconds, tmp_path / "fit.wav")
        assert len(decode(tmp_path / "fit.wav")) == round(seconds * RATE)


def test_beat_clip_mux_keeps_sync_and_loudness(tmp_path: Path, beats: list[tuple[Path, Path]]) -> None:
    wav, clip = beats[0]
    out = tmp_path / "clip.mp4"
    mux(clip, wav, out)
    video, audio = probe_duration(out, "v:0"), probe_duration(out, "a:0")
    assert video == pytest.approx(probe_duration(clip, "v:0"), abs=1e-3)  # video copied, untouched
    assert abs(audio - video) <= FRAME
    assert measure_loudness(out) == pytest.approx(-16, abs=1)
    assert measure_true_peak(out) <= -1.5
    codecs = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
                             str(out)], capture_output=True, text=True, check=True).stdout.split()
    assert codecs == ["h264", "aac"]


def test_lesson_audio_in_sync_and_at_minus_16_lufs(tmp_path: Path, beats: list[tuple[Path, Path]]) -> None:
    wavs = [w for w, _ in beats]
    clips = [c for _, c in beats]
    durations = [probe_duration(c, "v:0") for c in clips]
    m4a = tmp_path / "lesson.m4a"
    lesson_audio(wavs, durations, m4a)
    video = concat(clips, tmp_path / "video.mp4")
    lesson = tmp_path / "lesson.mp4"
    mux(video, m4a, lesson)
    v, a = probe_duration(lesson, "v:0"), probe_duration(lesson, "a:0")
    assert v == pytest.approx(sum(durations), abs=1e-3)
    assert abs(a - v) <= FRAME  # audio and picture end together
    assert measure_loudness(lesson) == pytest.approx(-16, abs=1)
    assert measure_true_peak(lesson) <= -1.5
    # each beat's speech stays inside its own clip: the second beat is silent before its clip starts
    samples = decode(lesson)
    boundary = round(durations[0] * RATE)
    assert np.abs(samples[boundary - int(0.3 * RATE): boundary]).max() < 0.02
    assert np.abs(samples[boundary: boundary + int(1.5 * RATE)]).max() > 0.1


def test_loudness_matches_pyloudnorm() -> None:
    import pyloudnorm

    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(3 * RATE) * np.linspace(0, 1, 3 * RATE)).astype(np.float32)
    reference = pyloudnorm.Meter(RATE).integrated_loudness(x.astype(np.float64))
    assert loudness(x) == pytest.approx(reference, abs=1e-6)
    assert loudness(np.zeros(RATE, dtype=np.float32)) == float("-inf")


def test_mux_failure_leaves_no_half_written_file(tmp_path: Path, beats: list[tuple[Path, Path]]) -> None:
    wav, clip = beats[0]
    out = tmp_path / "clip.mp4"
    mux(clip, wav, out)
    before = out.read_bytes()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    with pytest.raises(RuntimeError):
        mux(broken, wav, out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.mp4", "clip.mp4"]


def test_a_draft_preview_of_normalised_beats_keeps_length_and_loudness(tmp_path: Path,
                                                                        beats: list[tuple[Path, Path]]) -> None:
    """render serve --draft joins the beats' normalised audio without measuring the whole again and with the
    fast AAC coder: the same number of samples as the full path, still at -16 LUFS."""
    durations = [probe_duration(c, "v:0") for _, c in beats]
    f32s = [tmp_path / f"{k}.f32" for k in range(len(beats))]
    for (wav, _), f32, seconds in zip(beats, f32s, durations, strict=True):
        normalise_beat(wav, seconds, f32)
    full, preview = tmp_path / "full.m4a", tmp_path / "preview.m4a"
    lesson_audio(f32s, durations, full)
    lesson_audio(f32s, durations, preview, preview=True)
    assert len(decode(preview)) == len(decode(full))
    assert measure_loudness(preview) == pytest.approx(-16, abs=1)
