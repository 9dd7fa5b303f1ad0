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


def test_a_code_panel_that_cuts_lines_is_a_problem_and_a_wrapped_comment_stays_a_comment() -> None:
    """A panel draws at most 18 lines: the rest behind '...' is code the learner never sees, so lint names it;
    a long comment wrapped onto the next line keeps its `#`."""
    source = "\n".join(f"x{i} = {i}" for i in range(25))
    [problem] = lint_mobjects([CodePanel(source)])
    assert "the code panel hides 8 of its 25 lines" in problem
    assert lint_mobjects([CodePanel("\n".join(source.splitlines()[:18]))]) == []
    wrapped = CodePanel("A @ A  # RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)",
                        max_chars=40).drawn
    assert len(wrapped) > 1 and all(line.lstrip().startswith("#") for line in wrapped[1:]), wrapped


def test_a_wrapped_comment_line_stays_a_muted_comment_at_its_indent() -> None:
    """A comment on a line of its own wraps into comment lines at its own indent (drawn muted, like the first),
    at the top level as inside a block."""
    from scenes import theme

    for indent in ("", "    "):
        panel = CodePanel(f"{indent}# other: the GPU if there is one, else the meta device (shapes, no data)\nx = 1",
                          max_chars=40)
        comment = panel.drawn[:-1]
        assert len(comment) > 1 and all(line.startswith(indent + "#") for line in comment), panel.drawn
        assert all(text.get_color().to_hex().lower() == theme.MUTED for text in panel.text[: len(comment)])
