"""ModuleTree and StateDict on the real trace of scripts/gallery/nn_modules.py: what they show equals what
torch recorded (classes, shapes, counts, flags, hook order, keys, copied values, load reports), and every
key frame passes the layout lint (a Manim dry run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scenes.trace import BeatTrace, ModuleEntry, shape_text
from scenes.visuals.state_dict import reported_keys
from tests.conftest_scenes import dry_beat, dry_script_beat, traced_script

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gallery" / "nn_modules.py"


def traced() -> tuple[Any, dict[str, Any]]:
    return traced_script(SCRIPT)


def run(name: str) -> tuple[BeatTrace, Any, list[str], dict[str, Any], int, int]:
    """Dry-run one beat: (its trace, its spec, lint problems, shown, steps played, steps declared)."""
    return dry_script_beat(SCRIPT, name)


NAMES = ["module_tree_mlp", "module_tree_forward", "module_tree_eval", "state_dict_keys", "state_dict_load",
         "state_dict_mismatch", "state_dict_error"]


@pytest.mark.parametrize("name", NAMES)
def test_lint_clean_and_steps_as_declared(name: str) -> None:
    _, _, problems, _, played, declared = run(name)
    assert problems == []
    assert played == declared


def check_boxes(module: ModuleEntry, boxes: dict[str, Any]) -> None:
    """Every box drawn says what torch recorded for that submodule."""
    assert "" in boxes
    for path, shown in boxes.items():
        node = module.node(path)
        assert shown["class"] == node.cls and shown["training"] == node.training
        assert shown.get("count", node.parameter_count) == node.parameter_count
        for local, shape in shown["tensors"].items():
            assert shape == list(module.tensor(node.full(local)).shape)
        assert set(shown["tensors"]) == set(node.parameters) | set(node.buffers)


def check_module_visual(beat: BeatTrace, options: dict[str, Any], shown: dict[str, Any]) -> int:
    """The truth check of ModuleTree and StateDict for any beat (tests/test_vocabulary.py calls it too):
    boxes as the traced module, state_dict keys as torch listed them; how many records were compared."""
    n = 0
    if "boxes" in shown:
        check_boxes(beat.module(shown["boxes_of"]), shown["boxes"])
        n += len(shown["boxes"])
    if "state_keys" in shown:
        assert shown["state_keys"] == state_keys(beat, options["_tensors"][0], options.get("model"))
        n += len(shown["state_keys"])
    return n


@pytest.mark.parametrize("name", ["module_tree_mlp", "module_tree_forward", "module_tree_eval"])
def test_module_tree_shows_the_traced_module(name: str) -> None:
    beat, spec, _, shown, _, _ = run(name)
    module = beat.module(spec.tensors[0])
    check_boxes(module, shown["boxes"])
    assert set(shown["boxes"]) | set(shown["elided"]) == {n.path for n in module.tree.walk()}
    assert shown["caption"].startswith(f"{module.parameter_count:,} parameters")
    assert f"training = {module.training}" in shown["caption"]


def test_module_tree_lights_the_hook_order() -> None:
    beat, _, _, shown, _, _ = run("module_tree_forward")
    module = beat.module("model")
    assert shown["forward_order"] == [p for p in module.forward_order() if p]
    assert shown["forward_order"][:3] == ["embed", "blocks.0", "blocks.0.norm"]  # hooks, not the tree's order
    assert shown["forward_order"][-1] == "head"


def test_eval_mode_flags_every_box() -> None:
    _, _, _, shown, _, _ = run("module_tree_eval")
    assert {b["training"] for b in shown["boxes"].values()} == {False}
    assert shown["boxes"]["1"]["tensors"]["running_mean"] == [4]


def keys_of(beat: BeatTrace, spec: Any) -> list[list[Any]]:
    """[key, shape, kind] per state_dict key as torch recorded them."""
    return state_keys(beat, spec.tensors[0], spec.options.get("model"))


def state_keys(beat: BeatTrace, first: str, model_name: str | None) -> list[list[Any]]:
    if first in beat.modules:
        m = beat.module(first)
        return [[k, list(m.tensor(k).shape), m.kind(k)] for k in m.state_dict_keys]
    model = beat.module(model_name) if model_name else None
    return [[k, list(t.shape), model.kind(k) if model and (k in model.parameters or k in model.buffers) else ""]
            for k, t in beat.state_dict(first).entries.items()]


@pytest.mark.parametrize("name", ["state_dict_keys", "state_dict_load", "state_dict_mismatch", "state_dict_error"])
def test_state_dict_keys_are_torch_keys(name: str) -> None:
    beat, spec, _, shown, _, _ = run(name)
    assert shown["state_keys"] == keys_of(beat, spec)
    assert all(row in shown["state_keys"] for row in shown["drawn"])


def test_state_dict_leaves_non_persistent_buffers_out() -> None:
    beat, _, _, shown, _, _ = run("state_dict_keys")
    keys = [k for k, _, _ in shown["state_keys"]]
    assert "scale" not in keys and beat.module("model").kind("scale") == "non-persistent buffer"
    assert [k for k, _, kind in shown["state_keys"] if kind == "buffer"] == [
        "norm.running_mean", "norm.running_var", "norm.num_batches_tracked"]
    assert shown["boxes"][""]["tensors"]["scale"] == []  # drawn in the tree, as a 0-D buffer


def test_loading_flows_only_values_torch_copied() -> None:
    from scenes.mobjects.key_table import preview

    beat, _, _, shown, _, _ = run("state_dict_load")
    saved, fresh = beat.state_dict("saved"), beat.module("fresh")
    assert [k for k, _, _ in shown["loaded"]] == list(fresh.state_dict_keys)
    for key, src, dst in shown["loaded"]:
        assert src == preview(saved.entries[key]) == dst == preview(fresh.tensor(key))
        assert saved.entries[key].flat() == fresh.tensor(key).flat()
    assert shown["caption"] == f"{len(shown['loaded'])} of {len(fresh.state_dict_keys)} entries copied into fresh"


def test_mismatch_shows_what_torch_reported() -> None:
    beat, _, _, shown, _, _ = run("state_dict_mismatch")
    report = beat.values["report"]
    assert shown["missing"] == report["missing_keys"] == ["2.weight", "2.bias"]
    assert shown["unexpected"] == report["unexpected_keys"] == ["1.weight", "1.bias"]
    assert [k for k, _, _ in shown["loaded"]] == ["0.weight", "0.bias"]


def test_strict_error_keys_come_from_torch_message() -> None:
    beat, _, _, shown, _, _ = run("state_dict_error")
    assert (shown["missing"], shown["unexpected"]) == reported_keys(beat.values["error"])
    assert shown["unexpected"] == ["1.weight", "1.bias"] and shown["missing"] == []


def test_shape_text_used_for_keys() -> None:
    beat, _, _, shown, _, _ = run("state_dict_keys")
    model = beat.module("model")
    assert shape_text(model.tensor("proj.weight").shape) == "2x3"
    assert shown["state_keys"][0] == ["proj.weight", [2, 3], "parameter"]


# crashes found by new authors: each case now draws (or raises a VisualError saying what and why) -------
dry = dry_beat  # one compute function traced and its visual dry-run (tests/conftest_scenes.py)


def check_sums(beat: BeatTrace, shown: dict[str, Any]) -> None:
    a, b, c = beat["a"], beat["b"], beat["c"]
    assert shown["sums"]
    for s in shown["sums"]:
        assert s["result"] == c.label(*s["cell"])
        assert [t[0] for t in s["terms"]] == [a.label(*i) for i in s["a"]]
        assert [t[1] for t in s["terms"]] == [b.label(*i) for i in s["b"]]
        assert len(s["terms"]) == a.shape[-1]


def test_matmul_sweeps_a_batch_of_sequences_times_a_weight() -> None:
    import torch

    from scenes.vocabulary import MatmulSweep

    def compute(device: str) -> dict[str, Any]:
        a = torch.randn(2, 3, 4)
        b = torch.randn(4, 5)
        return {"a": a, "b": b, "c": a @ b}

    beat, shown, problems = dry(compute, MatmulSweep("a", "b", "c"))
    assert problems == []
    check_sums(beat, shown)
    assert {tuple(s["cell"][:1]) for s in shown["sums"]} == {(0,), (1,)}  # one sweep per batch entry
    assert all(len(i) == 2 for s in shown["sums"] for i in s["b"])  # the weight has no batch axis


def test_matmul_broadcasts_batch_axes_on_both_sides() -> None:
    import torch

    from scenes.vocabulary import MatmulSweep

    def compute(device: str) -> dict[str, Any]:
        a = torch.randn(2, 1, 2, 3)
        b = torch.randn(3, 3, 2)
        return {"a": a, "b": b, "c": torch.matmul(a, b)}

    beat, shown, problems = dry(compute, MatmulSweep("a", "b", "c", op="matmul"))
    assert problems == []
    check_sums(beat, shown)
    assert shown["sums"][-1]["a"][0][:2] == [0, 0] and shown["sums"][-1]["b"][0][:1] == [1]


def test_matmul_refuses_what_is_not_a_matmul() -> None:
    import torch

    from render.errors import VisualError
    from scenes.vocabulary import MatmulSweep

    def compute(device: str) -> dict[str, Any]:
        return {"a": torch.ones(2, 3), "b": torch.ones(3, 2), "c": torch.ones(3, 3)}

    with pytest.raises(VisualError, match=r"MatmulSweep\('c'\).*not the matmul of 2x3 and 3x2"):
        dry(compute, MatmulSweep("a", "b", "c"))


def test_broadcast_where_both_operands_stretch() -> None:
    import torch

    from scenes.vocabulary import Broadcast

    def compute(device: str) -> dict[str, Any]:
        a = torch.arange(3.0).reshape(3, 1, 1)
        b = torch.arange(8.0).reshape(2, 4) * 10
        return {"a": a, "b": b, "c": a + b}

    beat, shown, problems = dry(compute, Broadcast("a", "b", "c"))
    assert problems == []
    assert shown["c"] and all(text == beat["c"].label(*map(int, k.split(","))) for k, text in shown["c"].items())
    cell, operands, result = shown["equation"]
    assert operands == [beat["a"].label(cell[0], 0, 0), beat["b"].label(*cell[1:])]
    assert result == beat["c"].label(*cell)


def test_elementwise_broadcasts_on_both_sides() -> None:
    import torch

    from scenes.trace import broadcast_index
    from scenes.vocabulary import Elementwise

    def compute(device: str) -> dict[str, Any]:
        a = torch.arange(6.0).reshape(2, 1, 3)
        b = torch.arange(12.0).reshape(4, 3)
        return {"a": a, "b": b, "c": a * b}

    beat, shown, problems = dry(compute, Elementwise("a", "b", "c", op="*"))
    assert problems == []
    for cell, operands, result in shown["equations"]:
        assert operands == [beat[n].label(*broadcast_index(tuple(cell), beat[n].shape)) for n in ("a", "b")]
        assert result == beat["c"].label(*cell)


@pytest.mark.parametrize("kind", ["empty", "scalar", "complex"])
def test_show_draws_empty_scalar_and_complex_tensors(kind: str) -> None:
    import torch

    from scenes.vocabulary import Show

    def compute(device: str) -> dict[str, Any]:
        made = {"empty": torch.zeros(2, 0), "scalar": torch.tensor(3.25), "complex": torch.tensor([1 + 2j, -3j])}
        return {"t": made[kind]}

    beat, shown, problems = dry(compute, Show("t", code=False))
    assert problems == []
    expected = {",".join(map(str, i)): beat["t"].label(*i) for i in beat["t"].indices()}
    assert shown["t"] == expected
    if kind == "complex":
        assert shown["t"] == {"0": "1.00+2.00j", "1": "0.00-3.00j"}


def test_show_of_a_5d_tensor_is_a_visual_error() -> None:
    import torch

    from render.errors import VisualError
    from scenes.vocabulary import Show

    def compute(device: str) -> dict[str, Any]:
        return {"t": torch.zeros(1, 1, 1, 1, 2)}

    with pytest.raises(VisualError, match=r"'t'.*up to 4-D"):
        dry(compute, Show("t", code=False))


@pytest.mark.parametrize("text", ["[2, 0]", ":, idx", "..., None", "None, 1"])
def test_index_with_lists_tensors_ellipsis_and_none(text: str) -> None:
    import torch

    from scenes.vocabulary import Index

    def compute(device: str) -> dict[str, Any]:
        x = torch.arange(12).reshape(3, 4)
        idx = torch.tensor([3, 0, 0])
        y = eval(f"x[{text}]", {"x": x, "idx": idx})
        return {"x": x, "y": y, "idx": idx}

    beat, shown, problems = dry(compute, Index("x", "y", index=text))
    assert problems == []
    moves = shown["moves"]
    assert moves and all(beat[s].at(*si) == beat[d].at(*di) for s, si, d, di in moves)
    assert [beat["x"].at(*c) for c in shown["selected_cells"]] == beat["y"].flat()
