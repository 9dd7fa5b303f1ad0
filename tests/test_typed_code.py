"""A beat's code as a learner types it (scenes.typed_code): what the code panel, the decks and the notebook show."""

from __future__ import annotations

import ast
import textwrap

import pytest
import torch

from render.course import load_course
from render.lesson import load_lesson
from scenes.typed_code import returned_names, typed_code

SOURCE = '''\
def shape_error(device):
    """The docstring is the studio's."""
    from render.lesson import expect

    A = torch.ones(2, 3, device=device)  # noqa: E501
    # a comment the author wrote for learners stays
    error = capture_error(lambda: A @ A)
    for i in range(2):
        expect(A[i].sum() == 3, "each row sums to 3")
    if A.is_cuda:
        where = "gpu"
    else:
        expect(A.device.type == "cpu", "on the cpu")
    expect("cannot be multiplied" in error, "the error names both shapes")
    return {"A": A, "error": error, "fixed": A @ A.T, "rows": 2}
'''

TRACED = {"error": "RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)", "rows": 2}


def test_the_panel_shows_the_computation_without_the_machinery() -> None:
    assert typed_code(SOURCE, TRACED) == textwrap.dedent('''\
        A = torch.ones(2, 3, device=device)
        # a comment the author wrote for learners stays
        A @ A  # RuntimeError: mat1 and mat2 shapes cannot be …
        if A.is_cuda:
            where = "gpu"
        fixed = A @ A.T''')


def test_the_notebook_form_runs_and_prints_the_error() -> None:
    code = typed_code(SOURCE, TRACED, runnable=True)
    assert "try:\n    A @ A\nexcept Exception as error:\n    print(" in code
    out: list[str] = []
    torch = pytest.importorskip("torch")
    exec(code, {"torch": torch, "device": "cpu", "print": out.append})  # noqa: S102 (the test's own source)
    assert out == [TRACED["error"]]
    assert returned_names(SOURCE) == {"A": "A", "fixed": "fixed"}  # the error is printed where it raises


def test_a_comment_above_the_first_line_stays() -> None:
    source = ('def f(device):\n    # no GPU here: the meta device stands in\n    x = torch.ones(2, device="meta")\n'
              '    expect(x.is_meta)\n    return {"x": x}')
    assert typed_code(source) == '# no GPU here: the meta device stands in\nx = torch.ones(2, device="meta")'
    docstring = 'def f(device):\n    """Why."""\n    # kept\n    y = 1\n    return {"y": y}'
    assert typed_code(docstring) == "# kept\ny = 1"


def test_a_captured_error_the_code_reads_later_stays_as_written() -> None:
    source = ('def f(device):\n    e = capture_error(lambda: g())\n    short = e.split(":")[0]\n'
              '    return {"short": short}')
    assert typed_code(source) == 'e = capture_error(lambda: g())\nshort = e.split(":")[0]'


def test_a_card_shows_no_code_and_a_helper_result_is_named() -> None:
    assert typed_code("def opening(device):\n    return {}\n") == ""
    source = "def timing(device):\n    n = 1024\n    return race(n, device)"
    assert typed_code(source) == "n = 1024\nresult = race(n, device)"
    assert returned_names(source) is None
    assert typed_code("not python (") == "not python ("


@pytest.mark.parametrize("entry", [e for m in load_course().modules for e in m.lessons if e.scripted],
                         ids=lambda e: e.id)
def test_every_lesson_beat_types_as_valid_python_without_checks(entry: object) -> None:
    for beat in load_lesson(entry.script).beats:  # type: ignore[attr-defined]
        code = typed_code(beat.source, {})
        tree = ast.parse(code)  # valid Python
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert "expect" not in calls, (beat.name, code)
        assert not any(isinstance(n, ast.Return) for n in tree.body), (beat.name, code)
        assert "noqa" not in code and "from render.lesson" not in code and "from scenes" not in code, (beat.name, code)


