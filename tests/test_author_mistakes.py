"""Ordinary mistakes a new author makes, each in a lesson written here and run through `render` (the path
`render serve` rebuilds with) and `render lint`: exit 1, the script's file:line, the fix in the message, and no
traceback or "bug" line."""

from __future__ import annotations

import re
import textwrap

import pytest

from tests.conftest import Project

pytestmark = pytest.mark.slow

HEAD = '''
import torch

from render.lesson import Lesson, expect
from scenes.vocabulary import MatmulSweep, Show

lesson = Lesson(objectives=["Mix"], recap=["Mixed"], challenge="Mix again.")

'''

MISTAKES = {
    "a visual given a name the compute does not return": (
        '''@lesson.beat("Mix", narration="The weights mix the values.",
             visual=MatmulSweep("weights", "values", "out"), slide=["mix"])
def mix(device):
    weights = torch.ones(2, 3, device=device)
    v = torch.ones(3, 2, device=device)
    return {"weights": weights, "v": v, "out": weights @ v}
''',
        "visual=MatmulSweep",
        "MatmulSweep is given 'values', which mix() does not return: it returns 'weights', 'v', 'out'"),
    "a visual given too few names": (
        '''@lesson.beat("Mix", narration="The weights mix the values.",
             visual=MatmulSweep("weights", "out"), slide=["mix"])
def mix(device):
    weights = torch.ones(2, 3, device=device)
    v = torch.ones(3, 2, device=device)
    return {"weights": weights, "v": v, "out": weights @ v}
''',
        "visual=MatmulSweep",
        "MatmulSweep takes (a, b, result); got ('weights', 'out')"),
    "a claim torch disagrees with": (
        '''@lesson.beat("Axes", narration="The last axis holds four numbers.", visual=Show("x", code=False),
             slide=["axes"])
def axes(device):
    x = torch.ones(2, 3, device=device)
    width = 4
    expect(x.shape[-1] == width,
           "the last axis holds four numbers")
    return {"x": x}
''',
        "expect(x.shape[-1] == width",
        "claim failed: the last axis holds four numbers (x.shape[-1] is 3, width is 4)"),
    "a misspelt name in the narration": (
        '''@lesson.beat("Sums", narration="""Each row sums.
    | The first row sums to {{ row_summ[0] }}.""",
             visual=Show("x", "row_sum", code=False), slide=["sums"])
def sums(device):
    x = torch.ones(2, 3, device=device)
    return {"x": x, "row_sum": x.sum(dim=1)}
''',
        "row_summ[0]",
        "narration speaks {{ row_summ }}, which this beat does not return: did you mean {{ row_sum }}? it returns "
        "row_sum, x (and {{ device }})"),
    "a name in the narration with the wrong case": (
        '''@lesson.beat("Keys", narration="""The keys transposed.
    | Their shape is {{ kT.shape }}.""", visual=Show("x", "kt", code=False), slide=["keys"])
def keys(device):
    x = torch.ones(2, 3, device=device)
    return {"x": x, "kt": x.T}
''',
        "kT.shape",
        "narration speaks {{ kT }}, which this beat does not return: did you mean {{ kt }}?"),
    "an index past the end in the narration": (
        '''@lesson.beat("Rows", narration="The eighth row is {{ x[7] }}.", visual=Show("x", code=False),
             slide=["rows"])
def rows(device):
    return {"x": torch.ones(2, 3, device=device)}
''',
        "x[7]",
        "x (shape 2x3) has 2 elements along this axis (index 0 to 1): [7] is not one of them"),
    "a compute that returns nothing": (
        '''@lesson.beat("Nothing", narration="Nothing returned.", visual=Show("x", code=False), slide=["none"])
def nothing(device):
    x = torch.ones(2, device=device)
''',
        '@lesson.beat("Nothing"',
        'nothing() returns nothing: end it with a dict of what the narration and the visual name, like return '
        '{"x": x}'),
    "a visual the vocabulary lacks": (
        '''from scenes.vocabulary import Atention  # noqa: E402

@lesson.beat("Heads", narration="Heads.", visual=Atention("x"), slide=["heads"])
def heads(device):
    return {"x": torch.ones(2, device=device)}
''',
        "from scenes.vocabulary import Atention",
        "no visual 'Atention' in the vocabulary: did you mean Activation? it has Activation, AutogradGraph"),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_a_mistake_is_a_lesson_error_with_its_line_and_its_fix(project: Project, mistake: str) -> None:
    body, marker, fix = MISTAKES[mistake]
    project.script("broken").unlink(missing_ok=True)
    text = textwrap.dedent(HEAD) + body
    project.script().write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if marker in row)
    for command in (["1.1.1", "--only", "video"], ["lint", "1.1.1"]):
        result = project.render(*command, "--voice", "none", check=False)
        out = " ".join((result.stdout + result.stderr).split())
        assert result.returncode == 1, out
        assert "Traceback" not in out and "bug in Torchenstein" not in out, out
        assert re.search(rf"scripts/module1/tiny\.py:{line}\b", out), (line, out)
        assert fix in out, out
