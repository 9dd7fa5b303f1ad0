"""TrainingLoop on the real trainings of scripts/gallery/train_loop.py: the curve drawn passes through the traced
losses (and gradient norms), the values written are the trace's labels of the first and last step, the stages
light in the order asked, steps() predicts the steps played, every key frame passes the layout lint; data it
cannot draw raises a VisualError naming the visual, the entry and the reason."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from scenes.errors import VisualError
from scenes.trace import BeatTrace
from scenes.vocabulary import TrainingLoop
from tests.conftest_scenes import dry, dry_beat

NAMES = ["training_loop_walk", "training_loop_norms"]
STAGES = ["forward", "loss", "backward", "step", "zero_grad"]


def assert_curve(beat: BeatTrace, name: str, points: list[list[float]]) -> None:
    """The drawn line passes through (step, value) for every traced step, steps counted from 1."""
    ys = beat[name].flat()
    assert len(points) == len(ys)
    scale = max(1.0, *(abs(y) for y in ys), len(ys))
    for k, ((px, py), y) in enumerate(zip(points, ys, strict=True)):
        assert abs(px - (k + 1)) <= 1e-4 * scale and abs(py - y) <= 1e-4 * scale, f"{name}[{k}]: ({px}, {py})"


@pytest.mark.parametrize("name", NAMES)
def test_lint_clean_steps_as_declared_and_curves_are_the_trace(name: str) -> None:
    beat, options, problems, shown, played = dry(name)
    assert problems == []
    from scenes.spec import VisualSpec
    from scenes.visuals.base import NO_AREA
    from scenes.visuals.training_loop import TrainingLoop as Impl
    from tests.conftest_scenes import job

    spec = VisualSpec.from_json(job(name)["visual"])
    assert played == Impl(spec, beat, NO_AREA).steps()
    for series, points in shown["curves"].items():
        assert_curve(beat, series, points)
        n = beat[series].numel
        assert shown[series] == {"0": beat[series].label(0), str(n - 1): beat[series].label(n - 1)}
    assert shown["lit"] == shown["stages"] == STAGES
    losses = spec.tensors[0]
    assert shown["centre"] == ["step 1", beat[losses].label(0), f"{beat[losses].numel} steps"]


def test_walk_lights_each_stage_as_its_own_step_with_its_code() -> None:
    _, options, _, shown, played = dry("training_loop_walk")
    assert played == 1 + len(STAGES) + 1
    assert shown["code"] == options["code"]


def test_second_series_has_its_own_axes_and_step() -> None:
    beat, _, _, shown, played = dry("training_loop_norms")
    assert played == 1 + 1 + 2
    assert list(shown["curves"]) == ["losses", "grad_norms"]
    assert len(shown["ticks"]) == 2



def test_custom_stages_light_in_their_order() -> None:
    def compute(device: Any) -> dict[str, Any]:
        return {"losses": torch.tensor([2.0, 1.5, 1.2, 0.9])}

    stages = ["fetch", "forward", "backward", "update"]
    beat, shown, problems = dry_beat(compute, TrainingLoop("losses", stages=stages, walk=True))
    assert problems == []
    assert shown["lit"] == stages
    assert shown["centre"][1] == "2.00"  # no 'loss' stage: the loss is written after the last one
    assert_curve(beat, "losses", shown["curves"]["losses"])


def test_the_caption_writes_traced_values_with_the_last_series() -> None:
    def compute(device: Any) -> dict[str, Any]:
        norms = torch.tensor([3.0, 2.0, 0.8, 0.5])
        return {"losses": torch.tensor([2.0, 1.5, 1.2, 0.9]), "norms": norms, "clipped": int((norms > 1).sum()),
                "first": norms[0]}

    visual = TrainingLoop("losses", "norms", caption="{{ clipped }} clipped, from {{ first }}")
    _, shown, problems = dry_beat(compute, visual)
    assert problems == []
    assert shown["caption"] == "2 clipped, from 3.00"


@pytest.mark.parametrize(("values", "options", "reason"), [
    (torch.tensor([[1.0, 2.0]]), {}, "1-D"),
    (torch.tensor([1.0, float("nan"), 0.5]), {}, "diverged"),
    (torch.tensor([1.0, 1e9]), {}, "too large"),
    (torch.tensor([1.0]), {}, "2 to"),
    (torch.tensor([True, False]), {}, "real numbers"),
    (torch.tensor([1.0, 1.0 + 1e-7]), {}, "too narrow"),
    (torch.tensor([1.0, 0.5]), {"stages": ["forward"]}, "stages"),
    (torch.tensor([1.0, 0.5]), {"code": ["a", "b"]}, "one line per stage"),
    (torch.tensor([1.0, 0.5]), {"labels": "loss"}, "labels"),
    (torch.tensor([1.0, 0.5]), {"caption": "{{ nowhere }}"}, "caption names"),
])
def test_data_it_cannot_draw_is_refused(values: torch.Tensor, options: dict[str, Any], reason: str) -> None:
    def compute(device: Any) -> dict[str, Any]:
        return {"losses": values}

    with pytest.raises(VisualError) as caught:
        dry_beat(compute, TrainingLoop("losses", **options))
    assert caught.value.visual == "TrainingLoop" and reason in caught.value.reason


def test_a_second_series_of_another_length_is_refused() -> None:
    def compute(device: Any) -> dict[str, Any]:
        return {"losses": torch.tensor([1.0, 0.5, 0.2]), "norms": torch.tensor([1.0, 0.5])}

    with pytest.raises(VisualError) as caught:
        dry_beat(compute, TrainingLoop("losses", "norms"))
    assert caught.value.tensor == "norms" and "one per step" in caught.value.reason
