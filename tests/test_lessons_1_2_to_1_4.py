"""Lessons 1.2.1 to 1.4.2: each traces on the CPU, speaks only traced numbers, keeps to the lesson shape
(objectives first, recap and challenge last, 6 to 12 beats, 3 to 6 narrated minutes), passes the layout lint,
and the coverage table in scripts/module1/README.md maps every outline item to beats that really teach it."""

from __future__ import annotations

from pathlib import Path

import pytest

from render.errors import LessonError
from render.lesson import load_lesson
from render.trace import trace_lesson
from tests.lessons import (
    assert_every_item_covered,
    assert_lesson_shape,
    assert_lint_clean,
    assert_rows_point_at_real_beats,
    assert_traced_and_quoted,
    checked,
    coverage_rows,
    script,
)

SECTION = "## Sections 1.2 to 1.4"

LESSONS = [
    "04_tensor_math_operations",
    "05_matrix_multiplication",
    "06_broadcasting",
    "07_einstein_summation",
    "08_advanced_einstein_summation",
    "09_autograd",
    "10_gradient_accumulation",
]

# The items per lesson: each must be a row of the coverage table.
REQUIRED = {
    "04_tensor_math_operations": [
        "Element-wise operations", "Reduction: sum", "Reduction: mean", "Reduction: max", "Reduction: min",
        "Reduction: std", "Reductions with dim", "keepdim", "argmax",
        "In-place operations and the trailing underscore", "Why in-place can break autograd",
    ],
    "05_matrix_multiplication": [
        "2-D product (row meets column)", "mm", "matmul", "@ operator", "bmm and batched products",
        "Higher-dimensional products", "The shape rule", "Element-wise product against matrix product",
        "Attention product Q @ K.T",
    ],
    "06_broadcasting": [
        "Rule: right-align the shapes", "Rule: size 1 stretches", "Rule: missing axes are added on the left",
        "A bias added to a batch", "An outer product by broadcasting", "A failing case and its error message",
    ],
    "07_einstein_summation": [
        "Einstein notation", "Why it is powerful", "einsum transpose, checked", "einsum sum, checked",
        "einsum matmul, checked", "einsum batched matmul, checked", "einsum dot product, checked",
        "einsum outer product, checked",
    ],
    "08_advanced_einstein_summation": [
        "Multi-tensor contractions", "Attention scores", "Weighted sum of values",
        "einsum against matmul + permute",
    ],
    "09_autograd": [
        "Gradients", "The computational graph", "How PyTorch records operations (grad_fn)", "requires_grad",
        ".backward()", ".grad", "torch.no_grad()", ".detach()",
        "Graph drawn from the real grad_fn chain, gradients flowing back",
    ],
    "10_gradient_accumulation": [
        "Gradients add up across backward calls", "Zeroing gradients", "Micro-batches emulate a large batch",
        "The accumulated gradient equals the large batch's", "Pitfall: forgetting to zero",
        "Pitfall: scaling the loss", "The graph drawn conceptually",
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
    opening, closing = beats[0], beats[-1]
    assert opening.visual.options["lines"] == lesson.objectives
    assert closing.visual.kind == "Title"
    assert closing.visual.options["lines"] == [*lesson.recap, "Challenge: " + lesson.challenge]
    assert "challenge" in check.narration[closing.name].lower()
    # every other beat shows tensors from its own trace
    for beat in beats[1:-1]:
        assert beat.visual.tensors, f"{beat.name} shows no tensor"


@pytest.mark.parametrize("name", LESSONS)
def test_every_teaching_beat_checks_its_claims_in_torch(name: str) -> None:
    """Each beat that shows tensors states facts about them; at least one is an `expect` claim that torch
    confirmed while tracing (recorded in the trace), so a false sentence fails the render."""
    check = checked(name, False)
    for beat, traced in zip(check.lesson.beats, check.trace["beats"], strict=True):
        if beat.visual.kind != "Title":
            assert traced.get("claims"), f"{beat.name}: no expect() claim checked"
            assert all(isinstance(c, str) and c for c in traced["claims"]), traced["claims"]


def test_a_flipped_claim_fails_its_beat_with_the_claim_text(tmp_path: Path) -> None:
    """The checks really guard the narration: turn one true claim of 1.2.1 false, and tracing stops at
    that beat, naming the file, the line and the claim."""
    source = script("04_tensor_math_operations").read_text(encoding="utf-8")
    flipped = source.replace("expect(spread[1, 0] > spread[0, 0]", "expect(spread[1, 0] < spread[0, 0]")
    assert flipped != source
    copy = tmp_path / "flipped.py"
    copy.write_text(flipped, encoding="utf-8")
    with pytest.raises(LessonError, match=r"flipped\.py:\d+: beat 'min_max_std': claim failed: "
                       r"the row with the outlier spreads wider"):
        trace_lesson(load_lesson(copy), "cpu")


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_layout_lint(name: str) -> None:
    assert_lint_clean(name)


def test_coverage_table_rows_point_at_real_beats_that_run_the_code() -> None:
    assert_rows_point_at_real_beats(coverage_rows(SECTION), LESSONS)


def test_coverage_table_has_every_outline_item() -> None:
    assert_every_item_covered(coverage_rows(SECTION), REQUIRED)
