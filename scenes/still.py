"""Render a beat scene's last frame to a PNG without encoding video (Manim skips every animation to its
end state), with the layout lint and the shown values: the cheap way to look at, test and compare a beat."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUALITY = {"low": ("low_quality", 15), "medium": ("medium_quality", 30), "high": ("high_quality", 60)}


@dataclass
class Still:
    png: Path
    shown: dict[str, Any]
    lint: list[str]


def render_still(job: dict[str, Any], png: Path, quality: str = "low") -> Still:
    """`job` is a BeatScene job (title, lesson, visual, trace, timing); the last frame goes to `png`."""
    from manim import config, tempconfig

    from scenes.beat import BeatScene

    manim_quality, fps = QUALITY[quality]
    media = Path(tempfile.mkdtemp(prefix="still-"))
    try:
        options = {
            "quality": manim_quality,
            "media_dir": str(media),
            "output_file": "still",
            "disable_caching": True,
            "format": "png",
            "progress_bar": "none",
            "verbosity": "ERROR",
        }
        with tempconfig(options):
            config.frame_rate = fps
            scene = BeatScene(dict(job))
            scene.render()
            frames = sorted(media.rglob("*.png"))
            if not frames:
                raise RuntimeError(f"Manim wrote no last frame for beat {job.get('title')!r}")
            png.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(frames[-1], png)
            shown = dict(scene.visual.shown if scene.visual else {})
            return Still(png, shown, list(scene.lint_problems))
    finally:
        shutil.rmtree(media, ignore_errors=True)
