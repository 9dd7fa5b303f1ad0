"""Lessons 1.2.1 to 1.4.2: each traces on the CPU, speaks only traced numbers, keeps to the lesson shape
(objectives first, recap and challenge last, 6 to 12 beats, 3 to 6 narrated minutes), passes the layout lint,
and the coverage table in scripts/module1/README.md maps every outline item to beats that really teach it."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from render.checks import LessonCheck, check_lesson
from render.narrate import split_segments

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "scripts" / "module1"
README = MODULE / "README.md"
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

WORDS_PER_MINUTE = 130
MIN_WORDS, MAX_WORDS = 3 * WORDS_PER_MINUTE, 6 * WORDS_PER_MINUTE


def script(name: str) -> Path:
    return MODULE / f"{name}.py"


@functools.cache
def checked(name: str, lint: bool) -> LessonCheck:
    """One dry run per lesson and mode, shared by the tests below (tracing and linting cost seconds)."""
    return check_lesson(script(name), device="cpu", lint=lint)


@pytest.mark.parametrize("name", LESSONS)
def test_trace_computes_on_cpu_and_narration_quotes_only_the_trace(name: str) -> None:
    check = checked(name, False)
    beats = check.lesson.beats
    assert check.trace["device"] == "cpu"
    assert len(check.trace["beats"]) == len(beats)
    assert {b.name: [] for b in beats} == check.typed, "numbers typed by hand in the narration"
    for beat in beats:
        spoken = check.narration[beat.name]
        assert "{{" not in spoken and "{%" not in spoken


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_shape(name: str) -> None:
    check = checked(name, False)
    lesson, beats = check.lesson, check.lesson.beats
    assert 6 <= len(beats) <= 12
    words = sum(len(check.narration[b.name].split()) for b in beats)
    assert MIN_WORDS <= words <= MAX_WORDS, f"{words} narrated words"
    for beat in beats:
        n = len(check.narration[beat.name].split())
        assert 40 <= n <= 90, f"{beat.name}: {n} words"
        assert len(beat.title) < 40, beat.title
        assert beat.bullets, f"{beat.name} has no slide"
        assert all(len(b) < 60 for b in beat.bullets), beat.bullets
        assert len(split_segments(check.narration[beat.name])) >= 2
    opening, closing = beats[0], beats[-1]
    assert lesson.objectives and lesson.recap and lesson.challenge
    assert opening.visual.kind == "Title" and opening.visual.options["lines"] == lesson.objectives
    assert closing.visual.kind == "Title"
    assert closing.visual.options["lines"] == [*lesson.recap, "Challenge: " + lesson.challenge]
    assert "challenge" in check.narration[closing.name].lower()
    assert "apprentice" in " ".join(check.narration.values()).lower()
    # every other beat shows tensors from its own trace
    for beat, traced in zip(beats[1:-1], check.trace["beats"][1:-1], strict=True):
        assert beat.visual.tensors, f"{beat.name} shows no tensor"
        missing = set(beat.visual.tensors) - set(traced["tensors"])
        assert not missing, f"{beat.name}: visual names untraced {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_layout_lint(name: str) -> None:
    check = checked(name, True)
    assert {b.name: [] for b in check.lesson.beats} == check.lint
    assert all(check.shown[b.name] for b in check.lesson.beats), "a beat showed nothing"


def coverage_rows() -> list[dict[str, str]]:
    """The coverage table of this section of the README: lesson, item, beats, code."""
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"{README} has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1]
    section = re.split(r"^## ", section, flags=re.M)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 4 or cells[0] in ("Lesson", "---"):
            continue
        lesson, item, beats, code = cells
        rows.append({"lesson": lesson, "item": item, "beats": beats, "code": code})
    return rows


def test_coverage_table_rows_point_at_real_beats_that_run_the_code() -> None:
    rows = coverage_rows()
    assert rows
    for row in rows:
        assert row["lesson"] in LESSONS, row
        lesson = checked(row["lesson"], False).lesson
        by_name = {b.name: b for b in lesson.beats}
        beats = re.findall(r"`([^`]+)`", row["beats"])
        assert beats, row
        for name in beats:
            assert name in by_name, f"{row['lesson']}: no beat {name!r}"
        code = row["code"].strip("`")
        assert any(code in by_name[n].source for n in beats), f"{row}: no listed beat runs {code!r}"


def test_coverage_table_has_every_outline_item() -> None:
    rows = coverage_rows()
    for lesson, items in REQUIRED.items():
        listed = {r["item"] for r in rows if r["lesson"] == lesson}
        assert not set(items) - listed, f"{lesson}: no row for {set(items) - listed}"
    taught = {(r["lesson"], b) for r in rows for b in re.findall(r"`([^`]+)`", r["beats"])}
    for lesson in LESSONS:
        for beat in checked(lesson, False).lesson.beats:
            assert (lesson, beat.name) in taught, f"{lesson}: beat {beat.name!r} teaches no listed item"
