"""The torch.nn layer visuals (Embedding, PositionalEncoding, Norm, Loss) on their gallery's real trace
(scripts/gallery/nn_layers.py, computed with torch.nn): what each shows equals the trace, the arithmetic it
claims holds on torch's numbers, every key frame passes the layout lint, the steps match the narration, and
data a visual cannot draw raises a VisualError naming the visual, the tensor and the reason."""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from render.errors import VisualError
from scenes.trace import BeatTrace, TensorEntry

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "scripts" / "gallery" / "nn_layers.py"
MIN_VALUE_PX = 9.0
PX_PER_UNIT = 480 / 8.0
NUMBER = re.compile(r"-?\d+(\.\d+)?")


@functools.lru_cache(maxsize=1)
def gallery() -> tuple[Any, dict[str, Any]]:
    """The gallery lesson and its trace (torch on the CPU), as JSON exactly as a clip worker gets it."""
    from render.lesson import load_lesson
    from render.trace import trace_lesson

    lesson = load_lesson(GALLERY)
    return lesson, json.loads(json.dumps(trace_lesson(lesson, "cpu")))


def beat_names() -> list[str]:
    from render.lesson import load_lesson

    return [b.name for b in load_lesson(GALLERY).beats]


def job(name: str) -> dict[str, Any]:
    lesson, trace = gallery()
    i = [b.name for b in lesson.beats].index(name)
    beat = lesson.beats[i]
    return {"title": beat.title, "lesson": "nn layers", "visual": beat.visual.to_json(),
            "trace": {"beat": trace["beats"][i], "device": trace["device"], "torch": trace["torch"]},
            "timing": None}


@functools.cache
def run(name: str) -> dict[str, Any]:
    """A Manim dry run of gallery beat `name`: lint problems, shown values, steps, smallest value text."""
    from manim import Text, tempconfig

    from scenes.beat import BeatScene
    from scenes.mobjects.tensor_grid import TensorGrid

    j = job(name)
    settings = {"dry_run": True, "disable_caching": True, "quality": "low_quality", "verbosity": "ERROR",
                "progress_bar": "none"}
    with tempconfig(settings):
        scene = BeatScene(j)
        scene.render()
    assert scene.visual is not None
    family = [m for mob in scene.mobjects for m in mob.get_family()]
    annotations = {id(t) for g in family if isinstance(g, TensorGrid)  # index labels and badges: not values
                   for part in [*(x for labels in g.axis_labels.values() for x in labels), g.badge]
                   for t in part.get_family()}
    values = [m for m in family if isinstance(m, Text) and id(m) not in annotations
              and NUMBER.fullmatch(m.text) and m.get_fill_opacity() > 0.05]
    return {
        "beat": BeatTrace.from_json(j["trace"]["beat"]),
        "options": j["visual"]["options"],
        "tensors": j["visual"]["tensors"],
        "lint": list(scene.lint_problems),
        "shown": scene.visual.shown,
        "played": scene.steps_played,
        "steps": scene.visual.steps(),  # type: ignore[attr-defined]
        "smallest_px": min((t.height * PX_PER_UNIT for t in values), default=math.inf),
    }


def idx(key: str) -> tuple[int, ...]:
    return tuple(int(k) for k in key.split(",")) if key else ()


def num(entry: TensorEntry, *index: int) -> float:
    return float(entry.at(*index))


NAMES = beat_names()


def test_gallery_uses_every_layer_visual() -> None:
    lesson, _ = gallery()
    assert {"Embedding", "PositionalEncoding", "Norm", "Loss"} <= {b.visual.kind for b in lesson.beats}
    assert all(beat["claims"] for beat in gallery()[1]["beats"]), "every beat checks its claims with expect"


