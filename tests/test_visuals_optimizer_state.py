"""OptimizerState on the real trace of scripts/gallery/train_optimizer.py (SGD with momentum and Adam, their
state read from `opt.state[p]`): every table cell and every number of the worked update equals the trace, the
steps played are the steps declared, the key frames pass the layout lint, and data it cannot draw raises a
VisualError naming the entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from scenes.errors import VisualError
from scenes.trace import BeatTrace, format_number
from scenes.visuals.optimizer_state import hyper_text
from scenes.vocabulary import OptimizerState
from tests.conftest_scenes import dry_beat, dry_script_beat, traced_script

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gallery" / "train_optimizer.py"
NAMES = ["optimizer_state_sgd", "optimizer_state_adam"]


def traced() -> tuple[Any, dict[str, Any]]:
    return traced_script(SCRIPT)


def run(name: str) -> tuple[BeatTrace, Any, list[str], dict[str, Any], int, int]:
    """Dry-run one beat: (its trace, its spec, lint problems, shown, steps played, steps declared)."""
    return dry_script_beat(SCRIPT, name)


def cell(beat: BeatTrace, shown: dict[str, Any], name: str, row: int, col: int) -> str:
    return format_number(beat[name].at(row, col), beat[name].dtype, shown["digits"][name])


@pytest.mark.parametrize("name", NAMES)
def test_lint_clean_and_steps_as_declared(name: str) -> None:
    _, _, problems, _, played, declared = run(name)
    assert problems == []
    assert played == declared == 4


@pytest.mark.parametrize("name", NAMES)
def test_every_table_cell_is_the_traced_value(name: str) -> None:
    beat, spec, _, shown, _, _ = run(name)
    for tensor in spec.tensors:
        rows, cols = beat[tensor].shape
        assert len(shown["tables"][tensor]) == rows * cols  # every value drawn, none elided
        for r in range(rows):
            for c in range(cols):
                assert shown["tables"][tensor][f"{r},{c}"] == cell(beat, shown, tensor, r, c)
    assert shown["rows"] == ["start"] + [f"step {t}" for t in range(1, beat[spec.tensors[1]].shape[0] + 1)]


def test_small_second_moments_stay_legible() -> None:
    """Adam's exp_avg_sq is tiny: no non-zero value may read as zero."""
    beat, _, _, shown, _, _ = run("optimizer_state_adam")
    for key, text in shown["tables"]["exp_avg_sq"].items():
        value = beat["exp_avg_sq"].at(*map(int, key.split(",")))
        assert value == 0 or float(text) != 0, f"exp_avg_sq[{key}] = {value} drawn as {text}"
        assert value == 0 or abs(float(text) - value) <= 0.05 * abs(value) + 1e-12


@pytest.mark.parametrize("name", NAMES)
def test_worked_update_quotes_the_trace(name: str) -> None:
    beat, spec, _, shown, _, _ = run(name)
    t, j = spec.options["at"], spec.options.get("element", 0)
    assert shown["at"] == {"step": t, "element": j}
    ops = shown["operands"]
    param, grad, *states = spec.tensors
    assert ops["grad"] == [grad, t - 1, j, cell(beat, shown, grad, t - 1, j)]
    assert ops["param_before"] == [param, t - 1, j, cell(beat, shown, param, t - 1, j)]
    assert ops["param_after"] == [param, t, j, cell(beat, shown, param, t, j)]
    for (s, r, c, text), state in zip(ops["state"], states, strict=True):
        assert (s, r, c, text) == (state, t - 1, j, cell(beat, shown, state, t - 1, j))
    for (s, r, c, text), state in zip(ops["state_before"], states, strict=True):
        assert (s, r, c, text) == (state, t - 2, j, cell(beat, shown, state, t - 2, j))
    lines = shown["equations"]
    assert len(lines) == len(states) + 1
    for (s, _, _, text), line in zip(ops["state"], lines[:-1], strict=True):
        assert line.startswith(f"{s} = ") and line.endswith(f"= {text}")
    assert lines[-1].startswith(f"{param} = {ops['param_before'][3]} − ") and lines[-1].endswith(
        f"= {ops['param_after'][3]}")
    group = beat.values[spec.options["group"]]
    assert f"lr = {hyper_text(group['lr'])}" in shown["hyper"]  # drawn from the first step on
    assert f"{hyper_text(group['lr'])} × " in lines[-1]
    if len(states) == 2:
        b1, b2 = group["betas"]
        assert f"{hyper_text(b1)} × " in lines[0] and f"{hyper_text(b2)} × " in lines[1]
        assert hyper_text(group["eps"]) in lines[-1]
        assert f"betas = ({hyper_text(b1)}, {hyper_text(b2)})" in shown["hyper"]
    else:
        assert lines[0].startswith(f"{states[0]} = {hyper_text(group['momentum'])} × ")


def test_the_first_step_has_no_earlier_state() -> None:
    def compute(device):
        w = torch.tensor([2.0], requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
        before = w.detach().clone()
        (w**2).sum().backward()
        opt.step()
        assert w.grad is not None
        return {"p": torch.stack([before, w.detach().clone()]), "g": w.grad.clone()[None],
                "buf": opt.state[w]["momentum_buffer"].clone()[None], "group": {"lr": 0.1, "momentum": 0.9}}

    beat, shown, problems = dry_beat(compute, OptimizerState("p", "g", "buf", group="group", at=1))
    assert problems == []
    assert shown["equations"] == ["buf = g = 4.000", "p = 2.000 − 0.1 × 4.000 = 1.600"]


def bad(**values: Any) -> dict[str, Any]:
    data = {"p": torch.zeros(3, 2), "g": torch.ones(2, 2), "m": torch.ones(2, 2), "group": {"lr": 0.1, "momentum": 0.9}}
    data.update(values)
    return data


@pytest.mark.parametrize("values, options, entry, words", [
    ({"g": torch.ones(2)}, {}, "g", "2-D"),
    ({"p": torch.zeros(2, 2)}, {}, "p", "shape [3, 2]"),
    ({"m": torch.ones(2, 3)}, {}, "m", "shape [2, 2]"),
    ({"m": torch.tensor([[1.0, float("nan")], [0.0, 0.0]])}, {}, "m", "not finite"),
    ({"m": torch.ones(2, 2, dtype=torch.int64)}, {}, "m", "floats"),
    ({"m": torch.full((2, 2), 1e9)}, {}, "m", "too large"),
    ({}, {"at": 3}, "g", "outside"),
    ({"p": torch.full((3, 4), 123456.789), "g": torch.full((2, 4), 1e-5), "m": torch.ones(2, 4)}, {}, "p",
     "legible"),
    ({"group": {"lr": 0.1}}, {"at": 2}, "group", "momentum"),
    ({"group": {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}}, {"at": 2}, "group", "weight_decay"),
])
def test_bad_data_raises_a_visual_error(values: dict[str, Any], options: dict[str, Any], entry: str,
                                        words: str) -> None:
    data = bad(**values)

    def compute(device):
        return data

    with pytest.raises(VisualError) as error:
        dry_beat(compute, OptimizerState("p", "g", "m", group="group", **options))
    assert error.value.visual == "OptimizerState" and error.value.tensor == entry and words in error.value.reason
