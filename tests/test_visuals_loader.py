"""Loader on the real trace of scripts/gallery/train_loader.py: every batch drawn holds the indices the torch
DataLoader yielded, in its order and sizes, each card the dataset value at its index, the never-yielded items
drawn as dropped; steps played equal steps declared; every key frame passes the layout lint; data it cannot
draw raises a VisualError naming the visual."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scenes.errors import VisualError
from scenes.trace import BeatTrace
from tests.conftest_scenes import dry_beat, dry_script_beat, traced_script

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gallery" / "train_loader.py"
NAMES = ["loader_shuffled", "loader_drop_last"]


def traced() -> tuple[Any, dict[str, Any]]:
    return traced_script(SCRIPT)


def run(name: str) -> tuple[BeatTrace, Any, list[str], dict[str, Any], int, int]:
    """Dry-run one beat: (its trace, its spec, lint problems, shown, steps played, steps declared)."""
    return dry_script_beat(SCRIPT, name)


def check_loader(beat: BeatTrace, tensors: list[str], shown: dict[str, Any], digits: int = 2) -> None:
    """What Loader drew is what the trace holds."""
    data, order, sizes = (beat[n] for n in tensors)
    flat = [int(v) for v in order.flat()]
    batches = shown["batches"]
    assert [i for b in batches for i in b] == flat
    assert [len(b) for b in batches] == [int(v) for v in sizes.flat()]
    for k, j, i, text in shown["dealt"]:
        assert batches[k][j] == i and text == data.label(i, digits=digits)
    assert shown["dropped"] == [i for i in range(data.numel) if i not in flat]
    for name in tensors:
        for key, text in shown[name].items():
            assert text == beat[name].label(int(key), digits=digits)


@pytest.mark.parametrize("name", NAMES)
def test_lint_clean_and_steps_as_declared(name: str) -> None:
    _, _, problems, _, played, declared = run(name)
    assert problems == []
    assert played == declared


@pytest.mark.parametrize("name", NAMES)
def test_shown_is_the_trace(name: str) -> None:
    beat, spec, _, shown, _, _ = run(name)
    check_loader(beat, list(spec.tensors), shown)


def test_short_batch_and_dropped_items() -> None:
    _, _, _, shown, played, _ = run("loader_shuffled")
    assert [len(b) for b in shown["batches"]] == [4, 4, 2] and shown["dropped"] == [] and played == 4
    _, _, _, shown, played, _ = run("loader_drop_last")
    assert [len(b) for b in shown["batches"]] == [3, 3] and len(shown["dropped"]) == 1 and played == 4
    assert sorted([*(i for b in shown["batches"] for i in b), *shown["dropped"]]) == list(range(7))


def test_batches_are_the_dataloaders() -> None:
    """The shuffled beat's batches are the ones a fresh DataLoader with the same seed yields."""
    import torch
    from torch.utils.data import DataLoader

    _, _, _, shown, _, _ = run("loader_shuffled")
    loader: Any = DataLoader(range(10), batch_size=4, shuffle=True,  # type: ignore[arg-type]
                             generator=torch.Generator().manual_seed(0))
    assert shown["batches"] == [b.tolist() for b in loader]


def bad(**tensors: Any) -> Any:
    import torch

    base = {"data": torch.arange(4), "order": torch.tensor([1, 0, 3, 2]), "sizes": torch.tensor([2, 2])}
    base.update(tensors)

    def compute(device: str) -> dict[str, Any]:
        return base

    return compute


@pytest.mark.parametrize("case", [
    {"order": "float"}, {"order": "range"}, {"sizes": "sum"}, {"data": "big"}, {"data": "2d"}, {"sizes": "many"},
    {"data": "empty"}, {"data": "long"},
])
def test_bad_input_raises_a_visual_error(case: dict[str, str]) -> None:
    import torch

    from scenes.vocabulary import Loader

    made = {
        ("order", "float"): {"order": torch.tensor([1.0, 0.0, 3.0, 2.0])},
        ("order", "range"): {"order": torch.tensor([1, 0, 3, 9])},
        ("sizes", "sum"): {"sizes": torch.tensor([2, 3])},
        ("data", "big"): {"data": torch.arange(20)},
        ("data", "2d"): {"data": torch.zeros(4, 2)},
        ("sizes", "many"): {"sizes": torch.ones(4, dtype=torch.int64).repeat(2)[:7],
                            "order": torch.tensor([0, 1, 2, 3, 0, 1, 2])},
        ("data", "empty"): {"data": torch.zeros(0)},
        ("data", "long"): {"data": torch.full((4,), 2**63 - 1)},
    }[next(iter(case.items()))]
    with pytest.raises(VisualError) as error:
        dry_beat(bad(**made), Loader("data", "order", "sizes", code=False))
    assert error.value.visual == "Loader"


def test_a_good_call_draws() -> None:
    from scenes.vocabulary import Loader

    beat, shown, problems = dry_beat(bad(), Loader("data", "order", "sizes", code=False))
    assert problems == []
    check_loader(beat, ["data", "order", "sizes"], shown)
    assert shown["batches"] == [[1, 0], [3, 2]]
