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


class Tiny(torch.nn.Module):
    """Two layers, a norm with running statistics, a non-persistent buffer and a tied weight."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(5, 4)
        self.body = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.BatchNorm1d(3))
        self.head = torch.nn.Linear(3, 5, bias=False)
        self.out = torch.nn.Linear(4, 5, bias=False)
        self.out.weight = self.embed.weight  # tied
        self.register_buffer("scale", torch.tensor(2.0), persistent=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.embed(idx))) * self.scale


def test_module_records_tree_parameters_buffers_and_forward_order() -> None:
    def compute(device: str) -> dict[str, Any]:
        model = Tiny()
        model.head.weight.requires_grad_(False)
        model(torch.tensor([1, 3])).sum().backward()
        model.eval()
        return {"model": model, "n": 1}

    data = trace_of(compute)
    beat = BeatTrace.from_json(data)
    m = beat.module("model")
    torch.manual_seed(0)
    model = Tiny()
    assert m.cls == "Tiny" and m.repr == "Tiny()" and m.training is False
    assert m.parameter_count == sum(p.numel() for p in model.parameters())
    assert m.trainable_count == m.parameter_count - 15
    assert list(m.parameters) == [n for n, _ in model.named_parameters()]
    assert "out.weight" not in m.parameters and m.tensor("out.weight") is m.parameters["embed.weight"]
    assert m.node("out").shared == {"weight": "embed.weight"}
    w = m.parameters["body.0.weight"]
    assert w.shape == (3, 4) and w.requires_grad and w.grad is not None and w.grad.shape == (3, 4)
    assert m.parameters["head.weight"].grad is None and not m.parameters["head.weight"].requires_grad
    assert [c.path for c in m.tree.children] == ["embed", "body", "head", "out"]
    assert [c.cls for c in m.node("body").children] == ["Linear", "ReLU", "BatchNorm1d"]
    assert m.node("body.0").repr == "Linear(in_features=4, out_features=3, bias=True)"
    assert m.node("body.2").buffers == ("running_mean", "running_var", "num_batches_tracked")
    assert m.kind("body.2.running_mean") == "buffer" and m.kind("scale") == "non-persistent buffer"
    assert m.kind("body.0.bias") == "parameter"
    assert list(m.state_dict_keys) == list(model.state_dict().keys()) and "scale" not in m.state_dict_keys
    assert m.forward_order() == ["", "embed", "body", "body.0", "body.1", "body.2", "head"]
    assert m.forward[0].inputs == ([2],) and m.forward[0].output == [2, 5]
    assert m.forward[3].output == [2, 3]
    assert beat.values == {"n": 1}


def test_state_dict_keeps_order_and_load_result_is_recorded() -> None:
    def compute(device: str) -> dict[str, Any]:
        model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.LayerNorm(2))
        sd = model.state_dict()
        sd = {k: sd[k] for k in reversed(sd)}  # an order unlike the model's, to see it kept
        fresh = torch.nn.Sequential(torch.nn.Linear(2, 2))
        result = fresh.load_state_dict(sd, strict=False)
        return {"sd": sd, "result": result}

    beat = BeatTrace.from_json(trace_of(compute))
    sd = beat.state_dict("sd")
    assert sd.keys == ["1.bias", "1.weight", "0.bias", "0.weight"]
    assert sd.entries["0.weight"].shape == (2, 2)
    assert beat.values["result"] == {"missing_keys": [], "unexpected_keys": ["1.bias", "1.weight"]}


def test_record_forward_gives_a_compute_function_the_hook_order() -> None:
    from render.trace import record_forward

    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Tanh()))
    with record_forward(model) as order:
        model(torch.ones(1, 2))
    assert order == ["", "0", "1", "1.0", "1.1"]
    model(torch.ones(1, 2))
    assert len(order) == 5  # hooks removed after the block


COMPLEX_LESSON = (
    "import torch\nfrom render.lesson import Lesson\nfrom scenes.vocabulary import Show\n"
    "lesson = Lesson()\n\n"
    "@lesson.beat('Roots of unity', narration='Four complex numbers.', visual=Show('z', code=False))\n"
    "def roots(device):\n"
    "    return {'z': torch.polar(torch.ones(4), torch.arange(4.0) * torch.pi / 2)}\n"
)


@pytest.mark.slow
def test_complex_lesson_traces_and_a_failing_one_does_not_stop_the_others(project: Any) -> None:
    project.script("broken").write_text(COMPLEX_LESSON)
    lines = project.render("status", "module1", "--voice", "espeak").stdout.splitlines()
    assert not any("fails" in line for line in lines), lines
    assert any(line.startswith("1.1.1 tiny") for line in lines)
    project.script("broken").write_text(COMPLEX_LESSON.replace("torch.pi / 2)}", "torch.pi / 2), 'o': object()}"))
    result = project.render("status", "module1", "--voice", "espeak", check=False)
    out = result.stdout.replace("\n", " ")
    assert "1.1.2 broken: fails" in out and "broken.py" in out and "'o' is a object" in out
    assert "1.1.1 tiny:" in out and "1.1.1 tiny: fails" not in out


def test_complex_tensor_json_has_no_python_complex() -> None:
    data = trace_of({"z": torch.polar(torch.ones(4), torch.arange(4.0) * torch.pi / 2)})
    text = json.dumps(data, allow_nan=False)  # the build writes JSON: no complex, no bare nan
    z = BeatTrace.from_json(json.loads(text))["z"]
    assert z.at(1) == complex(torch.polar(torch.ones(1), torch.tensor([torch.pi / 2])).item())


def test_a_compiled_module_runs_under_the_traces_forward_hooks() -> None:
    """The trace's global forward hooks stay out of dynamo's way: `torch.compile(model)` inside a beat runs
    (it raised "already tracked for mutation" before), gives the plain model's numbers, and the plain
    forward after it is recorded as ever."""
    import torch

    from render.trace import forward_calls

    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    x = torch.randn(5, 3)
    with forward_calls() as calls:
        compiled = torch.compile(model, backend="aot_eager")
        y = compiled(x)
        y.sum().backward()
        plain = len(calls)
        model(x)
    assert torch.equal(y, model(x))
    assert [type(c.module).__name__ for c in calls[plain:]] == ["Sequential", "Linear", "ReLU", "Linear"]
