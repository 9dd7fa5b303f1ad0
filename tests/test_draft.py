"""Draft beats (`render serve --draft`) take shortcuts; these tests check that they show what a full render
shows: plays that only bring mobjects in or out jump to their end, the poster is the scene's own last frame,
and a draft beat's audio is fitted, loud enough and under the ceiling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest_scenes import beat_names, job


def dry_run(name: str, jump: bool) -> dict[str, Any]:
    """Gallery beat `name` as a Manim dry run (animations skipped), with or without the jump to the end."""
    from manim import tempconfig

    from render.checks import DRY_RUN
    from scenes.beat import BeatScene

    class Played(BeatScene):
        def jump_to_end(self, animations: tuple[Any, ...], options: dict[str, Any]) -> bool:
            return super().jump_to_end(animations, options) if jump else False

    with tempconfig(DRY_RUN):
        scene = Played(job(name))
        scene.render()
    assert scene.visual is not None
    return {"pixels": scene.last_frame, "time": scene.time, "lint": scene.lint_problems,
            "shown": scene.visual.shown, "steps": scene.steps_played, "mobjects": len(scene.mobjects)}


@pytest.mark.slow
@pytest.mark.parametrize("name", beat_names())
def test_jumping_to_the_end_shows_what_playing_shows(name: str) -> None:
    jumped, played = dry_run(name, True), dry_run(name, False)
    for key in ("time", "lint", "shown", "steps", "mobjects"):
        assert jumped[key] == played[key], key
    difference = np.abs(jumped["pixels"].astype(int) - played["pixels"].astype(int))
    assert difference.max() == 0, f"{(difference > 0).sum()} pixels differ"


@pytest.mark.slow
def test_a_draft_clip_ends_on_its_poster_and_carries_its_narration(tmp_path: Path) -> None:
    from PIL import Image

    from render.audio import CEILING_DB, RATE, TARGET_LUFS, loudness, probe_duration, read_f32
    from render.clips import ClipJob, render_clip
    from render.narrate import wav_bytes
    from render.video import extract_frame
    from tests.test_gallery import difference

    seconds = 3.0
    t = np.arange(int(seconds * 22050)) / 22050
    tone = (0.05 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16)  # quiet: the gain must raise it
    narration = tmp_path / "narration.wav"
    narration.write_bytes(wav_bytes(tone, 22050))
    j = job("cat")
    clip = tmp_path / "cat.mp4"
    result = render_clip(ClipJob(key="cat", output=str(clip), title=j["title"], lesson=j["lesson"],
                                 visual=j["visual"], trace=j["trace"], timing={"cues": [], "duration": seconds},
                                 quality="low", work_dir=str(tmp_path / "work"), audio=str(narration), draft=True))
    poster = clip.with_suffix(".png")
    assert Image.open(poster).size == (854, 480)
    extract_frame(clip, tmp_path / "last.png")
    assert difference(tmp_path / "last.png", poster) < 3.0  # the clip ends on the frame its poster shows
    # a draft's animations take no time, so its picture lasts exactly as long as its narration
    assert abs(result.duration - seconds) < 0.07
    assert abs(probe_duration(clip, "v:0") - seconds) < 0.07
    assert abs(probe_duration(clip, "a:0") - seconds) < 0.07
    samples = read_f32(clip.with_suffix(".f32"))
    assert len(samples) == round(result.duration * RATE)
    assert abs(loudness(samples) - TARGET_LUFS) < 0.5
    assert 20 * np.log10(np.abs(samples).max()) <= CEILING_DB + 0.01
