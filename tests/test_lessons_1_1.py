"""Lessons 1.1.1 to 1.1.4: each traces on the CPU, speaks only traced numbers, keeps to the lesson shape
(objectives first, recap then challenge last, 6 to 12 beats, 3 to 6 narrated minutes), passes the layout lint,
and the section 1.1 coverage table in scripts/module1/README.md maps every outline item and every function
the lesson lines name to beats that really run it."""

from __future__ import annotations

import pytest

from tests.lessons import (
    assert_every_item_covered,
    assert_lesson_shape,
    assert_lint_clean,
    assert_rows_point_at_real_beats,
    assert_traced_and_quoted,
    checked,
    coverage_rows,
)

SECTION = "## Section 1.1\n"

LESSONS = [
    "01_introduction_to_tensors",
    "02a_tensor_manipulation",
    "02b_tensor_metamorphosis",
    "03_data_types_and_devices",
]

# The items per lesson (the outline's "What you will learn" for 1.1 and every function its lesson
# lines name): each must be a row of the coverage table.
REQUIRED = {
    "01_introduction_to_tensors": [
        "Tensor concept: scalar, vector, matrix, n-d", "Tensor vs. matrix; mathematical vs. PyTorch view",
        "Why tensors are crucial for ML (an image batch)", "torch.tensor", "torch.zeros", "torch.ones",
        "The _like family", "torch.arange", "torch.linspace", "torch.rand", "torch.randn", "torch.randint",
        "torch.manual_seed", "Attributes: dtype, shape, device (an embedding table)",
    ],
    "02a_tensor_manipulation": [
        "Indexing", "Slicing", "Boolean masks", "torch.cat", "torch.stack",
        "cat against stack: concatenate vs. new dimension", "torch.split",
        "torch.chunk (attention heads being split)", "unbind",
    ],
    "02b_tensor_metamorphosis": [
        "reshape", "view", "Shared storage", "Contiguity", "transpose", "permute (an image batch)", "squeeze",
        "unsqueeze", "expand", "repeat", "flatten", "Attention heads split with view and transpose",
    ],
    "03_data_types_and_devices": [
        "Default dtypes", "float32", "float16", "bfloat16", "Integers", "bool",
        "Converting dtypes (an embedding table)", "Devices: cpu, cuda, mps", "Moving tensors",
        "Choosing the best device", "Timing the same operation on CPU and GPU",
    ],
}
for items in REQUIRED.values():
    items.append("Objectives, recap and challenge")



@pytest.mark.parametrize("name", LESSONS)
def test_trace_computes_on_cpu_and_narration_quotes_only_the_trace(name: str) -> None:
    assert_traced_and_quoted(name)


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_shape(name: str) -> None:
    check = assert_lesson_shape(name)
    lesson, beats = check.lesson, check.lesson.beats
    opening, recap, challenge = beats[0], beats[-2], beats[-1]
    assert opening.visual.options["lines"] == lesson.objectives
    assert recap.visual.kind == "Title" and recap.visual.options["lines"] == lesson.recap
    assert challenge.visual.kind == "Title" and challenge.visual.options["lines"] == [lesson.challenge]
    # every beat between the opening and the recap shows tensors from its own trace
    for beat in beats[1:-2]:
        assert beat.visual.kind != "Title" and beat.visual.tensors, f"{beat.name} shows no tensor"


def test_devices_lesson_times_only_what_ran() -> None:
    """On a CPU-only trace the timing beat reports the CPU and says plainly that there is no GPU figure."""
    check = checked("03_data_types_and_devices", False)
    timing = next(b for b in check.trace["beats"] if b["name"] == "timing")
    assert timing["values"]["gpu_ms"] is None and timing["values"]["cpu_ms"] > 0
    assert timing["tensors"]["timings"]["values"] == [pytest.approx(timing["values"]["cpu_ms"])]
    assert "no GPU" in check.narration["timing"]
    assert "cpu" in check.narration["devices"]


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_layout_lint(name: str) -> None:
    assert_lint_clean(name)


def test_coverage_table_rows_point_at_real_beats_that_run_the_code() -> None:
    assert_rows_point_at_real_beats(coverage_rows(SECTION), LESSONS)


def test_coverage_table_has_every_outline_item() -> None:
    assert_every_item_covered(coverage_rows(SECTION), REQUIRED)
