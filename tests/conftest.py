"""Shared fixtures: a throwaway copy of the project with a tiny course, and a way to run `render` in it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Test files that share the per-process cache of gallery dry runs (tests/conftest_scenes.py): under
# pytest-xdist they run in one worker, so each gallery beat is dry-run once, not once per file.
GALLERY_GROUP = {"test_vocabulary.py", "test_vocabulary_protocol.py", "test_gallery.py"}

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Manim keeps Text SVGs under its media folder and deletes them as it goes: one folder per worker,
    # or two workers drawing the same text race on the same file.
    from manim import config as _manim_config

    _manim_config.media_dir = tempfile.mkdtemp(prefix=f"studio-media-{os.environ['PYTEST_XDIST_WORKER']}-")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A file's tests stay together (they share module fixtures); the gallery files form one group."""
    for item in items:
        name = item.path.name
        item.add_marker(pytest.mark.xdist_group("gallery" if name in GALLERY_GROUP else str(item.path)))

TINY_COURSE = """
title = "Tiny course"
mentor = "Professor Torchenstein"

[[modules]]
number = 1
title = "Tiny module"
learn = []

[[modules.sections]]
id = "1.1"
title = "Tiny section"
learn = ["Tiny things"]

[[modules.sections.lessons]]
id = "1.1.1"
file = "tiny"
title = "A Tiny Lesson"
blurb = "Two beats, for tests."

[[modules.sections.lessons]]
id = "1.1.2"
file = "broken"
title = "A Broken Lesson"
blurb = "Fails on purpose."
"""

TINY_LESSON = '''
"""A two-beat lesson for the pipeline tests."""

import torch

from render.lesson import Lesson
from scenes.vocabulary import Show, Title

lesson = Lesson(objectives=["Count to six"], recap=["Counted"], challenge="Count to seven.")


@lesson.beat("Counting", narration="Behold {{ x.numel }} numbers.", visual=Show("x", code=False),
             slide=["`torch.arange` counts"])
def counting(device):
    x = torch.arange(6, device=device).reshape(2, 3)
    return {"x": x}


@lesson.beat("The end", narration="And that is all, apprentices.", visual=Title(heading="Recap", lines=["Counted"]),
             slide=["Done"])
def the_end(device):
    return {}
'''


@dataclass
class Project:
    """A copy of the project's code with a tiny course, where `render` runs as a subprocess."""

    root: Path

    @property
    def build(self) -> Path:
        return self.root / "build"

    def lesson_dir(self, slug: str = "tiny") -> Path:
        return self.build / "module1" / slug

    def script(self, name: str = "tiny") -> Path:
        return self.root / "scripts" / "module1" / f"{name}.py"

    def render(self, *args: str, env: dict[str, str] | None = None, check: bool = True,
               timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run `render ARGS` against this copy (its own code first on sys.path)."""
        full_env = {**os.environ, "PYTHONPATH": str(self.root), "COLUMNS": "200", **(env or {})}
        cmd = [sys.executable, "-m", "render.cli", *args]
        result = subprocess.run(cmd, cwd=self.root, env=full_env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f"render {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def edit(self, path: Path, old: str, new: str) -> None:
        text = path.read_text()
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "studio"
    for folder in ("render", "scenes", "templates", "assets"):
        if (ROOT / folder).exists():
            shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__", "recordings"))
    if (ROOT / "node_modules").exists():
        (root / "node_modules").symlink_to(ROOT / "node_modules")
    (root / "scripts" / "module1").mkdir(parents=True)
    (root / "scripts" / "course.toml").write_text(TINY_COURSE)
    (root / "scripts" / "module1" / "tiny.py").write_text(textwrap.dedent(TINY_LESSON))
    return Project(root)


# Hypothesis profiles (tests/test_fuzz_vocabulary.py): `studio-ci`, the default, runs a few examples per visual
# from a fixed seed; `--hypothesis-profile thorough` runs thousands in all. No example database is written.
from hypothesis import HealthCheck, Phase, settings  # noqa: E402

_FUZZ = {"deadline": None, "database": None, "print_blob": True,
         "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]}
settings.register_profile("studio-ci", max_examples=3, phases=[Phase.explicit, Phase.generate, Phase.shrink], **_FUZZ)
settings.register_profile("thorough", max_examples=120, **_FUZZ)
settings.load_profile("studio-ci")
