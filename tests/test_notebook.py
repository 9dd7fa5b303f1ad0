"""The lesson notebooks, checked for what they are: cells read back with nbformat, executed with nbclient,
and what they print compared with the lesson's trace (same device: the CPU here)."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path
from typing import Any

import pytest

from render import notebook
from render.course import LessonEntry, load_course
from render.lesson import Lesson, capture_error, load_lesson
from scenes.typed_code import returned_names, typed_code

FIXTURE = '''\
"""A tiny lesson for the notebook tests: a helper, a constant, studio imports inside and outside a beat."""

import math

import torch

from _tiny_helpers import halve
from render.lesson import Lesson, capture_error
from scenes.vocabulary import Show, Title

SCALE = 2.0

lesson = Lesson(
    objectives=["Double a tensor", "Read its gradient"],
    recap=["`doubled` multiplies by two"],
    challenge="Triple a tensor instead.",
)


def doubled(t):
    return t * SCALE


@lesson.beat("Start", narration="We start. | Then we go.", visual=Title(heading="Start", lines=["a", "b"]),
             slide=["a first bullet"])
def start(device):
    return {}


@lesson.beat("Doubling", narration="We double {{ x.numel }} random numbers.", visual=Show("x", "y"),
             slide=["`doubled(x)` is `x * 2`"])
def doubling(device):
    from render.lesson import expect

    x = torch.rand(2, 3, device=device)
    y = doubled(x)
    expect(torch.equal(y, x * 2), "doubling doubles every number")
    error = capture_error(lambda: x @ x)
    return {"x": x, "y": y, "back": halve(y), "error": error, "root": math.sqrt(2), "shape": y.shape, "dtype": y.dtype}


@lesson.beat("A gradient", narration="The gradient of the sum is two everywhere.", visual=Show("w"))
def gradient(device):
    w = torch.ones(3, device=device, requires_grad=True)
    loss = (w * 2).sum()
    loss.backward()
    return {"w": w, "loss": loss, "half": torch.tensor([1.5, -0.25], dtype=torch.bfloat16)}
'''

HELPERS = '''\
"""A helper module kept beside the tiny lesson; it checks its own claim with the studio's expect."""

from render.lesson import expect


def halve(t):
    half = t / 2
    expect(bool((half * 2 == t).all()), "halving undoes doubling")
    return half