@pytest.mark.parametrize("name", NAMES)
def test_beat_shows_the_trace_passes_lint_and_steps_with_its_narration(name: str) -> None:
    from render.narrate import split_segments

    r = run(name)
    assert r["lint"] == [], r["lint"]
    assert r["played"] == r["steps"], f"{name}: steps() says {r['steps']}, play yielded {r['played']}"
    lesson, _ = gallery()
    narration = next(b.narration for b in lesson.beats if b.name == name)
    assert len(split_segments(narration)) == r["steps"]
    assert r["smallest_px"] >= MIN_VALUE_PX, f"{name}: a value is {r['smallest_px']:.1f} px tall at 480p"
    beat, shown, digits = r["beat"], r["shown"], r["options"].get("digits", 2)
    compared = 0
    for tensor, cells in shown.items():
        if tensor in beat.tensors:
            for key, text in cells.items():
                assert text == beat[tensor].label(*idx(key), digits=digits), f"{tensor}[{key}] shows {text}"
                compared += 1
    for src, si, dst, di in shown.get("moves", []):
        assert beat[src].at(*si) == beat[dst].at(*di), f"{src}{si} drawn moving to {dst}{di}"
    assert compared > 0


def test_embedding_rows_are_the_weights_rows_and_the_one_hot_product() -> None:
    r = run("embedding")
    beat, shown = r["beat"], r["shown"]
    idx_t, weight, out, one_hot = (beat[n] for n in ("idx", "weight", "out", "one_hot"))
    assert [t for t, _ in shown["lookups"]] == list(range(idx_t.shape[0]))
    for t, v in shown["lookups"]:
        assert v == idx_t.at(t)
        assert out.values[t] == weight.values[v]
        assert [one_hot.at(t, k) for k in range(weight.shape[0])] == [int(k == v) for k in range(weight.shape[0])]
    assert shown["equal"] is True and beat.values["same"] is True
    pad = shown["padding"]
    assert pad["row"] == 0 and pad["values"] == ["0.00"] * weight.shape[1]
    assert pad["hits"] == [t for t in range(idx_t.shape[0]) if idx_t.at(t) == 0] == [2]
    assert len(shown["moves"]) == idx_t.shape[0] * weight.shape[1]


def test_positional_encoding_draws_torchs_table_waves_and_sum() -> None:
    r = run("positional_encoding")
    beat, shown = r["beat"], r["shown"]
    pe = beat["pe"]
    assert len(shown["pe"]) == pe.numel  # the heatmap colours every value
    for d, labels in shown["waves"].items():
        assert labels == [pe.label(p, int(d)) for p in range(pe.shape[0])]
    assert abs(num(pe, 5, 0) - math.sin(5)) < 1e-6  # the table really is sin(position) in dimension 0
    token, x = beat["token"], beat["x"]
    assert shown["added"]
    for tok, row, total in shown["added"]:
        assert abs(float(tok) + float(row) - float(total)) <= 0.011
    for k in range(x.shape[0]):
        assert num(token, k) + num(pe, 3, k) == pytest.approx(num(x, k), abs=1e-5)
    assert shown["legend"] == [pe.label(*max(pe.indices(), key=lambda i: num(pe, *i))),
                               pe.label(*min(pe.indices(), key=lambda i: num(pe, *i)))]


