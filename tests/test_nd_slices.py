"""3-D and 4-D tensors drawn as 2-D slices: a 3-D tensor's slices side by side, a 4-D tensor's in a grid (rows: axis
0, columns: axis 1), each headed by its index. Checked on the grids a real `Show` dry run puts on screen (and on
grids built directly): every value inside the frame, no two texts overlapping, every cell saying what the trace
holds at its index, every slice under its own header, and the cells drawn being the ones `grid_cells` counts."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from scenes.trace import BeatTrace, TensorEntry

FRAME_W, FRAME_H = 14.222, 8.0
TOLERANCE = 0.02

# shape -> what the slices are called: their headers, in drawing order
SHAPES: dict[tuple[int, ...], list[str]] = {
    (2, 3, 4): ["[0]", "[1]"],
    (2, 2, 3, 3): ["[0, 0]", "[0, 1]", "[1, 0]", "[1, 1]"],
    (1, 2, 2, 2): ["[0, 0]", "[0, 1]"],
    (2, 6, 2): ["[0]", "[1]"],  # a batch of two sentences of six tokens
    (1, 3, 4): ["[0]"],  # a size-one leading axis
    (3, 1, 4): ["[0]", "[1]", "[2]"],  # size-one rows
    (3, 4, 1): ["[0]", "[1]", "[2]"],  # size-one columns
    (9, 2, 3): ["[0]", "[8]"],  # a long leading axis: first and last slices, an ellipsis between
    (5, 2, 2, 2): ["[0, 0]", "[0, 1]", "[4, 0]", "[4, 1]"],  # a long axis 0 of a 4-D tensor
    (2, 7, 2, 2): ["[0, 0]", "[0, 6]", "[1, 0]", "[1, 6]"],  # a long axis 1
    (2, 8, 9): ["[0]", "[1]"],  # slices elided inside (rows and columns)
}


def values(shape: tuple[int, ...]) -> Any:
    """Distinct values of mixed sign and width, so a misplaced cell shows."""
    import torch

    n = 1
    for s in shape:
        n *= s
    return (torch.arange(n, dtype=torch.float32).reshape(shape) * 1.25 - 7.5).contiguous()


def entry(shape: tuple[int, ...], name: str = "x") -> TensorEntry:
    from render.trace import describe_tensor

    return TensorEntry.from_json(name, json.loads(json.dumps(describe_tensor(values(shape), {}, name))))


def show_dry_run(shape: tuple[int, ...], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, BeatTrace, Any, list[str]]:
    """A `Show("x", code=False)` beat of a tensor of `shape`, traced by torch and dry-run by `BeatScene` as a clip
    worker runs it; (the grid it drew, the trace, the visual, the lint problems)."""
    import scenes.visuals.show as show
    from scenes.mobjects.tensor_grid import TensorGrid
    from scenes.vocabulary import Show
    from tests.conftest_scenes import dry_scene

    built: list[TensorGrid] = []

    class Recorded(TensorGrid):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(show, "TensorGrid", Recorded)

    def slices(device: str) -> dict[str, Any]:
        return {"x": values(shape)}

    data, scene = dry_scene(slices, Show("x", code=False))
    assert len(built) == 1 and scene.visual is not None
    return built[0], BeatTrace.from_json(data), scene.visual, list(scene.lint_problems)


def box(m: Any) -> tuple[float, float, float, float]:
    (x0, y0, _), (x1, y1, _) = m.get_critical_point((-1, -1, 0)), m.get_critical_point((1, 1, 0))
    return x0, y0, x1, y1


def overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > TOLERANCE and min(a[3], b[3]) - max(a[1], b[1]) > TOLERANCE


def text_of(t: Any) -> str:
    return str(getattr(t, "original_text", t.text))


def check_grid(grid: Any, x: TensorEntry, headers: list[str], in_frame: bool = True) -> None:
    """Every value visible, inside the frame, apart from every other text; each says what the trace holds; the
    cells are the ones `grid_cells` counts; each slice sits under its own header, a clear gap from the next."""
    from manim import Text

    from scenes.visuals.base import grid_cells

    assert list(grid.cells) == grid_cells(x.shape), "the grid draws other cells than steps() counts"
    assert grid.shown == {i: x.label(*i) for i in grid.cells}
    value_texts = []
    for index, cell in grid.cells.items():
        text = cell[1]
        assert text_of(text) == x.label(*index), f"x{list(index)} shows {text_of(text)}"
        assert text.get_fill_opacity() > 0.5 and cell[0].get_stroke_opacity() > 0.5, f"x{list(index)} is hidden"
        value_texts.append(text)
    if in_frame:
        for text in value_texts:
            x0, y0, x1, y1 = box(text)
            assert max(abs(x0), abs(x1)) <= FRAME_W / 2 and max(abs(y0), abs(y1)) <= FRAME_H / 2, \
                f"{text_of(text)} is outside the frame"
    texts = [t for t in grid.get_family() if isinstance(t, Text) and t.text.strip()]
    boxes = [box(t) for t in texts]
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            assert not overlaps(boxes[i], boxes[j]), f"{text_of(texts[i])!r} overlaps {text_of(texts[j])!r}"
    # each slice: its header (one text per leading axis) above its own cells, horizontally over them
    lead = len(x.shape) - 2
    parts = [grid.axis_labels[a] for a in range(lead)]
    found = [" ".join(text_of(p[k]) for p in parts) for k in range(len(parts[0]))]
    assert found == headers
    prefixes = list(dict.fromkeys(i[:lead] for i in grid.cells))
    assert len(prefixes) == len(headers)
    spans = {}
    for k, prefix in enumerate(prefixes):
        cells = [box(c[0]) for i, c in grid.cells.items() if i[:lead] == prefix]
        span = (min(b[0] for b in cells), min(b[1] for b in cells), max(b[2] for b in cells), max(b[3] for b in cells))
        spans[prefix] = span
        header = box(VGroup_of(p[k] for p in parts))
        assert header[1] >= span[3] - TOLERANCE, f"header {headers[k]} is not above its slice"
        assert header[0] < span[2] and header[2] > span[0], f"header {headers[k]} is not over its slice"
        assert [int(re.findall(r"\d+", text_of(p[k]))[-1]) for p in parts] == list(prefix)
    # a clear gap between slices: wider than half a cell, so no column (or row) reads as the next slice's
    x0, y0, x1, y1 = box(next(iter(grid.cells.values()))[0])
    items = list(spans.values())
    for a in items:
        for b in items:
            if a is b:
                continue
            if min(a[3], b[3]) > max(a[1], b[1]):  # in one row of slices
                gap = max(b[0] - a[2], a[0] - b[2])
                assert gap > 0.5 * (x1 - x0), f"slices side by side {gap:.2f} apart, cells {x1 - x0:.2f} wide"
            else:
                gap = max(b[1] - a[3], a[1] - b[3])
                assert gap > 0.5 * (y1 - y0), f"slices one above the other {gap:.2f} apart"


def VGroup_of(mobs: Any) -> Any:  # noqa: N802
    from manim import VGroup

    return VGroup(*mobs)


@pytest.mark.parametrize("shape", list(SHAPES), ids=lambda s: "x".join(map(str, s)))
def test_show_draws_every_slice_apart_under_its_index(shape: tuple[int, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    grid, beat, visual, problems = show_dry_run(shape, monkeypatch)
    assert problems == []
    x = beat["x"]
    assert visual.shown["x"] == {",".join(map(str, i)): x.label(*i) for i in grid.cells}
    check_grid(grid, x, SHAPES[shape])


def test_axis_names_head_the_slices_with_their_letters() -> None:
    from scenes.mobjects.tensor_grid import TensorGrid

    x = entry((2, 6, 2))
    grid = TensorGrid(x, axis_names="BTD")
    check_grid(grid, x, ["B=0", "B=1"], in_frame=False)
    assert [text_of(t) for t in grid.axis_labels[2] if text_of(t) == "D"] == ["D", "D"]  # each slice names its axes
    q = entry((1, 2, 2, 3), "q")
    grid = TensorGrid(q, axis_names="bhqd")
    check_grid(grid, q, ["b=0 h=0", "b=0 h=1"], in_frame=False)


def test_the_grid_of_slices_follows_axis_0_down_and_axis_1_across() -> None:
    from scenes.mobjects.tensor_grid import TensorGrid

    x = entry((2, 2, 3, 3))
    grid = TensorGrid(x)
    corner = {p: grid.cell(*p, 0, 0).get_center() for p in [(0, 0), (0, 1), (1, 0), (1, 1)]}
    assert corner[(0, 1)][0] > corner[(0, 0)][0] and abs(corner[(0, 1)][1] - corner[(0, 0)][1]) < 1e-6
    assert corner[(1, 0)][1] < corner[(0, 0)][1] and abs(corner[(1, 0)][0] - corner[(0, 0)][0]) < 1e-6
    assert corner[(1, 1)][0] > corner[(1, 0)][0]


def test_limits_elide_slices_as_grid_cells_counts() -> None:
    """The limits a visual passes (Einsum: two slices, two blocks) elide the same slices in the grid as in
    `grid_cells`, which `steps()` counts."""
    from scenes.mobjects.tensor_grid import TensorGrid
    from scenes.visuals.base import grid_cells

    for shape in [(4, 3, 5), (3, 3, 2, 2), (1, 5, 2, 6)]:
        x = entry(shape)
        limits = {"max_rows": 2, "max_cols": 3, "max_slabs": 2, "max_blocks": 2}
        grid = TensorGrid(x, **limits)
        assert list(grid.cells) == grid_cells(shape, **limits)
        assert grid.shown_values() == {",".join(map(str, i)): x.label(*i) for i in grid.cells}


@pytest.mark.parametrize("rows", [1, 2, 3])
def test_slices_laid_out_again_stay_apart(rows: int) -> None:
    """`arrange_slices`: a visual with little width stands a 3-D grid's slices in a column (Einsum does)."""
    from scenes.mobjects.tensor_grid import TensorGrid

    x = entry((3, 2, 3))
    grid = TensorGrid(x).scale(0.7)
    grid.arrange_slices(rows)
    assert grid.slice_rows == rows
    check_grid(grid, x, ["[0]", "[1]", "[2]"], in_frame=False)
    assert box(grid.tag)[1] > box(grid.body)[3] and box(grid.badge)[3] < box(grid.body)[1]
    tops = sorted({round(grid.cell(d, 0, 0).get_center()[1], 3) for d in range(3)})
    assert len(tops) == rows