'''


@pytest.fixture(scope="module")
def fixture_lesson(tmp_path_factory: pytest.TempPathFactory) -> tuple[LessonEntry, Lesson, dict[str, Any]]:
    from render.trace import trace_lesson

    script = tmp_path_factory.mktemp("scripts") / "tiny_lesson.py"
    script.write_text(FIXTURE, encoding="utf-8")
    (script.parent / "_tiny_helpers.py").write_text(HELPERS, encoding="utf-8")
    lesson = load_lesson(script)
    entry = LessonEntry("9.1.1", "tiny-lesson", "A Tiny Lesson", "Doubling, `torch` style.", 9, "9.1")
    return entry, lesson, trace_lesson(lesson, "cpu")


def code_cells(nb: Any) -> list[Any]:
    return [c for c in nb.cells if c.cell_type == "code"]


# --------------------------------------------------------------------------------------------- truth


def _restore(value: Any) -> Any:
    """Trace JSON values back to Python numbers (nan and inf are stored as strings)."""
    if isinstance(value, list):
        return [_restore(v) for v in value]
    if value in ("nan", "inf", "-inf"):
        return float(value)
    return value


def parse_printed(text: str) -> dict[str, dict[str, Any]]:
    """What `show` printed, by name: a tensor's header facts and printed values, or a value's repr."""
    blocks: dict[str, dict[str, Any]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        header = re.fullmatch(r"(\w+): (shape \(.*)", line)
        grad = re.fullmatch(r"(\w+)\.grad:", line)
        value = re.fullmatch(r"(\w+) = (.*)", line)
        if header:
            facts = header.group(2).split(", ")
            shape_end = next(i for i, f in enumerate(facts) if f.endswith(")"))
            blocks[header.group(1)] = {
                "shape": ", ".join(facts[: shape_end + 1]).removeprefix("shape "),
                "facts": facts[shape_end + 1 :],
                "body": [],
                "grad": [],
            }
            current = blocks[header.group(1)]["body"]
        elif grad:
            current = blocks[grad.group(1)]["grad"]
        elif value:
            blocks[value.group(1)] = {"repr": value.group(2), "more": []}
            current = blocks[value.group(1)]["more"]  # a module's repr goes on over lines
        else:
            assert current is not None, f"unexpected printed line {line!r}"
            current.append(line)
    return blocks


def tensor_repr(described: dict[str, Any]) -> str:
    """How torch prints a traced tensor: rebuilt from the trace's values, dtype and shape."""
    import torch

    t = torch.tensor(_restore(described["values"]), dtype=getattr(torch, described["dtype"]))
    return repr(t.reshape(described["shape"]))


def value_reprs(value: Any) -> set[str]:
    """The reprs a traced value may have had (the trace stores sizes and tuples as lists, dtypes as text)."""
    shown = {repr(_restore(value))}
    if isinstance(value, list):
        shown |= {repr(tuple(value)), f"torch.Size({value!r})"}
    if isinstance(value, str):
        shown |= {f"torch.{value}", f"device(type='{value}')"}
    return shown


def assert_printed_is_trace(printed: str, traced: dict[str, Any], unsteady: set[str] = frozenset()) -> int:
    """Each tensor and value a beat printed equals its trace; returns how many were compared. Names in
    `unsteady` (timings: they differ between two traces too) are checked for presence only."""
    # what show() prints (all it returned, for a function returning a helper's dict); a captured error is printed
    # where it raises
    names = returned_names(traced["source"])
    shown = {k: k for k in [*traced["tensors"], *traced["values"]]} if names is None else names
    lines = printed.splitlines()
    header = re.compile(rf"({'|'.join(map(re.escape, shown))})(: shape | = )") if shown else None
    at = next((i for i, line in enumerate(lines) if header and header.match(line)), len(lines))
    raised, printed = "\n".join(lines[:at]), "\n".join(lines[at:])
    blocks = parse_printed(printed)
    assert set(blocks) == set(shown), traced["name"]
    modules = {**traced.get("modules", {}), **traced.get("state_dicts", {})}
    assert set(shown) <= set(traced["tensors"]) | set(traced["values"]) | set(modules), traced["name"]
    compared = 0
    for name, module in traced.get("modules", {}).items():
        if name in shown:  # printed as torch prints a module: its class, then every leaf module as traced
            text = "\n".join([blocks[name]["repr"], *blocks[name]["more"]])
            assert text.startswith(f"{module['class']}("), (name, text)
            assert all(leaf in text for leaf in leaves(module["tree"])), (name, text)
            compared += 1
    for name, value in traced["values"].items():
        if name not in shown and name not in unsteady:
            assert isinstance(value, str) and value in raised, (name, value, raised)
            compared += 1
    for name, described in traced["tensors"].items():
        block = blocks[name]
        assert block["shape"] == repr(tuple(described["shape"])), name
        assert block["facts"][:2] == [described["dtype"], described["device"]], name
        assert ("requires_grad" in block["facts"]) == described["requires_grad"], name
        grad_fn = next((f.removeprefix("grad_fn=") for f in block["facts"] if f.startswith("grad_fn=")), None)
        assert grad_fn == described["grad_fn"], name
        if name in unsteady or described["truncated"]:
            continue
        assert "\n".join(block["body"]) == tensor_repr(described), name
        if described["grad"] is not None:
            assert "\n".join(block["grad"]) == tensor_repr(described["grad"]), name
        compared += 1
    for name, value in traced["values"].items():
        if name in shown and name not in unsteady:
            assert blocks[name]["repr"] in value_reprs(value), (name, blocks[name]["repr"], value)
            compared += 1
    return compared


def leaves(tree: dict[str, Any]) -> list[str]:
    """The reprs of a traced module tree's leaf modules (`Linear(in_features=4, ...)`)."""
    children = tree.get("children") or []
    return [tree["repr"]] if not children else [r for child in children for r in leaves(child)]


def unsteady_names(first: dict[str, Any], second: dict[str, Any]) -> dict[str, set[str]]:
    """Per beat, the entries two traces of one lesson disagree on (timings)."""
    out: dict[str, set[str]] = {}
    for a, b in zip(first["beats"], second["beats"], strict=True):
        out[a["name"]] = {k for k in a["tensors"] if a["tensors"][k]["values"] != b["tensors"][k]["values"]}
        out[a["name"]] |= {k for k in a["values"] if a["values"][k] != b["values"][k]}
    return out


# --------------------------------------------------------------------------------------------- units


def test_notebook_cells_follow_the_lesson(
    fixture_lesson: tuple[LessonEntry, Lesson, dict[str, Any]], tmp_path: Path
) -> None:
    import nbformat

    entry, lesson, trace = fixture_lesson
    path = notebook.write_notebook(entry, lesson, trace, tmp_path / "lesson.ipynb")
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    title = nb.cells[0]
    assert title.cell_type == "markdown" and title.source.startswith("# 9.1.1 · A Tiny Lesson")
    assert all(f"- {o}" in title.source for o in lesson.objectives)
    device = code_cells(nb)[0].source
    assert device.index("torch.cuda.is_available()") < device.index("mps") < device.index('device = "cpu"')
    # the helper module beside the script is written beside the notebook before the script's imports run
    kinds = [c.metadata.get("studio", {}).get("cell") for c in code_cells(nb)]
    assert kinds[:4] == ["device", "helpers", "_tiny_helpers.py", "script helpers"]
    assert code_cells(nb)[2].source == "%%writefile _tiny_helpers.py\n" + HELPERS.rstrip()
    assert "from _tiny_helpers import halve" in code_cells(nb)[3].source
    beats = [c for c in nb.cells if "beat" in c.metadata.get("studio", {})]
    # a card that computes nothing (`return {}`) has no code cell; every other beat has one
    computing = [(n, b, t) for n, (b, t) in enumerate(zip(lesson.beats, trace["beats"], strict=True))
                 if typed_code(t["source"], t["values"]).strip()]
    assert [c.metadata.studio.beat for c in beats] == [b.name for _, b, _ in computing]
    assert len(computing) < len(lesson.beats)
    for (number, beat, traced), cell in zip(computing, beats, strict=True):
        # seeded as the trace was, the code as the learner types it (no def, no checks, no return), then show()
        typed = typed_code(traced["source"], traced["values"], runnable=True)
        assert cell.source.startswith(f"torch.manual_seed({trace['seed'] + number})  # the seed this beat was "
                                      f"traced with\n{typed}\n\nshow(")
        assert "def " not in typed and "expect(" not in typed and "return" not in typed, typed
        text = nb.cells[nb.cells.index(cell) - 1]
        assert text.cell_type == "markdown" and text.source.startswith(f"## {number + 1}. {beat.title}")
        assert "|" not in text.source and "{{" not in text.source
        assert all(f"- {b}" in text.source for b in beat.bullets)
    texts = {c.id: c.source for c in nb.cells if c.cell_type == "markdown"}
    assert "We start. Then we go." in texts["beat-1-text"]
    assert "We double 6 random numbers." in texts["beat-2-text"]
    # the doubling beat as typed: its studio import and its check hidden, the captured error in a try
    assert "from render" not in beats[0].source and "expect" not in beats[0].source
    assert "try:\n    x @ x\nexcept Exception as error:" in beats[0].source
    assert "back = halve(y)" in beats[0].source and "show(x=x, y=y, back=back" in beats[0].source
    recap, challenge, empty = nb.cells[-3:]
    assert recap.source.startswith("## Recap") and "- `doubled` multiplies by two" in recap.source
    assert challenge.source == "## Your challenge\n\nTriple a tensor instead."
    assert empty.cell_type == "code" and empty.source == ""
    # the notebook runs without the studio: no studio import outside the shim that stands in for it
    for cell in code_cells(nb):
        for line in cell.source.splitlines():
            if re.match(r"\s*(from|import)\s+(render|scenes)\b", line):
                assert line.strip() == "from render.lesson import expect", line


def test_prelude_has_what_the_beats_need(fixture_lesson: tuple[LessonEntry, Lesson, dict[str, Any]]) -> None:
    entry, lesson, trace = fixture_lesson
    assert lesson.script is not None
    prelude = notebook.script_prelude(lesson.script)
    assert "import math" in prelude and "import torch" in prelude and "SCALE = 2.0" in prelude
    assert "def doubled(t):" in prelude
    assert "lesson" not in prelude and "scenes" not in prelude and "render" not in prelude
    assert "def start" not in prelude  # beats are their own cells
    helpers = notebook.helpers_source([b["source"] for b in trace["beats"]])
    assert "sys.modules.setdefault(\"render.lesson\"" in helpers  # a beat imports from the studio inline
    assert "sys.modules" not in notebook.helpers_source(["def f(device):\n    return {}"])
    # the helpers behave as the studio's own
    scope: dict[str, Any] = {}
    exec(helpers, scope)
    for fn in (lambda: 1 / 0, lambda: None, lambda: [][1]):
        assert scope["capture_error"](fn) == capture_error(fn)
    with pytest.raises(AssertionError, match="claim failed: two is two"):
        scope["expect"](1 + 1 == 3, "two is two")


def test_prose_drops_cue_marks() -> None:
    assert notebook.prose("One. | Two,\n   three. \\| four") == "One. Two, three. | four"


def test_every_module1_script_gives_a_standalone_prelude() -> None:
    """What each module-1 beat reads from its script is defined in the notebook (without tracing)."""
    import builtins

    for entry in load_course().module("1").lessons:
        if not entry.scripted:
            continue
        prelude = notebook.script_prelude(entry.script)
        defined = set(dir(builtins)) | {"device", "expect", "expect_each", "capture_error", "show"}
        for node in ast.walk(ast.parse(prelude)):
            if isinstance(node, ast.Import | ast.ImportFrom):
                defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, ast.FunctionDef | ast.ClassDef):
                defined.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
        tree = ast.parse(entry.script.read_text(encoding="utf-8"))
        for fn in tree.body:
            if not (isinstance(fn, ast.FunctionDef) and notebook._is_beat(fn)):
                continue
            local = {a.arg for a in ast.walk(fn) if isinstance(a, ast.arg)}
            local |= {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            local |= {(a.asname or a.name) for n in ast.walk(fn) if isinstance(n, ast.ImportFrom) for a in n.names}
            local |= {n.name for n in ast.walk(fn) if isinstance(n, ast.FunctionDef | ast.ClassDef) and n is not fn}
            body = ast.Module(body=fn.body, type_ignores=[])
            free = {n.id for n in ast.walk(body) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            assert free - local - defined == set(), f"{entry.script.name}: {fn.name}"


def test_parse_printed_reads_show_output() -> None:
    text = "x: shape (2,), float32, cpu, requires_grad\ntensor([1., 2.])\nx.grad:\ntensor([2., 2.])\nn = 3\n"
    blocks = parse_printed(text)
    assert blocks["x"]["shape"] == "(2,)" and blocks["x"]["facts"] == ["float32", "cpu", "requires_grad"]
    assert blocks["x"]["body"] == ["tensor([1., 2.])"] and blocks["x"]["grad"] == ["tensor([2., 2.])"]
    assert blocks["n"] == {"repr": "3", "more": []} and math.isnan(_restore("nan"))
    module = parse_printed("net = Sequential(\n  (0): Linear(in_features=2, out_features=1, bias=True)\n)\nk = 1\n")
    assert module["net"] == {"repr": "Sequential(", "more": ["  (0): Linear(in_features=2, out_features=1, bias=True)",
                                                            ")"]}
    assert module["k"] == {"repr": "1", "more": []}


# --------------------------------------------------------------------------------------------- executed


@pytest.mark.slow
def test_executed_fixture_prints_its_trace_without_the_studio(
    fixture_lesson: tuple[LessonEntry, Lesson, dict[str, Any]], tmp_path: Path
) -> None:
    import nbformat
    from nbformat import v4

    entry, lesson, trace = fixture_lesson
    path = notebook.write_notebook(entry, lesson, trace, tmp_path / "lesson.ipynb")
    # prove it standalone: a first cell makes the studio's packages unimportable in the kernel
    nb = nbformat.read(str(path), as_version=4)
    block = "import sys\nsys.modules['render'] = None\nsys.modules['scenes'] = None"
    nb.cells.insert(0, v4.new_code_cell(block, id="no-studio"))
    nbformat.write(nb, str(path))
    ran = notebook.execute_notebook(path, timeout=300)
    assert notebook.errors(ran) == []
    assert nbformat.read(str(path), as_version=4).cells[-4].outputs  # stored with its outputs
    assert "on cpu" in code_cells(ran)[1].outputs[0]["text"]
    printed = notebook.printed(ran)
    compared = sum(assert_printed_is_trace(printed[b["name"]], b) for b in trace["beats"] if b["name"] in printed)
    assert "start" not in printed  # a card computing nothing has no cell
    assert compared == 10  # x, y, back, error, root, shape, dtype; w (and its grad), loss, half
    assert "x @ x" not in printed["doubling"] and "RuntimeError: " in printed["doubling"]


@pytest.mark.slow
def test_a_failing_cell_is_named(
    fixture_lesson: tuple[LessonEntry, Lesson, dict[str, Any]], tmp_path: Path
) -> None:
    import nbformat

    entry, lesson, trace = fixture_lesson
    path = notebook.write_notebook(entry, lesson, trace, tmp_path / "lesson.ipynb")
    nb = nbformat.read(str(path), as_version=4)
    [cell] = [c for c in nb.cells if c.metadata.get("studio", {}).get("beat") == "doubling"]
    cell.source = cell.source.replace("y = doubled(x)", "y = doubled(x) @ x")
    nbformat.write(nb, str(path))
    before = path.read_bytes()
    with pytest.raises(notebook.NotebookFailed) as failed:
        notebook.execute_notebook(path, timeout=300)
    assert failed.value.cell == nb.cells.index(cell) + 1 and failed.value.label == "beat 'doubling'"
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)" in str(failed.value)
    assert path.read_bytes() == before  # no half-run notebook stored
    # the build's way: nothing is written at all when the notebook fails
    broken = {**trace, "beats": [{**b, "source": b["source"].replace("return {}", "return 1 / 0")}
                                 for b in trace["beats"]]}
    dest = tmp_path / "built" / "lesson.ipynb"
    with pytest.raises(notebook.NotebookFailed, match=r"cell \d+ \(beat 'start'\) failed: ZeroDivisionError"):
        notebook.make_notebook(entry, lesson, broken, dest, timeout=300)
    assert not dest.exists()


@pytest.mark.slow
@pytest.mark.parametrize("entry", [e for e in load_course().lessons if e.scripted], ids=lambda e: e.id)
def test_every_notebook_runs_and_prints_the_trace(entry: LessonEntry, tmp_path: Path) -> None:
    """Every lesson's notebook executes without an error output, a cell per beat with code (module 1 alone was
    run here once; two module-2 notebooks then failed only in a full build). Module 1's print their trace's
    values exactly as traced (modules 0 and 2 also print modules, state dicts and load reports, which the
    trace keeps in other forms)."""
    from render.trace import trace_lesson

    lesson = load_lesson(entry.script)
    trace = trace_lesson(lesson, "cpu")
    path = notebook.write_notebook(entry, lesson, trace, tmp_path / entry.slug / "lesson.ipynb")
    ran = notebook.execute_notebook(path, timeout=600)
    assert notebook.errors(ran) == []
    printed = notebook.printed(ran)
    assert list(printed) == [b["name"] for b in trace["beats"] if typed_code(b["source"], b["values"]).strip()]
    if not entry.id.startswith("1."):
        return
    unsteady = unsteady_names(trace, trace_lesson(lesson, "cpu"))
    compared = sum(assert_printed_is_trace(printed[b["name"]], b, unsteady[b["name"]]) for b in trace["beats"]
                   if b["name"] in printed)
    assert compared > 0


# --------------------------------------------------------------------------------------------- linked


def test_colab_addresses() -> None:
    from render.page import colab_url

    path = "module1/01-introduction-to-tensors/lesson.ipynb"
    colab = "https://colab.research.google.com/github/"
    assert colab_url("https://github.com/lab/course", path) == f"{colab}lab/course/blob/main/{path}"
    assert colab_url("https://github.com/lab/course.git", path) == f"{colab}lab/course/blob/main/{path}"
    assert colab_url("https://github.com/lab/course/tree/pages/build/", path) == (
        f"{colab}lab/course/blob/pages/build/{path}"
    )
    assert colab_url("https://gitlab.com/lab/course", path) is None  # Colab opens GitHub notebooks only


@pytest.mark.parametrize("repository", ["", "https://github.com/lab/course"])
def test_course_page_links_notebook_and_handout(
    repository: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import dataclasses
    from html.parser import HTMLParser

    from render import page
    from tests.test_decks_fixtures import make_built_lesson

    lesson, lesson_dir = make_built_lesson(tmp_path_factory)
    build = lesson_dir.parent.parent
    (lesson_dir / "lesson.ipynb").write_text("{}")
    (lesson_dir / "deck.pdf").write_bytes(b"%PDF-1.4\n")
    course = dataclasses.replace(load_course(), repository=repository)
    lessons: dict[str, dict[str, Any] | None] = {e.id: None for e in course.lessons}
    lessons["1.1.1"] = page.rebase(lesson, lesson_dir, build)
    lessons["1.1.2"] = None
    html = page.write_course_page(course, lessons, build).read_text(encoding="utf-8")

    class Links(HTMLParser):
        found: dict[str, str] = {}

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "a" and a.get("class"):
                self.found[a["class"] or ""] = a.get("href") or ""

    links = Links()
    links.found = {}
    links.feed(html)
    folder = "module1/01-introduction-to-tensors"
    assert links.found["notebook"] == f"{folder}/lesson.ipynb" and links.found["deck-pdf"] == f"{folder}/deck.pdf"
    for href in (links.found["notebook"], links.found["deck-pdf"]):
        assert (build / href).is_file()
    if repository:
        assert links.found["colab"] == page.colab_url(repository, f"{folder}/lesson.ipynb")
    else:
        assert "colab" not in links.found
    assert html.count('class="notebook"') == 1  # only the built lesson links one


# --------------------------------------------------------------------------------------------- built


@pytest.mark.slow
def test_build_only_notebooks_runs_and_caches(tmp_path: Path) -> None:
    """`render 1.1.1 --only notebooks`: traces (nothing else), writes the notebook run with its outputs, and
    a rerun keeps it as it is; `render status` then has nothing to redo for it."""
    import nbformat

    from render.build import build, status
    from render.settings import Settings

    entry = load_course().lesson("1.1.1")
    settings = Settings(build_dir=tmp_path, device="cpu", jobs=1, voice="none", only=("notebooks",))
    report = build([entry], settings)
    assert report.ok and report.lessons[0].steps["notebook"] == "done"
    path = tmp_path / "module1" / entry.slug / "lesson.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    assert notebook.errors(nb) == [] and "torch" in nb.cells[1].outputs[0]["text"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["lesson.ipynb", "trace.json"]
    stamp = path.stat().st_mtime_ns
    again = build([entry], settings)
    assert again.lessons[0].steps["notebook"] == "cached" and path.stat().st_mtime_ns == stamp
    planned = status([entry], settings).plan[entry.id]
    assert [o.status for o in planned if o.step == "notebook"] == ["cached"]
    assert all(o.status == "cached" for o in planned), planned


def test_ctrl_c_while_the_kernel_starts_is_the_interrupt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """nbclient's wait for a starting kernel ends in asyncio's CancelledError when Ctrl-C lands there: after
    a stop request that is the user's interrupt (exit 130), never a traceback; without one it is not hidden."""
    import asyncio

    import nbformat
    from nbclient import NotebookClient

    from render import errors

    def cancelled(self: Any, **_: Any) -> None:
        raise asyncio.CancelledError

    monkeypatch.setattr(NotebookClient, "execute", cancelled)
    nb = nbformat.v4.new_notebook()
    with pytest.raises(asyncio.CancelledError):
        notebook.run_notebook(nb, tmp_path)
    def cancelled_by_nbclient(self: Any, **_: Any) -> None:  # its own SIGINT handler ran: ours never saw it
        self._async_cleanup_kernel_future = object()
        raise asyncio.CancelledError

    monkeypatch.setattr(errors, "_stop_requested", [])
    monkeypatch.setattr(NotebookClient, "execute", cancelled_by_nbclient)
    with pytest.raises(KeyboardInterrupt):
        notebook.run_notebook(nb, tmp_path)
    assert errors.stop_requested()  # the CLI then says "interrupted" and exits 130
    monkeypatch.setattr(errors, "_stop_requested", [True])
    monkeypatch.setattr(NotebookClient, "execute", cancelled)
    with pytest.raises(KeyboardInterrupt):
        notebook.run_notebook(nb, tmp_path)


def test_a_signal_while_the_kernel_shuts_down_is_the_interrupt(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    """SIGTERM landing as nbclient shuts the kernel down after the last cell: its handler schedules a second
    clean-up (which fails: the kernel is gone) and `execute` returns as if nothing happened. That is still the
    user's stop (exit 130), and the failed clean-up is not left for asyncio to print as a traceback."""
    import asyncio

    import nbformat
    from nbclient import NotebookClient

    from render import errors

    loop = asyncio.new_event_loop()
    failed = loop.create_future()
    failed.set_exception(AttributeError("'NoneType' object has no attribute 'cleanup_resources'"))

    def returned_after_a_signal(self: Any, **_: Any) -> Any:
        self._async_cleanup_kernel_future = failed
        return self.nb

    monkeypatch.setattr(errors, "_stop_requested", [])
    monkeypatch.setattr(NotebookClient, "execute", returned_after_a_signal)
    with pytest.raises(KeyboardInterrupt):
        notebook.run_notebook(nbformat.v4.new_notebook(), tmp_path)
    assert errors.stop_requested()
    assert failed._log_traceback is False  # retrieved: asyncio will not print "never retrieved"
    loop.close()


def test_a_challenge_beats_code_is_folded_in_the_notebook() -> None:
    """A beat named `challenge` computes the answer: its cell is folded (Jupyter's source_hidden) under a line
    asking the learner to try first; every other beat's code is open."""
    from render.trace import trace_lesson

    entry = load_course().lesson("2.2.2")
    lesson = load_lesson(entry.script)
    nb = notebook.build_notebook(entry, lesson, trace_lesson(lesson, "cpu"))
    beats = {c.metadata["studio"]["beat"]: (i, c) for i, c in enumerate(nb.cells)
             if c.get("metadata", {}).get("studio", {}).get("beat")}
    index, cell = beats.pop("challenge")
    assert cell.metadata["jupyter"] == {"source_hidden": True}
    assert nb.cells[index - 1].source.endswith("try it yourself first.*")
    assert beats and all("jupyter" not in c.metadata for _, c in beats.values())


def test_a_cell_that_reads_the_studio_says_so_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """0.1.1 draws the course from the studio's manifest: in a learner's Jupyter, without the studio, its cell
    prints why it skips instead of failing on the import; with the studio it runs as traced."""
    import sys

    code = notebook.studio_guarded("from render.course import load_course\n\nn = len(load_course().modules)\n\n"
                                   "show(n=n)")
    out: list[str] = []
    env = {"show": lambda **kw: out.append(f"n = {kw['n']}"), "print": out.append}
    exec(code, dict(env))  # noqa: S102 (the studio's own cell)
    assert out and out[0].startswith("n = ")
    monkeypatch.setitem(sys.modules, "render.course", None)  # as in a notebook without the studio
    out.clear()
    exec(code, dict(env))  # noqa: S102
    assert out == [notebook.SKIPPED]
    assert notebook.studio_guarded("y = 2") == "y = 2"
