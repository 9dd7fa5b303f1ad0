"""Every visual of the vocabulary, run on the gallery's real trace: the values it shows equal the trace,
and every key frame passes the layout lint (a Manim dry run: nothing is drawn or encoded)."""

from __future__ import annotations

from typing import Any

import pytest

from scenes.spec import available_visuals
from scenes.trace import BeatTrace, broadcast_index, format_number
from tests.conftest_scenes import beat_names, dry, gallery, job

NAMES = beat_names()


def run(name: str) -> tuple[BeatTrace, dict[str, Any], list[str], dict[str, Any]]:
    beat, options, lint, shown, _ = dry(name)
    return beat, options, lint, shown


def idx(key: str) -> tuple[int, ...]:
    return tuple(int(k) for k in key.split(",")) if key else ()


def check_truth(beat: BeatTrace, options: dict[str, Any], shown: dict[str, Any]) -> int:
    """Compare everything the visual recorded with the trace; returns how many values were compared."""
    digits = options.get("digits", 2)
    label = lambda name, i: beat[name].label(*i, digits=digits)  # noqa: E731
    n = 0
    for name, cells in shown.items():
        if name in beat.tensors:
            assert isinstance(cells, dict) and cells, f"{name}: no cells recorded"
            for key, text in cells.items():
                assert text == label(name, idx(key)), f"{name}[{key}] shows {text}"
                n += 1
    for src, si, dst, di in shown.get("moves", []):
        assert beat[src].at(*si) == beat[dst].at(*di), f"{src}{si} drawn moving to {dst}{di}"
        n += 1
    if "shapes" in shown:
        assert shown["shapes"] == [list(beat[t].shape) for t in options["_tensors"][: len(shown["shapes"])]]
        n += 1
    if "error" in shown:
        assert shown["error"] == beat.values[options["error"]]
        n += 1
    if "entries" in shown:  # Terminal: every command and output line as the trace holds them
        session = beat.values[options.get("session", "session")]
        assert shown["entries"] == [[c, o.rstrip("\n").split("\n") if o.strip() else []] for c, o, _ in session]
        assert {shown["origin"]} == {origin for _, _, origin in session}
        n += 1
    if "modules" in shown:  # CourseMap: the traced course, module by module
        from scenes.visuals.course_map import normalise

        assert shown["modules"] == normalise(beat.values[options.get("course", "course")])
        n += 1
    if "boxes" in shown or "state_keys" in shown:  # ModuleTree, StateDict
        from tests.test_visuals_modules import check_module_visual

        n += check_module_visual(beat, options, shown)
    for s in shown.get("sums", []):  # matmul: factors a[i,k], b[k,j] and torch's result
        a, b, c = (beat[t] for t in options.get("_tensors", ()))
        *batch, i, j = s["cell"]
        for k, (x, y) in enumerate(s["terms"]):
            assert x == a.label(*batch, i, k, digits=digits) and y == b.label(*batch, k, j, digits=digits)
        assert s["result"] == c.label(*s["cell"], digits=digits)
        assert len(s["terms"]) == a.shape[-1]
        n += 1
    for cell, operands, result in shown.get("equations", []):
        *ins, res = options["_tensors"]
        assert operands == [label(t, broadcast_index(tuple(cell), beat[t].shape)) for t in ins]
        assert result == label(res, tuple(cell))
        n += 1
    for record in shown.get("reductions", []):
        cell, line, result = record[:3]
        src, res = options["_tensors"][:2]
        assert result == label(res, tuple(cell))
        values = [beat[src].at(*c) for c in line]
        op = options.get("op", "sum")
        if op in ("max", "min"):
            assert beat[res].at(*cell) == (max if op == "max" else min)(values)
            if len(record) > 3:
                assert values[record[3]] == beat[res].at(*cell)
        if op == "sum":
            assert abs(sum(values) - beat[res].at(*cell)) < 1e-4
        n += 1
    for name, cell, src, text in shown.get("broadcast", []):
        assert tuple(src) == broadcast_index(tuple(cell), beat[name].shape)
        assert text == label(name, tuple(src))
        n += 1
    if "cell" in shown:  # einsum's worked cell: a product of input entries per term, torch's result
        res = options["_tensors"][-1]
        assert shown["cell"]["result"] == label(res, tuple(shown["cell"]["index"]))
        assert len(shown["cell"]["terms"]) == shown["cell"]["count"]
        n += 1
    for name, k, sign, exp, mant, value in shown.get("fields", []):
        t = beat[name]
        assert int(sign + exp + mant, 2) == t.bits[k]
        stored = t.flat()[k]
        assert value == (stored if isinstance(stored, str) else value) and (
            isinstance(stored, str) or float(value) == pytest.approx(stored, rel=1e-9)
        )
        n += 1
    for name, pos_idx, pos in shown.get("pointers", []):
        assert beat[name].storage_position(*pos_idx) == pos
        n += 1
    for pos, text in shown.get("storage", {}).items():
        owners = [t for t in beat.tensors.values() for i in t.indices() if t.storage_position(*i) == int(pos)]
        assert owners and text == format_number(owners[0].at(*[i for i in owners[0].indices()
                                                                 if owners[0].storage_position(*i) == int(pos)][0]),
                                                owners[0].dtype, digits)
        n += 1
    for name, text in shown.get("forward", {}).items():  # autograd node values
        from scenes.visuals.autograd_graph import inline

        assert text == inline(beat[name], digits)
        n += 1
    for name, text in shown.get("grad", {}).items():
        g = beat[name].grad
        assert g is not None and text == "[" + ", ".join(format_number(v, g.dtype, digits) for v in g.values) + "]"
        n += 1
    return n