def test_a_grid_of_tiny_values_shows_their_digits_not_zeros() -> None:
    """Adam's second moment after one step is about 1e-5: at two decimals every cell would read 0.00. The grid
    takes the decimals that show its largest value to two significant digits; a grid with one ordinary value
    keeps the two decimals asked for."""
    import torch

    from render.trace import describe_tensor
    from scenes.mobjects.tensor_grid import TensorGrid

    def grid_of(t: Any) -> TensorGrid:
        return TensorGrid(TensorEntry.from_json("v", json.loads(json.dumps(describe_tensor(t, {}, "v")))))

    tiny = grid_of(torch.tensor([[3.2e-5, -1.1e-6], [0.0, 2.5e-5]]))
    assert tiny.digits == 6
    assert tiny.shown[(0, 0)] == "0.000032" and tiny.shown[(1, 0)] == "0.000000"
    assert all(label != "0.00" for label in tiny.shown.values())
    assert grid_of(torch.tensor([0.004, 0.001])).shown[(0,)] == "0.0040"
    ordinary = grid_of(torch.tensor([0.5, 3.2e-5]))
    assert ordinary.digits == 2 and ordinary.shown[(1,)] == "0.00"
    assert grid_of(torch.zeros(3)).shown[(0,)] == "0.00"


def test_show_draws_a_short_vector_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight per-token losses drawn as six and an ellipsis hid the tokens a narration named (2.5.3): a vector up
    to ten long is drawn whole; a longer one keeps its first and last values around the ellipsis."""
    grid, _, _, problems = show_dry_run((8,), monkeypatch)
    assert sorted(grid.shown) == [(i,) for i in range(8)] and problems == []
    grid, _, _, _ = show_dry_run((12,), monkeypatch)
    assert (0,) in grid.shown and (11,) in grid.shown and len(grid.shown) < 12
