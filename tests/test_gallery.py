"""Real low-resolution renders of a few gallery beats: the last frame passes the layout lint and matches
its reference image (set UPDATE_REFERENCE=1 to rewrite the references after an intended change)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest_scenes import gallery, job

REFERENCE = Path(__file__).parent / "data" / "reference"
BEATS = ["index_block", "matmul", "broadcast", "bits"]


def difference(a: Path, b: Path) -> float:
    """Mean absolute difference (0..255) of two frames, compared small and grey so font hinting and
    encoder noise do not count."""
    from PIL import Image, ImageChops, ImageStat

    small = (214, 120)
    x = Image.open(a).convert("L").resize(small)
    y = Image.open(b).convert("L").resize(small)
    return float(ImageStat.Stat(ImageChops.difference(x, y)).mean[0])


@pytest.mark.slow
@pytest.mark.parametrize("name", BEATS)
def test_last_frame_matches_reference(name: str, tmp_path: Path) -> None:
    from scenes.still import render_still

    still = render_still(job(name), tmp_path / f"{name}.png")
    assert still.lint == []
    ref = REFERENCE / f"{name}.png"
    if os.environ.get("UPDATE_REFERENCE") or not ref.exists():
        ref.write_bytes(still.png.read_bytes())
        pytest.skip(f"wrote reference {ref}")
    assert difference(still.png, ref) < 4.0


@pytest.mark.slow
def test_clip_renders_and_its_last_frame_passes_lint(tmp_path: Path) -> None:
    from render.clips import ClipJob, render_clip

    j = job("cat")
    result = render_clip(ClipJob(key="cat", output=str(tmp_path / "cat.mp4"), title=j["title"], lesson=j["lesson"],
                                 visual=j["visual"], trace=j["trace"], timing=None, quality="low",
                                 work_dir=str(tmp_path / "work")))
    assert result.lint == []
    assert result.shown["moves"]
    frame = tmp_path / "last.png"
    subprocess.run(["ffmpeg", "-v", "error", "-sseof", "-0.1", "-i", result.output, "-frames:v", "1", str(frame)],
                   check=True)
    from PIL import Image

    from scenes.still import render_still

    assert Image.open(frame).size == (854, 480)
    still = render_still(j, tmp_path / "still.png")  # the video ends on the frame the still shows
    assert difference(frame, still.png) < 6.0
    assert gallery()[0].beats