@pytest.mark.parametrize(("name", "group"), [
    ("layer_norm", lambda i: [i[0], i[1]]),
    ("rms_norm", lambda i: [i[0], i[1]]),
    ("batch_norm", lambda i: [i[1]]),
    ("group_norm", lambda i: [i[0], i[1] // 2]),
    ("instance_norm", lambda i: [i[0], i[1]]),
    ("batch_norm_eval", lambda i: [i[1]]),
])
def test_norm_groups_the_cells_torch_normalised_together(name: str, group: Any) -> None:
    r = run(name)
    beat, shown = r["beat"], r["shown"]
    x, y = beat["x"], beat["y"]
    assert shown["groups"] and all(g == group(idx(k)) for k, g in shown["groups"].items())
    stats = [beat[n] for n in r["tensors"][1:-1]]
    worked = shown["worked_group"]
    assert worked["stats"] == {s.name: s.label(*worked["group"]) for s in stats}
    members = [num(x, *m) for m in worked["members"]]
    if name == "rms_norm":
        assert math.sqrt(sum(v * v for v in members) / len(members) + 1e-6) == pytest.approx(
            num(stats[0], *worked["group"]), rel=1e-5)
    elif name != "batch_norm_eval":  # train mode: the statistics are this batch's, over the group
        mean = sum(members) / len(members)
        assert mean == pytest.approx(num(stats[0], *worked["group"]), abs=1e-5)
        assert sum((v - mean) ** 2 for v in members) / len(members) == pytest.approx(
            num(stats[1], *worked["group"]), abs=1e-5)
    cell = tuple(shown["worked_cell"]["index"])
    g = tuple(shown["worked_cell"]["group"])
    if name == "rms_norm":
        expected = num(x, *cell) / num(stats[0], *g)
    else:
        expected = (num(x, *cell) - num(stats[0], *g)) / math.sqrt(num(stats[1], *g) + 1e-5)
    assert expected == pytest.approx(num(y, *cell), abs=1e-4)
    assert y.label(*cell) in shown["worked_cell"]["text"]


def test_norm_running_update_is_the_momentum_average() -> None:
    r = run("running_update")
    beat, shown = r["beat"], r["shown"]
    m = beat.values["momentum"]
    assert shown["momentum"] == "0.10" and m == 0.1
    assert [u["names"] for u in shown["updates"]] == [["mean_before", "batch_mean", "mean_after"],
                                                      ["var_before", "batch_var", "var_after"]]
    for update in shown["updates"]:
        old, batch, new = (beat[n] for n in update["names"])
        assert update["values"] == [[old.label(c), batch.label(c), new.label(c)] for c in range(3)]
        for c in range(3):
            assert (1 - m) * num(old, c) + m * num(batch, c) == pytest.approx(num(new, c), abs=1e-5)


def test_cross_entropy_is_minus_the_picked_log_probability_and_ignores_its_row() -> None:
    r = run("cross_entropy_ignore")
    beat, shown = r["beat"], r["shown"]
    target, logp, per = beat["target"], beat["logp"], beat["per"]
    assert shown["ignored"] == [2] and target.at(2) == -100
    assert shown["picked"] == [[i, target.at(i)] for i in (0, 1, 3)]
    for i, t in shown["picked"]:
        assert -num(logp, i, t) == pytest.approx(num(per, i), abs=1e-5)
    assert num(per, 2) == 0
    total, mean = shown["reduced"]
    assert total["terms"] == [per.label(i) for i in (0, 1, 3)] and total["result"] == beat["total"].label()
    assert mean["count"] == "3" and mean["result"] == beat["loss"].label()
    assert num(beat["total"]) / 3 == pytest.approx(num(beat["loss"]), abs=1e-5)


def test_class_weights_scale_each_loss_and_the_denominator() -> None:
    r = run("cross_entropy_weights")
    beat, shown = r["beat"], r["shown"]
    target, logp, per, w = beat["target"], beat["logp"], beat["per"], beat["w"]
    for i, t in shown["picked"]:
        assert -num(w, t) * num(logp, i, t) == pytest.approx(num(per, i), abs=1e-5)
    weight_sum = sum(num(w, target.at(i)) for i in range(target.shape[0]))
    assert shown["reduced"][1]["count"] == format(weight_sum, ".2f")
    assert num(beat["total"]) / weight_sum == pytest.approx(num(beat["loss"]), abs=1e-5)


@pytest.mark.parametrize("name", ["bce_with_logits", "mse_sum", "huber"])
def test_elementwise_losses_reduce_to_torchs_value(name: str) -> None:
    r = run(name)
    beat, shown = r["beat"], r["shown"]
    per = beat["per"]
    first = shown["reduced"][0]
    assert first["terms"] == [per.label(*i) for i in per.indices()]
    total = sum(num(per, *i) for i in per.indices())
    reduction = r["options"].get("reduction", "mean")
    into = beat[first["into"]]
    assert num(into) == pytest.approx(total if reduction == "sum" or "total" in r["options"]
                                      else total / per.numel, abs=1e-5)
    assert num(beat["loss"]) == pytest.approx(total if reduction == "sum" else total / per.numel, abs=1e-5)
    x, t = beat[r["tensors"][0]], beat[r["tensors"][1]]
    i = tuple(shown["worked"]["index"])
    xi, ti = num(x, *i), num(t, *i)
    d = xi - ti
    expected = {"mse_sum": d * d, "huber": 0.5 * d * d if abs(d) < 1 else abs(d) - 0.5,
                "bce_with_logits": max(xi, 0) - xi * ti + math.log1p(math.exp(-abs(xi)))}
    assert expected[name] == pytest.approx(num(per, *i), abs=1e-5)


# data a visual cannot draw ---------------------------------------------------------------------------------
def entry(name: str, values: Any, shape: tuple[int, ...], dtype: str = "float32") -> TensorEntry:
    return TensorEntry(name, values, shape, dtype, "cpu", tuple(1 for _ in shape))


def fails(visual_name: str, tensors: tuple[str, ...], entries: list[TensorEntry], **options: Any) -> VisualError:
    from scenes.beat import load_visual
    from scenes.spec import VisualSpec

    beat = BeatTrace("bad", "", {e.name: e for e in entries})
    visual = load_visual(VisualSpec(visual_name, tensors, options), beat)
    with pytest.raises(VisualError) as caught:
        next(iter(visual.play(None)))  # type: ignore[arg-type]
    return caught.value


def test_embedding_refuses_a_batch_of_sequences() -> None:
    err = fails("Embedding", ("idx", "w", "out"), [entry("idx", [[0, 1]], (1, 2), "int64"),
                                                   entry("w", [[0.0], [1.0]], (2, 1)), entry("out", [], (1, 2, 1))])
    assert (err.visual, err.tensor) == ("Embedding", "idx") and "one sequence" in err.reason


def test_embedding_refuses_an_index_outside_the_vocabulary() -> None:
    err = fails("Embedding", ("idx", "w", "out"), [entry("idx", [0, 5], (2,), "int64"),
                                                   entry("w", [[0.0], [1.0]], (2, 1)),
                                                   entry("out", [[0.0], [1.0]], (2, 1))])
    assert err.tensor == "idx" and "[5]" in err.reason


def test_positional_encoding_refuses_an_integer_table() -> None:
    err = fails("PositionalEncoding", ("pe",), [entry("pe", [[1, 2], [3, 4]], (2, 2), "int64")])
    assert err.tensor == "pe" and "int64" in err.reason


def test_norm_refuses_statistics_that_do_not_fit_the_data() -> None:
    x = entry("x", [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], (2, 3))
    err = fails("Norm", ("x", "m", "v", "y"), [x, entry("m", [0.0, 0.0], (2,)), entry("v", [1.0, 1.0], (2,)),
                                              entry("y", x.values, (2, 3))], kind="batch")
    assert err.tensor == "m" and "do not fit" in err.reason


def test_loss_refuses_soft_targets_for_cross_entropy() -> None:
    logits = entry("logits", [[0.0, 1.0]], (1, 2))
    err = fails("Loss", ("logits", "p", "per", "loss"), [logits, entry("p", [[0.5, 0.5]], (1, 2)),
                                                         entry("per", [1.0], (1,)), entry("loss", 1.0, ())])
    assert err.tensor == "p" and "class indices" in err.reason


@pytest.mark.slow
def test_embedding_still_renders(tmp_path: Path) -> None:
    from scenes.still import render_still

    still = render_still(job("embedding"), tmp_path / "embedding.png")
    assert still.lint == [] and still.png.stat().st_size > 10_000
    assert still.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_norm_titles_a_flattened_image_sample_with_its_real_shape() -> None:
    """A (N, C, H, W) sample is drawn as C rows of H*W values; its title keeps the tensor's own shape, `x[0]
    3x(2x2)`, not a 3x4 the tensor does not have (found by the 2.4.1 review)."""
    from scenes.visuals.norm import blocks

    x = entry("x", [[[[float(n * 100 + c * 10 + i * 2 + j) for j in range(2)] for i in range(2)] for c in range(3)]
                    for n in range(2)], (2, 3, 2, 2))
    titles = [title for title, _, _ in blocks(x)]
    assert titles == ["x[0]  3x(2x2)", "x[1]  3x(2x2)"]
    _, sub, where = blocks(x)[1]
    assert sub.shape == (3, 4) and where(2, 3) == (1, 2, 1, 1)
