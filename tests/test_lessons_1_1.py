"""Lessons 1.1.1 to 1.1.4: each traces on the CPU, speaks only traced numbers, keeps to the lesson shape
(objectives first, recap then challenge last, 6 to 12 beats, 3 to 6 narrated minutes), passes the layout lint,
and the section 1.1 coverage table in scripts/module1/README.md maps every outline item and every function
the lesson lines name to beats that really run it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch

from render.errors import LessonError
from render.lesson import load_lesson
from render.trace import trace_lesson
from tests.lessons import (
    assert_cards_and_content,
    assert_every_item_covered,
    assert_lint_clean,
    assert_rows_point_at_real_beats,
    assert_traced_and_quoted,
    checked,
    coverage_rows,
    script,
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
    assert_cards_and_content(name)


def test_devices_lesson_times_only_what_ran() -> None:
    """On a CPU-only trace the timing beat reports the CPU and says plainly that there is no GPU figure."""
    check = checked("03_data_types_and_devices", False)
    timing = next(b for b in check.trace["beats"] if b["name"] == "timing")
    runs = timing["tensors"]["runs"]["values"]
    assert len(runs) == 1 and len(runs[0]) == 5 and min(runs[0]) > 0  # the cpu's row alone
    assert timing["tensors"]["middle"]["values"] == [pytest.approx(sorted(runs[0])[2])]
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


@pytest.mark.parametrize("name", LESSONS)
def test_every_beat_after_the_objectives_checks_its_claims(name: str) -> None:
    """Each beat's claims ran and held when it traced (expect records only a claim that holds)."""
    check = checked(name, False)
    for traced in check.trace["beats"][1:]:
        assert traced["claims"], f"{traced['name']} checks no claim"
        assert all(isinstance(c, str) and c for c in traced["claims"])


def test_a_false_claim_fails_its_beat_with_the_claims_text(tmp_path: Path) -> None:
    """The old, false slide of 1.1.2 ("chunk(t, n): n pieces") as a claim: torch disagrees and the trace
    stops at that beat, naming the claim, the script and the line of the check."""
    lesson_file = tmp_path / "false_claim.py"
    lesson_file.write_text(textwrap.dedent("""\
        import torch

        from render.lesson import Lesson, expect
        from scenes.vocabulary import Show

        lesson = Lesson(objectives=["o"], recap=["r"], challenge="c")


        @lesson.beat("Chunks", narration="One. Two.", visual=Show("pieces"))
        def chunks(device):
            pieces = torch.arange(6, device=device)
            expect(len(pieces.chunk(4)) == 4, "chunk(t, n) gives n pieces")
            return {"pieces": pieces}
        """), encoding="utf-8")
    lesson = load_lesson(lesson_file)
    with pytest.raises(LessonError) as failed:
        trace_lesson(lesson, "cpu")
    error = failed.value
    check_line = next(n for n, line in enumerate(lesson_file.read_text().splitlines(), 1) if "expect(" in line)
    assert error.beat == "chunks" and error.script == lesson_file and error.line == check_line
    assert "chunk(t, n) gives n pieces" in error.message and "claim failed" in str(error)


def test_flipping_a_real_claim_fails_its_beat() -> None:
    """Lesson 1.1.4 claims int + float promotes to float32; under a float64 default that no longer holds,
    and the trace fails the `defaults` beat with that claim, at its line in the script."""
    assert "promoted" in checked("03_data_types_and_devices", False).trace["beats"][1]["claims"]
    lesson = load_lesson(script("03_data_types_and_devices"))
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with pytest.raises(LessonError) as failed:
            trace_lesson(lesson, "cpu")
    finally:
        torch.set_default_dtype(previous)
    error = failed.value
    assert error.beat == "defaults" and "claim failed: promoted" in error.message
    source = script("03_data_types_and_devices").read_text(encoding="utf-8").splitlines()
    assert error.line is not None and 'expect(mixed.dtype == torch.float32, "promoted")' in source[error.line - 1]
