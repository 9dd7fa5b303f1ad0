"""The torch.nn function visuals (Linear, Activation, Softmax, Dropout, Curve) on their gallery beats
(scripts/gallery/nn_functions.py, traced by torch): what each shows equals the trace, curve points are the
traced points, steps() predicts the steps played; data they cannot draw raises a VisualError; the curve
sampler, the multi-file gallery and the text-size lint."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from render.checks import DRY_RUN
from render.errors import VisualError
from scenes.spec import VisualSpec
from scenes.trace import BeatTrace, TensorEntry, format_number

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gallery" / "nn_functions.py"


@functools.cache
def traced() -> tuple[Any, dict[str, Any]]:
    from render.gallery import trace_gallery

    lesson, trace = trace_gallery([SCRIPT], device="cpu")
    return lesson, json.loads(json.dumps(trace))


@functools.cache
def run(name: str) -> tuple[BeatTrace, dict[str, Any], int, int, list[str]]:
    """Dry-run beat `name`: (its trace, what it showed, steps played, steps predicted, lint problems)."""
    from manim import tempconfig

    from scenes.beat import BeatScene

    lesson, trace = traced()
    i = [b.name for b in lesson.beats].index(name)
    beat = lesson.beats[i]
    job = {"title": beat.title, "lesson": "nn functions", "visual": beat.visual.to_json(),
           "trace": {"beat": trace["beats"][i], "device": trace["device"], "torch": trace["torch"]}, "timing": None}
    with tempconfig(DRY_RUN):
        scene = BeatScene(job)
        scene.render()
    assert scene.visual is not None
    predicted = scene.visual.steps()  # type: ignore[attr-defined]
    view = BeatTrace.from_json(trace["beats"][i])
    return view, scene.visual.shown, scene.steps_played, predicted, list(scene.lint_problems)


def idx(key: str) -> tuple[int, ...]:
    return tuple(int(k) for k in key.split(",")) if key else ()


def assert_cells(beat: BeatTrace, shown: dict[str, Any]) -> int:
    """Every shown cell of a traced tensor reads as the trace labels it; returns how many."""
    n = 0
    for name, cells in shown.items():
        if name in beat.tensors:
            for key, text in cells.items():
                assert text == beat[name].label(*idx(key)), f"{name}[{key}] shows {text}"
                n += 1
    return n


def close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= 1e-4 * max(scale, 1.0)


def assert_curve(beat: BeatTrace, x_name: str | None, y_name: str, points: list[list[float]]) -> None:
    """The drawn line passes through exactly the traced points, in order."""
    ys = beat[y_name].flat()
    xs = beat[x_name].flat() if x_name else list(range(len(ys)))
    finite = [(x, y) for x, y in zip(xs, ys, strict=True) if not isinstance(y, str)]
    assert len(points) == len(finite)
    span = max(abs(v) for pair in finite for v in pair)
    for (px, py), (x, y) in zip(points, finite, strict=True):
        assert close(px, x, span) and close(py, y, span), f"{y_name}: drew ({px}, {py}) for ({x}, {y})"


NAMES = ["linear_tokens", "linear_qkv", "activation_overlay", "activation_gelu", "activation_relu_grid",
         "softmax_steps", "softmax_temperature", "softmax_masked", "dropout_train_eval", "curve_loss",
         "curve_parameter"]


def test_the_gallery_file_has_every_beat_here() -> None:
    lesson, _ = traced()
    assert [b.name for b in lesson.beats] == NAMES
    assert {b.visual.kind for b in lesson.beats} == {"Linear", "Activation", "Softmax", "Dropout", "Curve"}


@pytest.mark.parametrize("name", NAMES)
def test_steps_predicted_lint_clean_and_cells_match(name: str) -> None:
    beat, shown, played, predicted, problems = run(name)
    assert problems == []
    assert played == predicted
    assert assert_cells(beat, shown) > 0


def test_linear_works_one_output_from_the_traced_weights() -> None:
    beat, shown, *_ = run("linear_tokens")
    (dot,) = shown["dots"]
    *lead, j = dot["cell"]
    W, x = beat["W"], beat["x"]
    assert dot["terms"] == [[x.label(*lead, k), W.label(j, k)] for k in range(W.shape[1])]
    assert dot["bias"] == beat["b"].label(j) and dot["result"] == beat["y"].label(*dot["cell"])
    total = sum(x.at(*lead, k) * W.at(j, k) for k in range(W.shape[1])) + beat["b"].at(j)
    assert total == pytest.approx(beat["y"].at(*dot["cell"]), abs=1e-5)  # the cells shown make torch's y


def test_linear_qkv_shows_three_projections_of_one_input() -> None:
    beat, shown, *_ = run("linear_qkv")
    assert shown["projections"] == [["Wq", "q"], ["Wk", "k"], ["Wv", "v"]]
    assert set(shown) >= {"x", "Wq", "Wk", "Wv", "q", "k", "v"}


def test_activation_curves_are_the_traced_points() -> None:
    beat, shown, *_ = run("activation_overlay")
    assert list(shown["curves"]) == ["relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid"]
    for fn, points in shown["curves"].items():
        assert_curve(beat, "x", fn, points)


def test_activation_inputs_land_on_their_traced_outputs() -> None:
    beat, shown, *_ = run("activation_overlay")
    outs = ["relu_z", "leaky_z", "gelu_z"]
    expected = [[z, beat[o].at(k)] for k, z in enumerate(beat["z"].flat()) for o in outs]
    assert len(shown["dots"]) == len(expected)
    for (x, y), (ex, ey) in zip(shown["dots"], expected, strict=True):
        assert close(x, ex, 4) and close(y, ey, 4)


def test_activation_grid_lights_exactly_what_relu_zeroed() -> None:
    beat, shown, *_ = run("activation_relu_grid")
    zeroed = [list(i) for i in beat["z"].indices() if beat["a"].at(*i) == 0 and beat["z"].at(*i) != 0]
    assert shown["zeroed"] == zeroed and zeroed


def test_softmax_shows_exp_sum_and_probabilities_that_add_to_one() -> None:
    beat, shown, *_ = run("softmax_steps")
    assert set(shown) >= {"logits", "e", "s", "probs", "probs_sum"}
    assert shown["probs_sum"][""] == beat["probs_sum"].label() == "1.00"
    assert shown["masked"] == []


def test_softmax_masked_entries_are_zero() -> None:
    beat, shown, *_ = run("softmax_masked")
    row = beat["scores"].values[1]
    assert shown["masked"] == [i for i, v in enumerate(row) if v == "-inf"] == [2, 3]
    assert [shown["probs"][f"1,{i}"] for i in shown["masked"]] == ["0.00", "0.00"]
    assert shown["s"] == {"1": beat["s"].label(1)}


def test_softmax_temperatures_come_from_the_trace() -> None:
    beat, shown, *_ = run("softmax_temperature")
    assert shown["T"] == {str(k): beat["T"].label(k) for k in range(3)}


def test_dropout_mask_scale_mean_and_eval() -> None:
    beat, shown, *_ = run("dropout_train_eval")
    assert shown["dropped"] == [list(i) for i in beat["mask"].indices() if beat["mask"].at(*i) == 0]
    values = beat.values
    assert shown["values"] == {"scale": format_number(values["scale"]), "p": format_number(values["p"]),
                               "draws": str(values["draws"])}
    assert set(shown) >= {"avg", "y_eval"}


@pytest.mark.parametrize("name,x", [("curve_loss", "step"), ("curve_parameter", "T")])
def test_curve_draws_the_traced_series(name: str, x: str) -> None:
    beat, shown, *_ = run(name)
    for y, points in shown["curves"].items():
        assert_curve(beat, x, y, points)
    xs = beat[x].flat()
    ticks = [float(t) for t in shown["ticks"]["x"]]
    assert ticks[0] <= min(xs) and ticks[-1] >= max(xs)  # the axis covers the data


# data a visual cannot draw ----------------------------------------------------------------------------
def entry(name: str, values: Any, shape: tuple[int, ...], dtype: str = "float32") -> TensorEntry:
    return TensorEntry(name, values, shape, dtype, "cpu", tuple(1 for _ in shape))


def visual(kind: str, tensors: tuple[str, ...], entries: list[TensorEntry], values: dict[str, Any] | None = None,
           **options: Any) -> Any:
    from scenes.beat import load_visual

    beat = BeatTrace("b", "", {e.name: e for e in entries}, values or {})
    return load_visual(VisualSpec(kind, tensors, options), beat)


CASES = [
    ("Curve", ("y",), [entry("y", [[1.0, 2.0]], (1, 2))], {}, "1-D"),
    ("Curve", ("x", "y"), [entry("x", [0.0, 1.0, 2.0], (3,)), entry("y", [1.0, 2.0], (2,))], {}, "2 values against 3"),
    ("Curve", ("y",), [entry("y", [{"re": 1, "im": 0}] * 2, (2,), "complex64")], {}, "real values"),
    ("Activation", ("x", "f"), [entry("x", [-1.0, 1.0], (2,)), entry("f", [0.0, 1.0], (2,)),
                                entry("z", [3.0], (1,)), entry("fz", [3.0], (1,))],
     {"inputs": "z", "outputs": "fz"}, "outside the sampled range"),
    ("Activation", ("z", "a"), [entry("z", [1.0, 2.0], (2,)), entry("a", [1.0], (1,))], {"grid": True}, "differs"),
    ("Softmax", ("l", "p"), [entry("l", [0.0] * 11, (11,)), entry("p", [0.1] * 11, (11,))], {}, "1 to 10 classes"),
    ("Softmax", ("l", "p"), [entry("l", [[[[[0.0]]]]], (1,) * 5), entry("p", [[[[[1.0]]]]], (1,) * 5)], {},
     "1-D to 4-D logits"),
    ("Softmax", ("l", "p"), [entry("l", [[[0.0]]], (1, 1, 1)), entry("p", [[[1.0]]], (1, 1, 1))], {"row": [0, 1]},
     "not a row of its 1x1 leading axes"),
    ("Softmax", ("l", "p", "q"), [entry("l", [0.0], (1,)), entry("p", [1.0], (1,)), entry("q", [1.0], (1,))], {},
     "temperature"),
    ("Dropout", ("x", "m", "y"), [entry("x", [1.0, 2.0], (2,)), entry("m", [2, 0], (2,), "int64"),
                                  entry("y", [2.0, 0.0], (2,))], {}, "only 0 and 1"),
    ("Linear", ("x", "W", "y"), [entry("x", [1.0, 2.0], (2,)), entry("W", [[1.0, 2.0, 3.0]], (1, 3)),
                                 entry("y", [1.0], (1,))], {}, "last axis must be in=3"),
    ("Dropout", ("x", "m", "y"), [entry("x", [1.0], (1,)), entry("m", [1], (1,), "int64"), entry("y", [1.0], (1,))],
     {"mean": "avg"}, "returned no 'avg'"),
    ("Linear", ("x", "W", "b", "y"), [entry("x", [1.0], (1,)), entry("W", [[1.0]], (1, 1)),
                                      entry("b", [1.0, 2.0], (2,)), entry("y", [2.0], (1,))], {},
     "one value per output"),
]


@pytest.mark.parametrize("kind,tensors,entries,options,reason", CASES, ids=[c[-1] for c in CASES])
def test_data_a_visual_cannot_draw_raises_a_visual_error(kind: str, tensors: tuple[str, ...],
                                                        entries: list[TensorEntry], options: dict[str, Any],
                                                        reason: str) -> None:
    v = visual(kind, tensors, entries, **options)
    with pytest.raises(VisualError, match=reason) as err:
        next(v.play(None))
    assert err.value.visual == kind


# the curve sampler ------------------------------------------------------------------------------------
def test_sample_returns_torch_linspace_and_the_function_of_it() -> None:
    import torch
    import torch.nn.functional as F  # noqa: N812

    from render.curves import sample

    x, y = sample(F.gelu, -4, 4, 161)
    assert torch.equal(x, torch.linspace(-4, 4, 161)) and torch.equal(y, F.gelu(x))
    assert y.grad_fn is None


@pytest.mark.parametrize("args,message", [((-1, 1, 1), "2 to"), ((1, 1, 5), "lo < hi"),
                                          ((0, 1, 5), "one value per point")])
def test_sample_refuses_what_it_cannot_sample(args: tuple[float, float, int], message: str) -> None:
    import torch

    from render.curves import sample

    fn = torch.sum if message == "one value per point" else torch.tanh
    with pytest.raises(ValueError, match=message):
        sample(fn, *args)


# the multi-file gallery -------------------------------------------------------------------------------
def test_gallery_reads_every_file_vocabulary_first() -> None:
    from render.gallery import gallery_scripts, load_gallery

    scripts = gallery_scripts()
    assert scripts[0].name == "vocabulary.py" and SCRIPT in scripts
    names = [b.name for b in load_gallery().beats]
    assert len(names) == len(set(names)) and set(NAMES) <= set(names)


def test_gallery_prefixes_a_name_another_file_took(tmp_path: Path) -> None:
    from render.gallery import load_gallery

    for stem in ("a", "b"):
        (tmp_path / f"{stem}.py").write_text(
            "from render.lesson import Lesson\nfrom scenes.vocabulary import Title\nlesson = Lesson()\n"
            "@lesson.beat('t', narration='Hi.', visual=Title(heading='h', lines=['l']))\ndef card(device):\n"
            "    return {}\n")
    beats = load_gallery([tmp_path / "a.py", tmp_path / "b.py"]).beats
    assert [b.name for b in beats] == ["card", "b.card"]


def test_gallery_trace_reports_a_broken_file_and_keeps_the_others(tmp_path: Path) -> None:
    from render.gallery import trace_gallery

    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('half written')\n")
    errors: list[str] = []
    lesson, trace = trace_gallery([broken, SCRIPT], errors=errors)
    assert len(errors) == 1 and "broken.py" in errors[0] and "half written" in errors[0]
    assert [b.name for b in lesson.beats] == NAMES == [b["name"] for b in trace["beats"]]


# the text-size lint -----------------------------------------------------------------------------------
def test_lint_reports_value_text_under_nine_pixels_and_skips_annotations() -> None:
    from manim import Text

    from scenes.lint import MIN_TEXT_PX, lint_mobjects, smallest_text, text_px
    from scenes.mobjects.text import label

    big, small = label("0.25", 22), label("0.75", 12).shift((3.0, 0.0, 0.0))
    assert text_px(big) == pytest.approx(13.9, abs=0.3)  # a 22 pt digit is about 14 px tall at 480p
    assert text_px(small) < MIN_TEXT_PX
    problems = lint_mobjects([big, small])
    assert len(problems) == 1 and "'0.75'" in problems[0] and "px" in problems[0]
    assert smallest_text([big, small]) == (round(text_px(small), 1), "0.75")
    scaled = Text("1.5", font_size=22).scale(0.5)
    assert text_px(scaled) == pytest.approx(text_px(big) / 2, rel=0.02)  # measured as drawn, after scaling
    small.annotation = True  # type: ignore[attr-defined]
    assert lint_mobjects([big, small]) == [] and smallest_text([big, small], values_only=False) is not None
    assert smallest_text([big, small]) == (round(text_px(big), 1), "0.25")
