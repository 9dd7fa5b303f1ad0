"""A lesson script cannot take the build down: whatever its computation does, the trace runs in a child
process and the failure comes back as that lesson's LessonError, with the file and the beat's line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from render.errors import LessonError
from render.isolate import Limits, trace_isolated

HEAD = """
import os, sys, time
import torch
from render.lesson import Lesson
from scenes.vocabulary import Show
lesson = Lesson()

@lesson.beat("Bad", narration="Boom.", visual=Show("x"))
def bad(device):
"""

BODIES = {
    "raises": ("raise ValueError('nope')", "beat 'bad': ValueError: nope"),
    "exits": ("sys.exit(3)", "beat 'bad': the script called sys.exit(3)"),
    "kills itself": ("os._exit(9)", "exited with code 9 during beat 'bad'"),
    "hangs": ("while True:\n        time.sleep(0.01)", "ran past the 2 s limit per beat"),
    "keyboard interrupt": ("raise KeyboardInterrupt", "beat 'bad': KeyboardInterrupt"),
}


def script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "hostile.py"
    path.write_text(textwrap.dedent(HEAD) + f"    {body}\n    return {{'x': torch.ones(2)}}\n")
    return path


@pytest.mark.parametrize("warm", [False, True], ids=["subprocess", "forked by render serve"])
@pytest.mark.parametrize("case", sorted(BODIES))
def test_a_hostile_computation_is_that_lessons_error(tmp_path: Path, case: str, warm: bool) -> None:
    body, expected = BODIES[case]
    path = script(tmp_path, body)
    with pytest.raises(LessonError) as caught:
        trace_isolated(path, "cpu", Limits(beat_seconds=2), warm)
    assert expected in str(caught.value)
    assert str(caught.value).startswith(f"{path}:")  # the file, and the line where known


@pytest.mark.parametrize("warm", [False, True], ids=["subprocess", "forked by render serve"])
def test_a_flood_of_output_is_survived(tmp_path: Path, warm: bool) -> None:
    path = script(tmp_path, "for _ in range(10000):\n        print('x' * 100)")  # a megabyte of printing
    trace = trace_isolated(path, "cpu", Limits(), warm)
    assert trace["beats"][0]["tensors"]["x"]["shape"] == [2]
    assert trace["lesson"]["beats"][0]["name"] == "bad"


def test_a_trace_forked_by_render_serve_equals_the_subprocess_trace() -> None:
    from render.course import load_course

    lesson = load_course().lesson("1.1.1").script
    assert trace_isolated(lesson, "auto", Limits(), warm=True) == trace_isolated(lesson, "auto", Limits())


def test_a_trace_past_the_memory_limit_is_stopped(tmp_path: Path) -> None:
    path = script(tmp_path, "keep = [torch.ones(64, 1024, 1024) for _ in range(40)]")
    with pytest.raises(LessonError) as caught:
        trace_isolated(path, "cpu", Limits(beat_seconds=600, memory_mb=600))
    assert "past the 600 MB limit" in str(caught.value)


def test_a_script_that_exits_while_loading_names_no_beat(tmp_path: Path) -> None:
    path = tmp_path / "leaves.py"
    path.write_text("import sys\nsys.exit('bye')\n")
    with pytest.raises(LessonError) as caught:
        trace_isolated(path, "cpu")
    assert "sys.exit('bye')" in str(caught.value)
