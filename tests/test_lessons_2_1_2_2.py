"""Lessons 2.1.1 to 2.2.3 (nn.Module, composing modules, state_dict, Linear, activations, dropout): each traces
on the CPU, speaks only traced numbers, keeps to the lesson shape (objectives first, recap then challenge last,
6 to 12 beats, 3 to 6 narrated minutes), passes the layout lint, checks its claims with torch, and the section
2.1 and 2.2 coverage tables in scripts/module2/README.md map every outline item and every item issue 13 lists
to beats that really run it."""

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

SECTIONS = {
    "## Section 2.1\n": ["01_nn_module", "02_compose_modules", "03_saving_weights"],
    "## Section 2.2\n": ["04_linear_layer", "05_activations", "06_dropout"],
}
LESSONS = [name for names in SECTIONS.values() for name in names]

# The outline's "What you will learn" for 2.1 and 2.2 and the items issue 13 lists per lesson: each must be
# a row of the coverage table.
REQUIRED = {
    "01_nn_module": [
        "The role of nn.Module as the base class for layers and models", "Implementing __init__ and forward",
        "A submodule or nn.Parameter registers; a plain tensor does not",
        "model(x) against model.forward(x): hooks", "parameters() and named_parameters()",
        "The parameter count", "Registering parameters and buffers (register_buffer, persistent=False)",
        ".to(device) moves parameters and buffers",
    ],
    "02_compose_modules": [
        "nn.Sequential: layers called in order", "Sequential indexing and slicing", "nn.ModuleList",
        "A plain Python list loses its parameters (count before and after)", "nn.ModuleDict",
        "Nesting, the forward path in the order the hooks saw",
    ],
    "03_saving_weights": [
        "state_dict keys and what they hold", "Buffers in the state_dict",
        "torch.save and torch.load(weights_only=True) to a real file, with its size",
        "Saving and restoring weights with state_dict (load_state_dict)",
        "A strict mismatch: missing and unexpected keys", "map_location for weights saved on a GPU",
        "The optimiser's state_dict",
    ],
    "04_linear_layer": [
        "y = x W^T + b", "The weight's (out, in) shape",
        "Default initialisation bounds, checked against the real weights",
        "Linear layers and high-dimensional matrix multiplication (batch and token axes)",
        "The same result as a hand-written matmul", "Linear layers in attention: queries, keys and values",
    ],
    "05_activations": [
        "Why a nonlinearity matters: two stacked Linears collapse into one", "ReLU", "LeakyReLU",
        "GELU (exact and tanh approximation)", "SiLU", "Tanh", "Sigmoid", "Softmax: dim and the sum of one",
        "Softmax temperature", "Each function's gradient", "The dead ReLU",
    ],
    "06_dropout": [
        "The mask and the 1/(1-p) scaling", "The expectation preserved over many draws", "Train against eval",
        "Seeding for reproducible masks", "Dropout for regularisation, inside a model",
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
    assert_rows_point_at_real_beats(coverage_rows(section, readme=README), SECTIONS[section])


@pytest.mark.parametrize("section", list(SECTIONS))
def test_coverage_table_has_every_outline_item(section: str) -> None:
    required = {name: REQUIRED[name] for name in SECTIONS[section]}
    assert_every_item_covered(coverage_rows(section, readme=README), required)


def test_registration_counts_what_torch_registered() -> None:
    """2.1.1: the plain tensor adds nothing to the count; the tree has the gain but no offset, and .to(float64)
    converted the gain but left the offset float32."""
    beat = next(b for b in checked("01_nn_module", False).trace["beats"] if b["name"] == "registration")
    tensors, lab = beat["tensors"], beat["modules"]["lab"]
    (layer,) = lab["tree"]["children"]
    assert lab["parameter_count"] == layer["parameter_count"] + len(tensors["gain"]["values"])
    assert "offset" not in lab["parameters"] and "gain" in lab["tree"]["parameters"]
    assert (tensors["gain"]["dtype"], tensors["offset"]["dtype"]) == ("float64", "float32")


def test_plain_list_loses_every_parameter() -> None:
    """2.1.2: the same three layers count zero in a list and all their parameters in a ModuleList."""
    beat = next(b for b in checked("02_compose_modules", False).trace["beats"] if b["name"] == "module_list")
    assert beat["tensors"]["lost"]["values"] == 0
    assert beat["tensors"]["kept"]["values"] == beat["modules"]["fixed"]["parameter_count"] > 0
    assert "empty parameter list" in beat["values"]["error"]


def test_saved_file_size_is_real_and_strict_report_names_keys() -> None:
    """2.1.3: the file holds at least the raw bytes of every tensor; strict=False reports both key kinds."""
    beats = {b["name"]: b for b in checked("03_saving_weights", False).trace["beats"]}
    tensors = beats["save_load"]["tensors"]
    assert tensors["size"]["values"] > tensors["raw"]["values"] > 0
    report = beats["strict_false"]["values"]["report"]
    assert report["missing_keys"] and report["unexpected_keys"]


def test_dropout_mean_is_kept_within_tolerance() -> None:
    """2.2.3: the traced average over many draws is close to the input, cell by cell."""
    beat = next(b for b in checked("06_dropout", False).trace["beats"] if b["name"] == "expectation")
    x, avg = beat["tensors"]["x"]["values"], beat["tensors"]["avg"]["values"]
    for row_x, row_avg in zip(x, avg, strict=True):
        assert row_avg == pytest.approx(row_x, rel=0.05)
