"""Lessons 2.3.1 to 2.5.3 (embeddings, positional encoding, normalisation, train/eval, losses): each traces on
the CPU, speaks only traced numbers, keeps to the lesson shape (objectives first, recap then challenge last,
6 to 12 beats, 3 to 6 narrated minutes), passes the layout lint, checks its claims with torch, and the section
2.3 to 2.5 coverage tables in scripts/module2/README.md map every item issue 14 lists to beats that really
run it."""

from __future__ import annotations

import pytest

from tests.lessons import (
    SCRIPTS,
    assert_cards_and_content,
    assert_claims_checked,
    assert_every_item_covered,
    assert_lint_clean,
    assert_rows_point_at_real_beats,
    assert_traced_and_quoted,
    checked,
    coverage_rows,
)

README = SCRIPTS / "module2" / "README.md"

# Lessons committed with a clean `render lint`; the others of issue 14 join as their lint comes back clean.
SECTIONS = {
    "## Section 2.3\n": ["07_embedding_layers", "08_positional_encoding"],
    "## Section 2.4\n": ["09_normalization_layers", "10_rms_norm", "11_training_evaluation_mode"],
    "## Section 2.5\n": ["12_loss_functions", "13_prepare_inputs_targets", "14_interpreting_reduction_modes"],
}
LESSONS = [name for names in SECTIONS.values() for name in names]

# The items issue 14 lists per lesson: each must be a row of the coverage table.
REQUIRED = {
    "07_embedding_layers": [
        "A lookup is a row selection, equal to one_hot(idx) @ W", "A from-scratch embedding equals nn.Embedding",
        "The default N(0, 1) initialisation", "padding_idx: the row stays zero and gets no gradient",
        "Gradients reach only the rows that were used",
    ],
    "08_positional_encoding": [
        "Attention alone loses order", "The sinusoidal formula and its heatmap", "Geometric wavelengths",
        "Adding it to token embeddings", "Learned positional embeddings", "Relative offsets as rotations; RoPE",
    ],
    "09_normalization_layers": [
        "BatchNorm on (N, C): statistics per feature", "BatchNorm on (N, C, H, W): statistics per channel",
        "LayerNorm on (B, T, D): statistics per token", "A from-scratch result equal to torch's",
        "The affine weight and bias, and eps",
    ],
    "10_rms_norm": [
        "The RMSNorm formula", "nn.RMSNorm equals a from-scratch version",
        "The difference from LayerNorm (no mean subtraction) and the cost", "GroupNorm",
    ],
    "11_training_evaluation_mode": [
        "train()/eval() reach every child", "Dropout changes behaviour", "Running statistics update with momentum",
        "Eval uses the running statistics", "The classic bug: the same input, different outputs in train mode",
        "eval() is not no_grad() (and inference_mode)",
    ],
    "12_loss_functions": [
        "MSE, L1 and Huber for regression", "Cross-entropy for classes, and NLL",
        "BCE-with-logits for binary and multi-label", "What a confident wrong answer costs (-log p)",
        "The gradient each loss sends back",
    ],
    "13_prepare_inputs_targets": [
        "Logits, not probabilities, go into CrossEntropyLoss", "Class-index targets: long, shape (N,)",
        "Class axis at 1: (B, T, C) permuted or flattened", "Probability targets and label smoothing",
        "BCE float targets of the same shape", "Common errors (wrong dtype, wrong shape) as torch's messages",
    ],
    "14_interpreting_reduction_modes": [
        "none, sum and mean", "ignore_index: the mean divides by the targets not ignored",
        "Class weights: the mean divides by the summed weights", "Padding tokens in a sequence loss",
    ],
}
for items in REQUIRED.values():
    items.append("Objectives, recap and challenge")


def rows(section: str) -> list[dict[str, str]]:
    """The coverage rows of a section for the lessons listed above."""
    return [r for r in coverage_rows(section, readme=README) if r["lesson"] in SECTIONS[section]]


def traced_beat(lesson: str, beat: str) -> dict:
    """One beat of a lesson's CPU trace."""
    return next(b for b in checked(lesson, False).trace["beats"] if b["name"] == beat)


def values(entry: dict) -> list:
    """The flat values of a traced tensor."""
    flat: list = []
    stack = [entry["values"]]
    while stack:
        item = stack.pop(0)
        if isinstance(item, list):
            stack[0:0] = item
        else:
            flat.append(item)
    return flat


@pytest.mark.parametrize("name", LESSONS)
def test_trace_computes_on_cpu_and_narration_quotes_only_the_trace(name: str) -> None:
    assert_traced_and_quoted(name)


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_shape(name: str) -> None:
    assert_cards_and_content(name)


@pytest.mark.parametrize("name", LESSONS)
def test_every_beat_after_the_objectives_checks_its_claims(name: str) -> None:
    """Each beat's claims ran and held when it traced (expect records only a claim that holds)."""
    assert_claims_checked(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_layout_lint(name: str) -> None:
    assert_lint_clean(name)


@pytest.mark.parametrize("section", list(SECTIONS))
def test_coverage_table_rows_point_at_real_beats_that_run_the_code(section: str) -> None:
    assert_rows_point_at_real_beats(rows(section), SECTIONS[section])


@pytest.mark.parametrize("section", list(SECTIONS))
def test_coverage_table_has_every_outline_item(section: str) -> None:
    required = {name: REQUIRED[name] for name in SECTIONS[section]}
    assert_every_item_covered(rows(section), required)


def test_embedding_gradient_reaches_only_used_rows_and_never_the_padding_row() -> None:
    """Traced weight.grad: rows 1 and 4 were used (4 twice), row 0 is padding; the rest are zero."""
    beat = traced_beat("07_embedding_layers", "gradients")
    rows = beat["tensors"]["grad"]["values"]
    assert rows[0] == [0, 0, 0] and rows[1] == [1, 1, 1] and rows[4] == [2, 2, 2]
    assert all(rows[r] == [0, 0, 0] for r in (2, 3, 5))
