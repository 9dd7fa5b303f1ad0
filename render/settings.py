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


# -- where a setting comes from: the command line, the build folder's memory, the project, the default ---------
REMEMBERED = {"quality": "low", "voice": "piper", "device": "auto"}  # remembered per build folder, and defaults
CONFIGURABLE = (*REMEMBERED, "jobs")  # what `[tool.studio]` in pyproject.toml may set
FLAGS = {"quality": "--quality", "voice": "--voice", "device": "--device", "jobs": "--jobs"}


def project_defaults(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, object]:
    """The project's own defaults: `[tool.studio]` in pyproject.toml (quality, voice, device, jobs)."""
    import tomllib

    from render.errors import StudioError

    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise StudioError(f"{pyproject.name}: not valid TOML: {exc}") from None
    table = data.get("tool", {}).get("studio", {})
    unknown = sorted(set(table) - set(CONFIGURABLE))
    if unknown:
        raise StudioError(f"{pyproject.name}: [tool.studio] has no setting {', '.join(unknown)}; it takes "
                          f"{', '.join(CONFIGURABLE)}")
    return dict(table)


def memory_file(build_dir: Path) -> Path:
    return build_dir / ".state" / "settings.json"


def remembered(build_dir: Path) -> dict[str, object]:
    """The settings the last render into `build_dir` used ({} for a new folder or an unreadable file)."""
    import json

    try:
        data = json.loads(memory_file(build_dir).read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if k in REMEMBERED} if isinstance(data, dict) else {}


def remember(settings: Settings) -> None:
    """Keep the settings a render used, so the next command on the same build folder uses them too."""
    import json

    from render.files import write_text

    write_text(memory_file(settings.build_dir),
               json.dumps({k: getattr(settings, k) for k in REMEMBERED}, indent=1) + "\n")


def choose(given: dict[str, object | None], build_dir: Path,
           pyproject: Path = ROOT / "pyproject.toml") -> tuple[dict[str, object], list[str]]:
    """Each setting from the first place that has it: the command line, what this build folder was last
    rendered with, `[tool.studio]`, the embedded default. Returns the values and a line for each that a user
    should hear of (a remembered or project value in use, or a flag that overrides a remembered one)."""
    memory, project = remembered(build_dir), project_defaults(pyproject)
    values: dict[str, object] = {}
    notes: list[str] = []
    for name in CONFIGURABLE:
        flag, before = given.get(name), memory.get(name)
        if flag is not None:
            values[name] = flag
            if before is not None and before != flag:
                notes.append(f"{name} {flag} ({FLAGS[name]}; this build folder was last rendered with {before})")
        elif before is not None:
            values[name] = before
            if before != project.get(name, REMEMBERED.get(name)):
                notes.append(f"{name} {before} (remembered for this build folder; {FLAGS[name]} changes it)")
        elif name in project:
            values[name] = project[name]
            notes.append(f"{name} {project[name]} (from [tool.studio] in pyproject.toml)")
        elif name in REMEMBERED:
            values[name] = REMEMBERED[name]
    return values, notes