def test_gallery_covers_the_whole_vocabulary() -> None:
    lesson, _ = gallery()
    used = {b.visual.kind for b in lesson.beats}
    assert set(available_visuals()) <= used, f"no gallery beat for {set(available_visuals()) - used}"


# Module 3's visuals draw values in their own forms (a schedule's rates, a ladder's ranges, a loader's batches);
# each has a truth test module that compares every gallery beat of it, listed in its NAMES.
OWN_TRUTH_TESTS = {
    "TrainingLoop": "tests.test_visuals_training_loop", "OptimizerState": "tests.test_visuals_optimizer_state",
    "Schedule": "tests.test_visuals_schedule", "Loader": "tests.test_visuals_loader",
    "DtypeLadder": "tests.test_visuals_dtype_ladder",
}


@pytest.mark.parametrize("name", NAMES)
def test_visual_shows_the_trace_and_passes_lint(name: str) -> None:
    beat, options, problems, shown = run(name)
    assert problems == [], problems
    lesson, _ = gallery()
    spec = next(b.visual for b in lesson.beats if b.name == name)
    if spec.kind == "Title":
        assert shown["lines"] == list(spec.options["lines"])
        return
    if spec.kind in OWN_TRUTH_TESTS:  # what it writes (rates, ranges, dealt batches) has its own comparison
        import importlib

        own = importlib.import_module(OWN_TRUTH_TESTS[spec.kind])
        assert name in own.NAMES, f"{name}: {OWN_TRUTH_TESTS[spec.kind]} does not compare it with the trace"
        return
    compared = check_truth(beat, {**options, "_tensors": spec.tensors}, shown)
    assert compared > 0, f"{name}: the visual recorded nothing to compare with the trace"


def test_index_selects_what_torch_selected() -> None:
    for name in [n for n in NAMES if n.startswith("index_")]:
        beat, _, _, shown = run(name)
        src, res = job(name)["visual"]["tensors"]
        picked = [beat[src].at(*c) for c in shown["selected_cells"]]
        assert picked == beat[res].flat(), name


def test_mask_picks_the_true_cells_in_order() -> None:
    beat, _, _, shown = run("mask")
    assert [beat["x"].at(*c) for c in shown["picked_cells"]] == beat["picked"].flat()


def test_chunk_reports_fewer_chunks_than_asked() -> None:
    beat, _, _, shown = run("chunk")
    assert shown["asked"] == [beat.values["asked"], 3]


def test_transpose_shows_strides_contiguity_and_the_error() -> None:
    beat, _, _, shown = run("transpose")
    assert shown["stride"] == [list(beat["x"].stride), list(beat["t"].stride)]
    assert shown["contiguous"] == [True, False]
    assert shown["error"] == beat.values["error"] and "view" in shown["error"]


def test_expand_ghosts_share_memory_and_repeat_copies() -> None:
    beat, _, _, shown = run("expand")
    assert shown["shares"] == [True, False]
    assert 0 in beat["expanded"].stride and shown["ghosts"]


def test_broadcast_fail_lights_the_mismatched_axis() -> None:
    beat, _, _, shown = run("broadcast_fail")
    assert shown["mismatched_axes"] == [-1]
    assert shown["error"] == beat.values["error"]


def test_einsum_sums_the_right_letters() -> None:
    _, _, _, shown = run("attention")
    assert shown["free"] == list("bhqk") and shown["summed"] == ["d"]


def test_autograd_accumulates_into_grad() -> None:
    beat, _, _, shown = run("accumulate")
    first = beat["first"].values
    assert beat["x"].grad is not None
    assert beat["x"].grad.values == [2 * v for v in first]  # what the visual says: the second adds to the first
    assert shown["first_grad"] and shown["grad"]["x"]


def test_detach_is_shown_cut_off() -> None:
    _, _, _, shown = run("detach")
    assert shown["cut_tensors"] == ["cut"]


def test_bit_fields_of_70000() -> None:
    _, _, _, shown = run("bits")
    values = {(name, k): value for name, k, *_, value in shown["fields"]}
    assert values[("f32", 0)] == "70000" and values[("f16", 0)] == "inf" and values[("bf16", 0)] == "70144"


