"""The small-text lint names the element a text is in and what usually fixes it, with the words as written,
and a beat names a lasting problem once, at the step that first shows it."""

from __future__ import annotations

from scenes.beat import lasting
from scenes.lint import lint_mobjects
from scenes.mobjects.code_panel import CodePanel
from scenes.mobjects.tensor_grid import TensorGrid
from scenes.trace import TensorEntry


def test_small_code_names_the_code_panel_and_its_fixes() -> None:
    panel = CodePanel("def f(device):\n    return {'x': 1}  # the output has the input's shape").scale(0.3)
    [problem] = lint_mobjects([panel])
    assert "in the code panel: shorten the compute function, or pass code=False" in problem
    assert "'def f(device):'" in problem  # spaces kept


def test_small_grid_names_the_grid_and_its_fixes() -> None:
    entry = TensorEntry.from_json("x", {"shape": [2, 3], "dtype": "float32", "device": "cpu", "stride": [3, 1],
                                        "values": [[1.5, 2.5, 3.5], [4.5, 5.5, 6.5]]})
    grid = TensorGrid(entry).scale(0.2)
    problems = [p for p in lint_mobjects([grid]) if "px at 480p" in p]
    assert problems and "in a tensor grid: show fewer tensors in this visual, fewer decimals" in problems[0]


def test_a_problem_that_lasts_is_the_same_problem_at_every_step() -> None:
    first = "step 1: 3 value texts under 9 px at 480p, the smallest 'a' 8.1 px in the code panel: shorten it"
    later = "step 4: 5 value texts under 9 px at 480p, the smallest 'b' 7.9 px in the code panel: shorten it"
    assert lasting(first) == lasting(later)
    assert lasting("step 2: text 'a' overlaps 'b'") != lasting(first)
