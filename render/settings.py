"""Settings for one build, passed explicitly to every step (no globals)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from render.course import ROOT
from render.isolate import Limits

# name -> (manim quality, width, height, fps)
QUALITIES: dict[str, tuple[str, int, int, int]] = {
    "low": ("low_quality", 854, 480, 15),
    "medium": ("medium_quality", 1280, 720, 30),
    "high": ("high_quality", 1920, 1080, 60),
    "4k": ("fourk_quality", 3840, 2160, 60),
}
PARTS = ("video", "decks", "notebooks", "page")


@dataclass(frozen=True)
class Settings:
    build_dir: Path = ROOT / "build"
    quality: str = "low"
    device: str = "auto"
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    force: bool = False
    voice: str = "piper"
    only: tuple[str, ...] = PARTS
    wait: bool = False
    limits: Limits = field(default_factory=Limits)
    draft: bool = False  # each beat a still per step held for its narration (render serve --draft)
    still_holds: bool = True  # holds encoded once and repeated; False: every held frame encoded (to compare)
    scheduler: str | None = None  # a Dask scheduler's address, or local:N; None = the local process pool
    warm_trace: bool = False  # traces forked from a process that imported torch once (render serve)
    preview: bool = False  # render serve: lesson audio joined as a preview (a later render joins it again)

    def __post_init__(self) -> None:
        if self.quality not in QUALITIES:
            raise ValueError(f"unknown quality {self.quality!r}; use one of {', '.join(QUALITIES)}")

    @property
    def resolution(self) -> tuple[int, int, int]:
        _, w, h, fps = QUALITIES[self.quality]
        return w, h, fps

    def render_inputs(self) -> dict[str, object]:
        """The settings that shape the clips (a change re-renders every beat)."""
        w, h, fps = self.resolution
        return {"quality": self.quality, "width": w, "height": h, "fps": fps} | (
            {} if self.still_holds else {"frame_by_frame": True})
