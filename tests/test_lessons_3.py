"""Module 3 lessons (training loop, optimisers and schedulers, datasets and loaders, GPUs, training
optimisation): each traces on the CPU, speaks only traced numbers, keeps to the lesson shape, passes the
layout lint, checks its claims with torch, and the coverage tables in scripts/module3/README.md map every item
issue 32 lists to beats that really run it."""

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
    coverage_rows,
)

README = SCRIPTS / "module3" / "README.md"
SECTIONS = {
    "## Section 3.1\n": ["01_training_loop"],
    "## Section 3.2\n": ["02_optimizers_schedulers"],
    "## Section 3.3\n": ["03_datasets_dataloaders"],
    "## Section 3.4\n": ["04_gpu_acceleration"],
    "## Section 3.5\n": ["05_training_optimization"],
}
LESSONS = [name for names in SECTIONS.values() for name in names]
# The items the outline and issue 32 list per lesson: each must be a row of the coverage table.
REQUIRED = {
    "01_training_loop": [
        "Anatomy of an epoch: forward, loss, backward, step, zero_grad",
        "Gradient accumulation",
        "Gradient clipping: clip_grad_norm_ and what it returns",
        "A small reusable training engine",
    ],
    "02_optimizers_schedulers": [
        "SGD with momentum, checked against a hand-written update",
        "Adam's state tensors step by step, checked against a hand-written update",
        "AdamW: decoupled weight decay against L2 in Adam",
        "Learning-rate schedules drawn from the scheduler: StepLR, cosine, warm-up, OneCycle",
    ],
    "03_datasets_dataloaders": [
        "A custom Dataset subclass",
        "Batching",
        "Shuffling with a seeded generator",
        "drop_last",
        "collate_fn with padding",
        "num_workers and what they change",
        "A transform pipeline (data augmentation)",
    ],
    "04_gpu_acceleration": [
        "Device discovery and placement",
        "Moving models and batches (pin_memory, non_blocking)",
        "The classic device-mismatch errors",
        "Mixed precision with autocast and GradScaler",
    ],
    "05_training_optimization": [
        "float32, float16, bfloat16 and int8 side by side: range, precision, memory",
        "Gradient accumulation for larger effective batches",
        "torch.compile: what it changes and checking it gives the same numbers",
    ],
}
for items in REQUIRED.values():
    items.append("Objectives, recap and challenge")


def rows(section: str) -> list[dict[str, str]]:
    """The coverage rows of a section for the lessons listed above."""
    return [r for r in coverage_rows(section, readme=README) if r["lesson"] in SECTIONS[section]]


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
