"""The trace records what torch computed for every kind of value a compute function returns: nested
plain values, every dtype and shape, large tensors as summaries, modules and state_dicts."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch

from render.lesson import Lesson
from render.trace import trace_beat
from scenes.spec import VisualSpec
from scenes.trace import BeatTrace


def trace_of(compute: Any) -> dict[str, Any]:
    """Trace one compute function as a beat; the result goes through JSON like the real trace file."""
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
        trace_of(lambda device: {"d": {1: 2}})
    with pytest.raises(TypeError, match=r"'s'\[0\].*object"):
        trace_of(lambda device: {"s": [object()]})
