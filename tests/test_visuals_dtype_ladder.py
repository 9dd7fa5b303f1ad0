"""DtypeLadder on the real trace of scripts/gallery/train_dtypes.py: every byte count, limit and step it writes
is the value torch.finfo / torch.iinfo / element_size() gave, each range bar spans exactly log10(smallest) to
log10(largest), steps() counts the steps played, every key frame is lint clean, and data it cannot draw raises a
VisualError."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

from scenes.errors import VisualError
from scenes.trace import BeatTrace
from scenes.visuals.dtype_ladder import sci
from scenes.vocabulary import DtypeLadder
from tests.conftest_scenes import dry_beat, dry_script_beat, traced_script

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gallery" / "train_dtypes.py"
NAMES = ["dtype_ladder_four", "dtype_ladder_wide"]


def traced() -> tuple[Any, dict[str, Any]]:
    return traced_script(SCRIPT)


def run(name: str) -> tuple[BeatTrace, Any, list[str], dict[str, Any], int, int]:
    """Dry-run one beat: (its trace, its spec, lint problems, shown, steps played, steps declared)."""
    return dry_script_beat(SCRIPT, name)


@pytest.mark.parametrize("name", NAMES)
def test_lint_clean_and_steps_as_declared(name: str) -> None:
    _, spec, problems, _, played, declared = run(name)
    assert problems == []
    assert played == declared == 1 + 4 + (1 if spec.options.get("highlight") else 0)


@pytest.mark.parametrize("name", NAMES)
def test_every_number_written_is_the_traced_one(name: str) -> None:
    beat, _, _, shown, _, _ = run(name)
    names = beat.values["dtypes"]
    columns = [beat[n].flat() for n in ("bytes", "largest", "smallest", "step")]
    assert [r[0] for r in shown["rungs"]] == names
    for i, (rung, values) in enumerate(zip(shown["rungs"], shown["values"], strict=True)):
        traced_row = [float(c[i]) for c in columns]
        assert values[1:] == traced_row
        assert rung[1:] == [sci(v) for v in traced_row]
    for (dtype, low, high), i in zip(shown["bars"], range(len(names)), strict=True):
        assert dtype == names[i]
        assert low == math.log10(float(columns[2][i])) and high == math.log10(float(columns[1][i]))
    lo, hi = shown["axis"]
    assert lo <= min(b[1] for b in shown["bars"]) and hi >= max(b[2] for b in shown["bars"])


def test_the_trace_is_torch_own_finfo() -> None:
    beat, _, _, shown, _, _ = run("dtype_ladder_four")
    for name, nbytes, largest, smallest, step in shown["values"]:
        dtype = getattr(torch, name)
        info = torch.finfo(dtype) if dtype.is_floating_point else torch.iinfo(dtype)
        assert nbytes == torch.empty(0, dtype=dtype).element_size()
        assert largest == float(info.max)
        if isinstance(info, torch.finfo):
            assert (smallest, step) == (info.tiny, info.eps)
    assert shown["highlight"] == ["float16", "bfloat16"]


def test_scientific_notation() -> None:
    assert sci(127.0) == "127" and sci(65504.0) == "65504"
    assert sci(3.4028234663852886e38) == "3.40e+38"
    assert sci(0.0009765625) == "9.77e-04"
    assert sci(0.125) == "0.125"


def four() -> dict[str, Any]:
    return {"dtypes": ["float32", "int8"], "bytes": torch.tensor([4, 1]),
            "largest": torch.tensor([3.4e38, 127.0], dtype=torch.float64),
            "smallest": torch.tensor([1.2e-38, 1.0], dtype=torch.float64),
            "step": torch.tensor([1.2e-7, 1.0], dtype=torch.float64)}


@pytest.mark.parametrize("broken", [
    {"largest": torch.tensor([math.inf, 127.0], dtype=torch.float64)},
    {"step": torch.tensor([0.0, 1.0], dtype=torch.float64)},
    {"bytes": torch.tensor([4, 1, 2])},
    {"bytes": torch.tensor([[4, 1]])},
    {"smallest": torch.tensor([1e39, 1.0], dtype=torch.float64)},
    {"dtypes": ["float32"]},
    {"dtypes": ["float32", ""]},
])
def test_data_it_cannot_draw_is_refused(broken: dict[str, Any]) -> None:
    def compute(device: str) -> dict[str, Any]:
        return {**four(), **broken}

    with pytest.raises(VisualError):
        dry_beat(compute, DtypeLadder("bytes", "largest", "smallest", "step"))


def test_a_highlight_that_names_no_rung_is_refused() -> None:
    def compute(device: str) -> dict[str, Any]:
        return four()

    with pytest.raises(VisualError, match="highlight"):
        dry_beat(compute, DtypeLadder("bytes", "largest", "smallest", "step", highlight=["float16"]))