def test_an_import_of_the_studio_that_the_code_reads_stays() -> None:
    """The course map beat reads the studio's manifest: its import is the learner's code (the notebook runs it);
    the checks' import is machinery and goes."""
    shown = typed_code('''\
def blueprint(device):
    from render.course import load_course
    from render.lesson import expect
    from scenes.vocabulary import Show
    course = load_course()
    expect(course.modules, "the course has modules")
    return {"course": course}
''')
    assert shown.splitlines() == ["from render.course import load_course", "course = load_course()"]


def test_returned_values_never_rebind_a_name_a_later_one_reads() -> None:
    """`"idx": idx.tolist()` written first would turn `idx` into a list before `bincount(idx)` reads it (2.3.1's
    notebook failed so): the assignment that rebinds comes after every one that reads the name."""
    shown = typed_code('''\
def challenge(device):
    idx = torch.tensor([0, 4, 4, 7], device=device)
    return {"idx": idx.tolist(), "row": int(torch.bincount(idx).argmax()), "n": len(idx)}
''')
    assert shown.splitlines()[1:] == ["row = int(torch.bincount(idx).argmax())", "n = len(idx)", "idx = idx.tolist()"]
    scope: dict[str, object] = {"torch": torch, "device": "cpu"}
    exec(shown, scope)  # noqa: S102 (the typed code runs as the notebook runs it)
    assert (scope["row"], scope["n"], scope["idx"]) == (4, 4, [0, 4, 4, 7])


def test_a_captured_error_a_returned_value_reads_keeps_its_name() -> None:
    """`"complaint": error.split(...)` reads the captured text: the capture stays as written (`except ... as
    error` would unbind it at the end of the except block: 2.1.2's notebook failed so)."""
    source = '''\
def broken(device):
    error = capture_error(lambda: torch.ones(2) @ torch.ones(3))
    return {"complaint": error.split(": ", 1)[-1]}
'''
    for runnable in (False, True):
        assert typed_code(source, {}, runnable=runnable).splitlines() == [
            "error = capture_error(lambda: torch.ones(2) @ torch.ones(3))", 'complaint = error.split(": ", 1)[-1]']


def test_lint_names_a_helper_the_code_panel_calls_but_never_shows(tmp_path: object) -> None:
    """A code panel is code the learner types: a call to one of the script's own helpers that the panel does
    not define is a lint problem naming the helper and its line; a panel that defines it, or a beat whose
    visual draws no code, is not."""
    from pathlib import Path

    from render.checks import code_findings, script_helpers

    script = Path(str(tmp_path)) / "helpers_lesson.py"
    script.write_text(textwrap.dedent('''\
        import torch
        from render.lesson import Lesson
        from scenes.vocabulary import Loader, Show

        lesson = Lesson(objectives=["Count"], recap=["Counted"])


        def count(m):
            return sum(p.numel() for p in m.parameters())


        @lesson.beat("Counted", narration="There are {{ n }} parameters.", visual=Show("n"))
        def counted(device):
            n = count(torch.nn.Linear(2, 3))
            return {"n": n}


        @lesson.beat("Not drawn", narration="There are {{ n }} parameters.", visual=Show("n", code=False))
        def quiet(device):
            return {"n": count(torch.nn.Linear(2, 3))}


        @lesson.beat("Defined", narration="There are {{ n }} parameters.", visual=Show("n"))
        def defined(device):
            def count(m):
                return sum(p.numel() for p in m.parameters())
            return {"n": count(torch.nn.Linear(2, 3))}


        @lesson.beat("Dealt", narration="Dealt {{ n }} items.", visual=Loader("data", "order", "sizes"))
        def dealt(device):
            n = count(torch.nn.Linear(2, 3))
            return {"data": torch.arange(n), "order": torch.arange(n), "sizes": torch.tensor([n]), "n": n}
        '''))
    lesson = load_lesson(script)
    helpers = script_helpers(script)
    assert helpers == {"count": 8}, helpers
    found = {b.name: code_findings(b, {"source": b.source, "values": {}}, helpers) for b in lesson.beats}
    assert found["quiet"] == [] and found["defined"] == []
    for name in ("counted", "dealt"):  # Loader draws the beat's code beside the dataset, as Show does
        (problem,) = found[name]
        assert "calls `count` (the script's helper at line 8) without showing it" in problem
