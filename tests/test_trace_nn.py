"""The trace records what torch computed for every kind of value a compute function returns: nested
plain values, every dtype and shape, large tensors as summaries, modules and state_dicts."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import torch

from render.lesson import Lesson
from render.trace import trace_beat
from scenes.spec import VisualSpec
from scenes.trace import BeatTrace


def trace_of(compute: Any) -> dict[str, Any]:
    """Trace one compute function (or a dict it returns) as a beat; the result goes through JSON like the
    real trace file."""
    if isinstance(compute, dict):
        result = compute

        def compute(device: str) -> dict[str, Any]:
            return result

    lesson = Lesson()
    lesson.beat("t", narration="n", visual=VisualSpec("Show", ("x",), {}))(compute)
    return json.loads(json.dumps(trace_beat(lesson.beats[0], "cpu", 0), allow_nan=False))


def test_nested_plain_values_are_recorded() -> None:
    def compute(device: str) -> dict[str, Any]:
        return {
            "none": None, "flag": True, "n": 3, "x": 2.5, "bad": [float("nan"), float("inf"), -float("inf")],
            "text": "hi", "pair": (1, (2.0, "a")), "nested": {"b": {"c": [1, None, False]}, "a": 1},
            "size": torch.Size([2, 3]), "dtype": torch.float16, "device": torch.device("cpu"),
            "sizes": {"x": torch.Size([4])},
        }

    values = BeatTrace.from_json(trace_of(compute)).values
    assert values["none"] is None and values["flag"] is True and values["n"] == 3 and values["x"] == 2.5
    assert values["bad"] == ["nan", "inf", "-inf"]
    assert values["pair"] == [1, [2.0, "a"]]
    assert values["nested"] == {"b": {"c": [1, None, False]}, "a": 1}
    assert list(values["nested"]) == ["b", "a"]  # order kept
    assert values["size"] == [2, 3] and values["dtype"] == "float16" and values["device"] == "cpu"
    assert values["sizes"] == {"x": [4]}


def test_unjsonable_value_names_where_it_sits() -> None:
    with pytest.raises(TypeError, match=r"'d' is a dict with a non-string key 1"):
        trace_of({"d": {1: 2}})
    with pytest.raises(TypeError, match=r"'s'\[0\].*object"):
        trace_of({"s": [object()]})


def entry(t: torch.Tensor) -> Any:
    """The traced view of one tensor, after a JSON round trip."""
    return BeatTrace.from_json(trace_of({"t": t}))["t"]


@pytest.mark.parametrize("dtype", [torch.bool, torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8,
                                   torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_every_real_dtype_records_torch_values(dtype: torch.dtype) -> None:
    t = (torch.arange(-3, 3) * 0.7).to(dtype).reshape(2, 3)
    e = entry(t)
    assert e.dtype == str(dtype).removeprefix("torch.") and e.shape == (2, 3)
    for idx in e.indices():
        assert e.at(*idx) == t[idx].item()  # float16/bfloat16: the exact stored value, not the typed one


def test_complex_records_real_and_imaginary_parts() -> None:
    t = torch.tensor([[1 + 2j, -0.5 - 1j], [float("nan") + 0j, 3j]], dtype=torch.complex64)
    e = entry(t)
    assert e.dtype == "complex64" and e.is_complex
    assert e.at(0, 0) == complex(1, 2) and e.at(0, 1) == complex(-0.5, -1)
    assert str(e.at(1, 0).real) == "nan" and e.at(1, 1) == 3j
    assert e.label(0, 1) == "-0.50-1.00j" and e.label(1, 1) == "0.00+3.00j"
    assert e.stats is not None and e.stats.imag is not None and e.stats.nan == 1 and e.stats.imag.max == 3.0


def test_special_floats_survive_as_such() -> None:
    e = entry(torch.tensor([float("nan"), float("inf"), -float("inf"), -0.0, 1.5]))
    assert e.values[:3] == ["nan", "inf", "-inf"]
    assert e.values[3] == 0.0 and math.copysign(1.0, e.values[3]) == -1.0  # -0.0 kept through JSON
    assert e.stats is not None and (e.stats.nan, e.stats.posinf, e.stats.neginf) == (1, 1, 1)
    assert (e.stats.min, e.stats.max) == (-0.0, 1.5)


@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (1,), (2, 1, 3, 1, 2), (1, 2, 1, 1, 1, 2, 1)])
def test_any_shape_is_recorded(shape: tuple[int, ...]) -> None:
    t = torch.arange(math.prod(shape), dtype=torch.float32).reshape(shape)
    e = entry(t)
    assert e.shape == shape and e.numel == t.numel() and not e.truncated
    assert e.values == t.tolist()
    assert [e.at(*i) for i in e.indices()] == t.flatten().tolist()


def test_large_tensor_is_summarised_from_torch_without_reading_it_all() -> None:
    t = torch.randn(2000, 5001)
    t[0, 0], t[-1, -1], t[1, 2] = float("nan"), float("inf"), -float("inf")
    data = trace_of({"t": t})
    assert len(json.dumps(data)) < 20_000  # corners and statistics, not ten million numbers
    e = BeatTrace.from_json(data)["t"]
    assert e.truncated and e.shape == (2000, 5001) and e.kept is not None
    assert e.kept[0] == (*range(8), *range(1992, 2000))
    for i, j in [(1, 2), (7, 4993), (1999, 5000), (-1, -2), (1995, 3)]:
        assert float(e.at(i, j)) == t[i, j].item()  # inf and -inf are stored as strings
    with pytest.raises(IndexError, match="was not traced"):
        e.at(1000, 2500)
    finite = t[torch.isfinite(t)]
    assert e.stats is not None and (e.stats.nan, e.stats.posinf, e.stats.neginf) == (1, 1, 1)
    assert e.stats.count == t.numel()
    assert e.stats.min == finite.min().item() and e.stats.max == finite.max().item()
    assert e.stats.mean == pytest.approx(finite.double().mean().item(), abs=1e-9)
    assert e.stats.std == pytest.approx(finite.double().std().item(), rel=1e-6)


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, torch.float16, torch.complex64])
def test_large_tensors_of_other_dtypes_are_summarised(dtype: torch.dtype) -> None:
    t = (torch.randn(70, 80, 3) * 4).to(dtype)
    e = entry(t)
    assert e.truncated and e.kept is not None and e.stats is not None
    for idx in e.indices()[:: max(1, len(e.indices()) // 50)]:
        assert e.at(*idx) == t[idx].item()
    real = t.real if dtype.is_complex else t
    assert e.stats.max == (real.max().item() if dtype != torch.bool else bool(real.any()))
    assert e.stats.mean == pytest.approx(real.double().mean().item(), rel=1e-6)