def test_a_code_panel_keeps_its_lines_in_order_across_a_blank_line() -> None:
    from scenes.mobjects.code_panel import CodePanel

    panel = CodePanel("def f(device):\n    x = 1\n\n    y = 2\n    return {}")
    tops = [line.get_top()[1] for line in panel.text]
    bottoms = [line.get_bottom()[1] for line in panel.text]
    assert all(bottoms[i] > tops[i + 1] for i in range(len(tops) - 1)), (tops, bottoms)
    assert panel.text[2].get_fill_opacity() == 0 and panel.panel.height > panel.text.height


def test_a_worked_sum_brackets_its_negative_factors() -> None:
    """`+ -0.34×0.35` reads as a typo (a review of 2.2.1 found it in the Linear picture): every negative factor
    but the very first is bracketed, in the Linear, MatmulSweep and Einsum worked sums alike."""
    from scenes.trace import sum_of_products

    terms = [["-1.35", "-0.20"], ["0.50", "0.35"], ["2.00", "-0.34"]]
    assert sum_of_products(terms, "×", 4, then="-0.10") == "-1.35×(-0.20) + 0.50×0.35 + 2.00×(-0.34) + (-0.10)"
    assert sum_of_products(terms, "·", 2) == "-1.35·(-0.20) + 0.50·0.35 + …"


def test_einsum_works_a_moved_cell_for_a_pure_reordering() -> None:
    """`ij->ji` moves A[1,0] to T[0,1]: the worked cell is the first that moved, not [0,0], which stays put; a
    product or a sum keeps the first cell."""
    from scenes.visuals.einsum import Einsum

    assert Einsum.worked_cell(["ij"], "ji", {"i": 2, "j": 3}, []) == (0, 1)
    assert Einsum.worked_cell(["bij"], "bji", {"b": 2, "i": 1, "j": 1}, []) == (0, 0, 0)  # nothing can move
    assert Einsum.worked_cell(["ik", "kj"], "ij", {"i": 2, "k": 2, "j": 2}, ["k"]) == (0, 0)
    assert Einsum.worked_cell(["ij"], "j", {"i": 2, "j": 3}, ["i"]) == (0,)


def test_a_show_caption_writes_traced_values() -> None:
    """`caption="total {{ total }} from {{ count }} rows"` is filled from the trace (a one-element tensor as its
    grid labels it, a returned number as it is), so a caption's number is computed; a name the beat did not
    return is refused naming it."""
    import torch

    from scenes.errors import VisualError
    from scenes.vocabulary import Show
    from tests.conftest_scenes import dry_beat

    def rows(device: str) -> dict:
        x = torch.tensor([[1.5, 2.0], [3.0, 4.25]], device=device)
        return {"x": x, "total": x.sum(), "count": x.shape[0]}

    _, shown, _ = dry_beat(rows, Show("x", code=False, caption="total {{ total }} from {{count}} rows"))
    assert shown["caption"] == "total 10.75 from 2 rows"
    with pytest.raises(VisualError, match="mean"):
        dry_beat(rows, Show("x", code=False, caption="the mean is {{ mean }}"))


def test_huge_whole_floats_keep_their_digits() -> None:
    """float32 stores 16777217 as 16777216: written 1.68e+07 the rounding a lesson shows is lost, so a whole
    float below a billion is written out as torch prints it; others from a million on stay scientific."""
    assert format_number(16777216.0) == "16777216."
    assert format_number(-3e6) == "-3000000."
    assert format_number(2.5e6 + 0.5) == "2.50e+06"
    assert format_number(1e30) == "1.00e+30"
    assert format_number(999999.0) == "999999.00"


def crossfades(name: str) -> list[tuple[str, str]]:
    """The texts gallery beat `name` fades out and in within one `play`, where they overlap on screen."""
    from manim import FadeIn, FadeOut, Text, tempconfig

    from render.checks import DRY_RUN
    from scenes.beat import BeatScene

    found: list[tuple[str, str]] = []

    def texts(animations: tuple, kind: type) -> list:
        return [t for a in animations if type(a) is kind for t in a.mobject.get_family() if isinstance(t, Text)]

    def box(m: object) -> tuple[float, float, float, float]:
        (x0, y0, _), (x1, y1, _) = m.get_corner((-1, -1, 0)), m.get_corner((1, 1, 0))  # type: ignore[attr-defined]
        return x0, y0, x1, y1

    class Watched(BeatScene):
        def play(self, *animations: object, **kwargs: object) -> None:
            for old in texts(animations, FadeOut):
                for new in texts(animations, FadeIn):
                    a, b = box(old), box(new)
                    if min(a[2], b[2]) - max(a[0], b[0]) > 0.05 and min(a[3], b[3]) - max(a[1], b[1]) > 0.05:
                        found.append((old.text, new.text))
            super().play(*animations, **kwargs)  # type: ignore[arg-type]

    with tempconfig(DRY_RUN):
        Watched(job(name)).render()
    return found


@pytest.mark.parametrize("name", ["dropout_train_eval", "linear_tokens", "positional_encoding", "broadcast",
                                  "einsum", "reduce_sum"])
def test_a_note_leaves_before_the_next_one_comes(name: str) -> None:
    """Two notes in one place never cross-fade (a review saw both at once for 0.6 s at each step)."""
    assert crossfades(name) == []
