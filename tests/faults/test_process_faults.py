"""One beat's failure stays one beat's, whichever process it happened in: a lesson with a 5-D beat (a clean
`VisualError` raised in a render process), a beat whose visual kills its render process (`os._exit(1)` while
drawing) and three ordinary beats, rendered through the real process pool and through a `local:2` Dask
cluster. The three render; the two fail with their own messages and file:line; exit 1, no traceback."""

from __future__ import annotations

import re
import textwrap

import pytest

from tests.conftest import Project

pytestmark = pytest.mark.slow

CRASH_VISUAL = '''
"""A visual whose render process dies while it draws (written into the test's copy of the project only)."""

import os

from scenes.visuals.base import Visual


class Crash(Visual):
    def steps(self):
        return 1

    def play(self, scene):
        os._exit(1)
        yield
'''

LESSON = '''
"""Five beats: one 5-D, one that kills its render process, three ordinary."""

import torch

from render.lesson import Lesson
from scenes.vocabulary import Crash, Show

lesson = Lesson(objectives=["Survive"], recap=["Survived"], challenge="Break it again.")


@lesson.beat("Crash", narration="This beat kills the process that draws it, while the others wait their turn.",
             visual=Crash("x"), slide=["boom"])
def crash(device):
    return {"x": torch.ones(2, device=device)}


@lesson.beat("Five dims", narration="Five axes are more than a grid can draw, apprentices.",
             visual=Show("x", code=False), slide=["5-D"])
def five_dims(device):
    return {"x": torch.zeros(1, 2, 1, 2, 2, device=device)}


@lesson.beat("One", narration="One row.", visual=Show("a", code=False), slide=["one"])
def one(device):
    return {"a": torch.arange(3, device=device)}


@lesson.beat("Two", narration="Two rows.", visual=Show("b", code=False), slide=["two"])
def two(device):
    return {"b": torch.arange(6, device=device).reshape(2, 3)}


@lesson.beat("Three", narration="Three rows.", visual=Show("c", code=False), slide=["three"])
def three(device):
    return {"c": torch.arange(9, device=device).reshape(3, 3)}
'''


@pytest.mark.parametrize("scheduler", [None, "local:2"], ids=["process-pool", "dask-local-2"])
def test_a_bad_beat_and_a_dead_render_process_fail_alone(project: Project, scheduler: str | None) -> None:
    (project.root / "scenes" / "visuals" / "crash.py").write_text(textwrap.dedent(CRASH_VISUAL))
    project.script().write_text(textwrap.dedent(LESSON))
    args = ["1.1.1", "--voice", "none", "--only", "video", "--jobs", "2"]
    result = project.render(*args, *(["--scheduler", scheduler] if scheduler else []), check=False)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Traceback" not in out and "terminated abruptly" not in out and "bug in Torchenstein" not in out, out
    beats = project.lesson_dir() / "beats"
    rendered = sorted(p.stem.split("-", 1)[-1] for p in beats.glob("*.mp4"))
    assert rendered == ["one", "three", "two"], out
    crash_line = next(i for i, line in enumerate(project.script().read_text().splitlines(), 1)
                      if line.startswith("@lesson.beat(\"Crash\""))
    dims_line = next(i for i, line in enumerate(project.script().read_text().splitlines(), 1)
                     if line.startswith("@lesson.beat(\"Five dims\""))
    flat = " ".join(out.split())
    assert re.search(rf"tiny\.py:{dims_line}: beat 'five_dims': \w+\('x'\) cannot draw this: .*4-D", flat), out
    assert f"tiny.py:{crash_line}: beat 'crash': the render process died with exit code 1" in flat, out


def test_lint_reports_both_failing_beats_and_lints_the_others(project: Project) -> None:
    (project.root / "scenes" / "visuals" / "crash.py").write_text(textwrap.dedent(CRASH_VISUAL))
    project.script().write_text(textwrap.dedent(LESSON))
    result = project.render("lint", "1.1.1", "--voice", "none", check=False)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Traceback" not in out and "terminated abruptly" not in out, out
    flat = " ".join(out.split())
    assert "scripts/module1/tiny.py:12: beat 'crash': the render process died with exit code 1" in flat, out
    assert re.search(r"scripts/module1/tiny\.py:18: beat 'five_dims': \w+\('x'\) cannot draw", flat), out
    assert "5 beats, 2 problems" in flat, out
