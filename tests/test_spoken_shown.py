"""Spoken means shown: what a narration segment speaks is on screen once that segment's step has played."""

from __future__ import annotations

import pathlib

import pytest

from render.checks import on_screen, unshown

TRACED = {"name": "b", "source": "", "tensors": {}, "modules": {}, "state_dicts": {}, "graph": None, "claims": [],
          "values": {"total": 26, "mean": 0.3333, "shape": [2, 3], "error": "RuntimeError: mat1 and mat2 shapes "
                     "cannot be multiplied (2x3 and 2x3)", "ok": True}}


@pytest.mark.parametrize(("said", "texts", "shown"), [
    ("26", ["total", "26"], True),
    ("26", ["2", "6"], False),  # digits of other texts never add up to a number
    ("0.33", ["0.333"], True),  # to the coarser rounding
    ("2", ["2.00"], True),
    ("0.5", ["0.25"], False),
    ("1.73", ["2"], False),  # an index label is not a spoken decimal
    ("1, 2 and 3", ["1.00", "2.00", "3.00"], True),
    ("1, 2 and 3", ["1.00", "2.00"], False),
    ("2x3", ["(", "2", "x", "3", ")"], True),
    ("2x3", ["x2x3"], True),
    ("2x3", ["(2,3)"], True),
    ("2x3", ["3x2"], False),
    ("RuntimeError: mat1 and mat2 shapes cannot be multiplied",
     ["RuntimeError:mat1andmat2shapes", "cannotbemultiplied"], True),
    ("true", [], True),
])
def test_on_screen_reads_values_as_a_viewer_does(said: str, texts: list[str], shown: bool) -> None:
    assert on_screen(said, texts) is shown


def test_a_value_spoken_before_it_is_drawn_or_never_drawn_is_named_with_its_segment() -> None:
    template = "The total is {{ total }}. | The mean is {{ mean }}. | It fails: {{ error }}"
    screen = [["code"], ["total", "26", "0.33"], ["total", "26", "0.33"]]
    found = unshown(template, TRACED, screen)
    assert len(found) == 2, found
    assert found[0].startswith("segment 1 speaks {{ total }} (26), but it appears only at step 2")
    assert found[1].startswith("segment 3 speaks {{ error }} (RuntimeError: mat1 and mat2 shapes ca...), but the "
                               "screen never shows it")
    gone = unshown("{{ total }} first. | Then {{ total }} again.", TRACED, [["26"], ["other"]])
    assert gone == [gone[0]] and "it was shown at step 1 and is gone by then" in gone[0]


@pytest.mark.slow
def test_lint_reports_a_spoken_value_the_screen_never_shows(tmp_path: pathlib.Path) -> None:
    from render.checks import check_lesson, dry_run_job, picture_findings

    script = tmp_path / "spoken.py"
    script.write_text('''
import torch

from render.lesson import Lesson
from scenes.vocabulary import Show

lesson = Lesson(objectives=["o"], recap=["r"], challenge="c")


@lesson.beat("Sums", narration="The code. | Its total is {{ total }}.", visual=Show("x"), slide=["s"])
def sums(device):
    x = torch.tensor([[1.5, 2.0], [3.0, 4.0]], device=device)
    return {"x": x, "total": float(x.sum()) + 100}
''')
    check = check_lesson(script, lint=False)
    beat, traced = check.lesson.beats[0], check.trace["beats"][0]
    found = dry_run_job({"title": beat.title, "lesson": "t", "visual": beat.visual.to_json(),
                         "trace": {"beat": traced, "device": "cpu", "torch": ""}, "timing": None})
    problems, _ = picture_findings(beat, check.narration[beat.name], traced, found)
    assert any("segment 2 speaks {{ total }} (110.5), but the screen never shows it" in p for p in problems), problems


def test_frames_used_names_a_small_picture_and_a_late_start_but_not_a_card() -> None:
    from render.checks import frames_used

    assert frames_used("Show", {"picture_share": 0.5, "first_content": 0.0}) == []
    small = frames_used("Show", {"picture_share": 0.12, "first_content": 0.6})
    assert [p.split(" (")[0] for p in small] == ["the picture covers 12% of the frame under the title",
                                                  "the screen stays empty for 0.6 s before the first content"]
    assert frames_used("Title", {"picture_share": 0.1, "first_content": 0.0}) == []
    assert frames_used("Show", {}) == []  # a record from before frames were measured


@pytest.mark.slow
def test_a_beat_starts_with_its_content_and_its_header_together() -> None:
    """The header is written beside the visual's first animation, not before it: no empty screen at the start."""
    from render.checks import dry_run_job

    beat = {"name": "b", "source": "def b(device):\n    return {}", "modules": {}, "state_dicts": {}, "graph": None,
            "claims": [], "values": {}, "tensors": {}}
    job = {"title": "T", "lesson": "L", "visual": {"kind": "Title", "tensors": [], "options": {"lines": ["one"]}},
           "trace": {"beat": beat, "device": "cpu", "torch": ""}, "timing": None}
    found = dry_run_job(job)
    assert found["first_content"] == 0.0
    assert 0 < found["picture_share"] <= 1.0  # a one-line card covers little: cards are not held to the floor
    assert found["screen"][0] == ["one"] or "one" in "".join(found["screen"][-1])


def test_a_drawn_tensors_count_is_seen_by_counting() -> None:
    assert unshown("Behold {{ total }} numbers.", TRACED, [["1.00", "2.00"]]) != []  # a total is read, not counted
    assert unshown("Behold {{ x.numel }} numbers in {{ x.ndim }} axes.", TRACED, [["1.00"]], drawn={"x"}) == []
