"""`Schedule` on its gallery beats (scripts/gallery/train_schedule.py, learning rates from real torch schedulers):
every line passes through the traced rates, the marked rate and the y ticks are written true (scientific under
0.01), steps() predicts the steps played, the layout is lint clean; data it cannot draw raises a VisualError."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from render.checks import DRY_RUN
from render.errors import VisualError
from scenes.spec import VisualSpec
from scenes.trace import BeatTrace, TensorEntry

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gallery" / "train_schedule.py"
NAMES = ["schedule_step_cosine", "schedule_one_cycle", "schedule_crossing"]


@functools.cache
def traced() -> tuple[Any, dict[str, Any]]:
    from render.gallery import trace_gallery

    lesson, trace = trace_gallery([SCRIPT], device="cpu")
    return lesson, json.loads(json.dumps(trace))


@functools.cache
def run(name: str) -> tuple[BeatTrace, dict[str, Any], int, int, list[str], dict[str, Any]]:
    """Dry-run beat `name`: (its trace, what it showed, steps played, steps predicted, lint problems, options)."""
    from manim import tempconfig

    from scenes.beat import BeatScene

    lesson, trace = traced()
    i = [b.name for b in lesson.beats].index(name)
    beat = lesson.beats[i]
    job = {"title": beat.title, "lesson": "schedules", "visual": beat.visual.to_json(),
           "trace": {"beat": trace["beats"][i], "device": trace["device"], "torch": trace["torch"]}, "timing": None}
    with tempconfig(DRY_RUN):
        scene = BeatScene(job)
        scene.render()
    assert scene.visual is not None
    predicted = scene.visual.steps()  # type: ignore[attr-defined]
    view = BeatTrace.from_json(trace["beats"][i])
    return view, scene.visual.shown, scene.steps_played, predicted, list(scene.lint_problems), beat.visual.options


def test_the_gallery_file_has_every_beat_here() -> None:
    lesson, _ = traced()
    assert [b.name for b in lesson.beats] == NAMES
    assert {b.visual.kind for b in lesson.beats} == {"Schedule"}


@pytest.mark.parametrize("name", NAMES)
def test_steps_predicted_and_lint_clean(name: str) -> None:
    beat, shown, played, predicted, problems, options = run(name)
    assert problems == []
    assert played == predicted == 1 + len(shown["curves"]) + (options.get("at") is not None)


@pytest.mark.parametrize("name", NAMES)
def test_each_line_holds_the_traced_rate_from_one_step_to_the_next(name: str) -> None:
    """A rate changes at a step and holds until the next: every corner sits on a step, at the rate of that step
    or the one before; the line runs flat or straight up or down (no ramp between steps); every step's rate is
    drawn."""
    beat, shown, *_ = run(name)
    for lr, points in shown["curves"].items():
        ys = beat[lr].flat()
        tol = 1e-6 * max(ys)
        for px, py in points:
            step = round(px)
            assert abs(px - step) < 1e-6, f"{lr}: a corner at x={px}, between steps"
            assert any(abs(py - ys[k]) <= tol for k in (step - 1, step) if 0 <= k < len(ys)), f"{lr}: {py} at {step}"
        for (ax, ay), (bx, by) in zip(points, points[1:], strict=False):
            assert abs(ax - bx) < 1e-6 or abs(ay - by) <= tol, f"{lr}: a ramp from {ax} to {bx}"
        for step, y in enumerate(ys):
            assert any(abs(px - step) < 1e-6 and abs(py - y) <= tol for px, py in points) or (
                step and abs(ys[step - 1] - y) <= tol), f"{lr}: step {step}'s rate {y} is not drawn"


@pytest.mark.parametrize("name", NAMES)
def test_the_marked_rate_is_the_traced_rate_at_that_step(name: str) -> None:
    beat, shown, *_, options = run(name)
    at = options["at"]
    assert shown["at"]["step"] == at
    for lr in shown["curves"]:
        text, value = shown["at"][lr], beat[lr].at(at)
        assert float(text) == pytest.approx(value, rel=5e-3), f"{lr}[{at}] reads {text}, traced {value}"


@pytest.mark.parametrize("name", NAMES)
def test_y_ticks_read_as_their_values_and_cover_the_rates(name: str) -> None:
    beat, shown, *_ = run(name)
    ticks = shown["ticks"]
    for text, value in zip(ticks["y"], ticks["y_values"], strict=True):
        assert float(text) == pytest.approx(value, rel=1e-9, abs=1e-12)
    top = max(max(beat[lr].flat()) for lr in shown["curves"])
    assert ticks["y_values"][0] == 0 and ticks["y_values"][-1] >= top


def test_small_rates_are_written_in_scientific_notation() -> None:
    shown = run("schedule_one_cycle")[1]
    assert shown["ticks"]["y"] == ["0", "2e-4", "4e-4", "6e-4", "8e-4", "1e-3"]
    assert shown["at"]["lr"] == "1e-3"


@pytest.mark.parametrize("value,digits,text", [
    (0.1, 3, "0.1"), (0.0375, 3, "0.0375"), (0.030866, 3, "0.0309"), (1e-3, 3, "1e-3"), (2.5e-4, 3, "2.5e-4"),
    (9.9996e-4, 3, "1e-3"), (4e-9, 3, "4e-9"), (0.0, 3, "0"), (1.23456e-5, 2, "1.2e-5"), (3.0, 3, "3"),
])
def test_lr_text(value: float, digits: int, text: str) -> None:
    from scenes.visuals.schedule import lr_text

    assert lr_text(value, digits) == text


# data it cannot draw ----------------------------------------------------------------------------------
def entry(name: str, values: Any, shape: tuple[int, ...], dtype: str = "float32") -> TensorEntry:
    return TensorEntry(name, values, shape, dtype, "cpu", tuple(1 for _ in shape))


CASES = [
    (("lr",), [entry("lr", [[0.1, 0.1]], (1, 2))], {}, "1-D"),
    (("lr",), [entry("lr", [1, 2], (2,), "int64")], {}, "floats"),
    (("lr",), [entry("lr", [0.1], (1,))], {}, "2 to 2048 steps"),
    (("lr",), [entry("lr", [0.1, "nan"], (2,))], {}, "finite"),
    (("lr",), [entry("lr", [0.1, -0.1], (2,))], {}, "between 0"),
    (("lr",), [entry("lr", [0.0, 0.0], (2,))], {}, "every learning rate is 0"),
    (("a", "b"), [entry("a", [0.1, 0.1], (2,)), entry("b", [0.1, 0.1, 0.1], (3,))], {}, "3 steps against 2"),
    (("lr",), [entry("lr", [0.1, 0.1], (2,))], {"at": 2}, "outside steps 0 to 1"),
    (("lr",), [entry("lr", [0.1, 0.1], (2,))], {"at": 0.5}, "an int"),
    (("lr",), [entry("lr", [0.1, 0.1], (2,))], {"labels": ["a", "b"]}, "one name per schedule"),
    (("lr", "other"), [entry("lr", [0.1, 0.1], (2,))], {}, "returned no 'other'"),
]


@pytest.mark.parametrize("tensors,entries,options,reason", CASES, ids=[c[-1] for c in CASES])
def test_data_it_cannot_draw_raises_a_visual_error(tensors: tuple[str, ...], entries: list[TensorEntry],
                                                   options: dict[str, Any], reason: str) -> None:
    from scenes.beat import load_visual

    beat = BeatTrace("b", "", {e.name: e for e in entries}, {})
    with pytest.raises(VisualError, match=reason) as err:
        v = load_visual(VisualSpec("Schedule", tensors, options), beat)
        next(v.play(None))  # type: ignore[arg-type]
    assert err.value.visual == "Schedule"
