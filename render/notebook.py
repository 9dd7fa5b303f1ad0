"""A Jupyter notebook per lesson: the lesson's code, beat by beat, for learners to run themselves.

The notebook holds the title and objectives, a cell that picks the device the way the lessons do (CUDA,
then MPS, then the CPU), a prelude with what the lesson's code needs from the studio (`expect`,
`capture_error`) and from its own script (imports, helper functions), then per beat its narration as prose
and its code as a learner types it (`scenes.typed_code`: the compute function's body, checks hidden, a
captured error in a try that prints it), seeded as the trace was, with a call that prints what it computed.
It ends with the recap and the challenge, followed by an empty cell.

The notebook runs on its own: it never imports the studio. `execute_notebook` runs it with nbclient and
stores the outputs; a failing cell is a `NotebookFailed` that names the cell and its beat.
"""

from __future__ import annotations

import ast
import contextlib
import re
import signal
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from render.errors import StudioError, ToolMissing, request_stop, stop_requested
from render.state import write_text
from scenes.typed_code import returned_names, typed_code

KERNEL = "python3"
STUDIO_PACKAGES = ("render", "scenes")

DEVICE_CELL = '''\
import torch

# The lessons run on CUDA when there is a GPU, else on Apple's MPS, else on the CPU.
if torch.cuda.is_available():
    device = "cuda"
elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
    device = "mps"
else:
    device = "cpu"
torch.use_deterministic_algorithms(True, warn_only=True)  # as the lesson was traced
print(f"torch {torch.__version__} on {device}")'''

EXPECT = '''\
def expect(condition, claim):
    """Check a claim the lesson makes with torch's own answer; stop with the claim's words if it fails."""
    if not bool(condition):
        raise AssertionError(f"claim failed: {claim}")'''

EXPECT_EACH = '''\
def expect_each(cases, holds, claim):
    """Check a general claim on several cases; stop with the claim's words and the case if one fails."""
    for case in cases:
        if not bool(holds(case)):
            raise AssertionError(f"claim failed: {claim} (it does not hold for case {case!r})")'''

CAPTURE_ERROR = '''\
def capture_error(fn):
    """Run `fn` and return the error it raises as text, for beats that show a failure; '' if it succeeds."""
    try:
        fn()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""'''

SHOW = '''\
def show(**named):
    """Print what a beat computed: each tensor with its shape, dtype and device, then its values."""
    for name, value in named.items():
        if isinstance(value, torch.Tensor):
            facts = [f"shape {tuple(value.shape)}", str(value.dtype).removeprefix("torch."), str(value.device)]
            if value.requires_grad:
                facts.append("requires_grad")
            if value.grad_fn is not None:
                facts.append(f"grad_fn={type(value.grad_fn).__name__}")
            print(f"{name}: " + ", ".join(facts))
            print(value.detach().cpu())
            if value.is_leaf and value.grad is not None:
                print(f"{name}.grad:")
                print(value.grad.cpu())
        else:
            print(f"{name} = {value!r}")'''

SHIM = '''\
import sys
import types

# Some beats import these helpers from the studio (`from render.lesson import expect`): here they are the
# ones defined above, so the notebook needs nothing but torch.
_studio = types.ModuleType("render.lesson")
_studio.expect, _studio.expect_each, _studio.capture_error = expect, expect_each, capture_error
sys.modules.setdefault("render.lesson", _studio)'''


class NotebookFailed(StudioError):
    """A notebook cell raised when the notebook ran; names the notebook, the cell and its beat."""

    def __init__(self, path: Path, cell: int, label: str, error: str):
        self.path = path
        self.cell = cell
        self.label = label
        self.error = error
        super().__init__(f"{path}: cell {cell} ({label}) failed: {error}")


# ---------------------------------------------------------------------------------------------- writing


def _is_beat(node: ast.AST) -> bool:
    """A function decorated with `@lesson.beat(...)`."""
    decorators = getattr(node, "decorator_list", [])
    return any(isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "beat" for d in decorators)


def _is_studio_import(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] in STUDIO_PACKAGES
    if isinstance(node, ast.Import):
        return any(a.name.split(".")[0] in STUDIO_PACKAGES for a in node.names)
    return False


def _names_lesson(node: ast.AST) -> bool:
    """Whether a statement reads the script's `lesson` object (or `Lesson`): that stays in the studio."""
    return any(isinstance(n, ast.Name) and n.id in ("lesson", "Lesson") for n in ast.walk(node))


def local_modules(script: Path) -> list[Path]:
    """The helper modules kept beside the script that it imports (`from _models import MLP`), and theirs,
    dependencies first."""
    found: list[Path] = []

    def visit(path: Path) -> None:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                module = script.parent / f"{name.split('.')[0]}.py"
                if module.is_file() and module != script and module not in found:
                    visit(module)
                    found.append(module)

    visit(script)
    return found


def script_prelude(script: Path) -> str:
    """What the beats' code needs from its script, in file order: its imports (less the studio's) and its
    helper functions, classes and constants (less the beats and the `lesson` itself)."""
    text = script.read_text(encoding="utf-8")
    kept: list[str] = []
    for node in ast.parse(text).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            if not _is_studio_import(node):
                kept.append(ast.get_source_segment(text, node) or "")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if not _is_beat(node) and not _names_lesson(node):
                start = min([d.lineno for d in node.decorator_list] + [node.lineno])
                kept.append("\n".join(text.splitlines()[start - 1 : node.end_lineno]))
        elif isinstance(node, ast.Assign | ast.AnnAssign) and not _names_lesson(node):
            kept.append(ast.get_source_segment(text, node) or "")
    imports = [k for k in kept if k.startswith(("import ", "from "))]
    rest = [k for k in kept if not k.startswith(("import ", "from "))]
    return "\n\n\n".join(part for part in ("\n".join(imports), *rest) if part)


def helpers_source(sources: list[str]) -> str:
    """The studio helpers the lesson code may call, in plain Python (tests check they behave as the
    studio's own), and `show`, which prints what a beat returns."""
    parts = [EXPECT, EXPECT_EACH, CAPTURE_ERROR, SHOW]
    if any(re.search(r"\b(from|import)\s+render\b", s) for s in sources):
        parts.append(SHIM)
    return "\n\n\n".join(parts)


def prose(narration: str) -> str:
    """Narration as a paragraph: cue marks (`|`) dropped, an escaped bar kept."""
    text = narration.replace("\\|", "\x00").replace("|", " ").replace("\x00", "|")
    return re.sub(r"\s+", " ", text).strip()


def _bullets(items: list[str] | tuple[str, ...]) -> str:
    return "\n".join(f"- {item}" for item in items)


def narrations(lesson: Any, trace: dict[str, Any]) -> list[str]:
    """Each beat's narration with the trace's values filled in, as prose."""
    from render.templating import render_narration
    from scenes.trace import BeatTrace

    out = []
    for beat, traced in zip(lesson.beats, trace["beats"], strict=True):
        view = BeatTrace.from_json(traced, trace["device"], trace["torch"])
        out.append(prose(render_narration(beat.narration, view)))
    return out


def build_notebook(entry: Any, lesson: Any, trace: dict[str, Any]) -> Any:
    """The lesson's notebook (not yet run): `entry` is its course entry (id, title, blurb), `lesson` the
    loaded script, `trace` its trace (the beats' exact sources and seeds)."""
    import nbformat
    from nbformat import v4

    assert lesson.script is not None, "a loaded lesson knows its script"
    sources = [b["source"].rstrip() for b in trace["beats"]]
    said = narrations(lesson, trace)
    intro = [f"# {entry.id} · {entry.title}"]
    if entry.blurb:
        intro.append(entry.blurb)
    if lesson.objectives:
        intro.append("**You will learn**\n\n" + _bullets(lesson.objectives))
    intro.append(
        "Every code cell below is the code the lesson ran, seeded as it was (the lesson also checked each "
        "claim it makes). Run the cells in order: the numbers you get are the ones in the video (on the same "
        "device)."
    )
    modules = local_modules(lesson.script)
    studio_code = sources + [m.read_text(encoding="utf-8") for m in modules]
    cells = [
        v4.new_markdown_cell("\n\n".join(intro), id="title"),
        v4.new_code_cell(DEVICE_CELL, id="device", metadata={"studio": {"cell": "device"}}),
        v4.new_markdown_cell("Helpers the lesson's code uses, so this notebook needs nothing but torch.",
                             id="helpers-note"),
        v4.new_code_cell(helpers_source(studio_code), id="helpers", metadata={"studio": {"cell": "helpers"}}),
    ]
    for module in modules:  # written beside the notebook, so the script's own import line works
        source = f"%%writefile {module.name}\n{module.read_text(encoding='utf-8').rstrip()}"
        cells.append(v4.new_code_cell(source, id=f"module-{module.stem.strip('_') or 'helpers'}"[:64],
                                      metadata={"studio": {"cell": module.name}}))
    prelude = script_prelude(lesson.script)
    if prelude:
        cells.append(v4.new_code_cell(prelude, id="script", metadata={"studio": {"cell": "script helpers"}}))
    for number, (beat, traced, narration) in enumerate(zip(lesson.beats, trace["beats"], said, strict=True), start=1):
        text = f"## {number}. {beat.title}\n\n{narration}"
        if beat.bullets:
            text += "\n\n" + _bullets(beat.bullets)
        cells.append(v4.new_markdown_cell(text, id=f"beat-{number}-text"))
        code = beat_cell(traced, lesson.seed + number - 1)
        if code and beat.name == "challenge":  # its code is the answer: folded, so the learner tries first
            cells[-1].source += "\n\n*One solution is in the folded cell below: try it yourself first.*"
            cells.append(v4.new_code_cell(code, id=f"beat-{number}", metadata={
                "studio": {"beat": beat.name}, "jupyter": {"source_hidden": True}}))
        elif code:
            cells.append(v4.new_code_cell(code, id=f"beat-{number}", metadata={"studio": {"beat": beat.name}}))
    if lesson.recap:
        cells.append(v4.new_markdown_cell("## Recap\n\n" + _bullets(lesson.recap), id="recap"))
    if lesson.challenge:
        cells.append(v4.new_markdown_cell(f"## Your challenge\n\n{lesson.challenge}", id="challenge"))
        cells.append(v4.new_code_cell("", id="your-turn", metadata={"studio": {"cell": "challenge"}}))
    nb = v4.new_notebook(cells=cells)
    nb.metadata.update(
        {
            "kernelspec": {"name": KERNEL, "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "studio": {"lesson": entry.id, "torch": trace.get("torch", ""), "traced_on": trace.get("device", "")},
        }
    )
    nbformat.validate(nb)
    return nb


def beat_cell(traced: dict[str, Any], seed: int) -> str:
    """A beat's code as the learner types it (scenes.typed_code, a captured error in a try that prints it),
    seeded as the trace was, then `show(...)` of what the beat returned; '' for a card that computes nothing."""
    code = typed_code(traced["source"], traced["values"], runnable=True)
    if not code.strip():
        return ""
    names = returned_names(traced["source"])
    shown = "**result" if names is None else ", ".join(f"{k}={v}" for k, v in names.items() if k.isidentifier())
    body = f"{code}\n\nshow({shown})" if shown else code
    return f"torch.manual_seed({seed})  # the seed this beat was traced with\n{studio_guarded(body)}"


SKIPPED = "Skipped: this cell reads Torchenstein Studio's own files (the video shows what it drew)."
STUDIO_READ = re.compile(r"^(from (render|scenes)(\.\w+)* import .*|import (render|scenes)\b.*)$")


def studio_guarded(code: str) -> str:
    """A cell that reads the studio itself (0.1.1 draws the course from its manifest) runs in the studio; in a
    learner's Jupyter or Colab, without it, the cell says so instead of failing on the import."""
    lines = code.splitlines()
    reads = [line for line in lines if STUDIO_READ.match(line) and "render.lesson" not in line]
    if not reads:
        return code
    rest = "\n".join(line for line in lines if line not in reads).strip("\n")
    return ("try:  # this cell reads Torchenstein Studio's own files: it runs where the studio is installed\n"
            + "\n".join(f"    {line}" for line in reads)
            + f"\nexcept ImportError:\n    print({SKIPPED!r})\nelse:\n" + textwrap.indent(rest, "    "))


def _function_name(source: str) -> str:
    """The name in a compute function's `def` line."""
    match = re.search(r"^(?:async\s+)?def\s+(\w+)", source, re.M)
    if match is None:
        raise ValueError(f"not a function's source: {source[:60]!r}")
    return match.group(1)


def write_notebook(entry: Any, lesson: Any, trace: dict[str, Any], dest: Path) -> Path:
    """Write the lesson's notebook (without outputs) to `dest` atomically."""
    import nbformat

    write_text(dest, nbformat.writes(build_notebook(entry, lesson, trace)) + "\n")
    return dest


# ---------------------------------------------------------------------------------------------- running


def _label(nb: Any, index: int) -> str:
    studio = nb.cells[index].get("metadata", {}).get("studio", {})
    if "beat" in studio:
        return f"beat {studio['beat']!r}"
    return str(studio.get("cell", "code"))


def run_notebook(nb: Any, folder: Path, timeout: float = 600.0, name: Path | None = None) -> Any:
    """Run notebook `nb` in place, in a fresh kernel working in `folder`, filling in its outputs.

    A cell that raises, runs past `timeout` seconds or kills the kernel is a `NotebookFailed` naming the
    notebook (`name`), the cell (numbered from 1 over all cells, as Jupyter shows them) and its beat."""
    import subprocess

    from nbclient import NotebookClient

    name = name or folder / "lesson.ipynb"
    current = {"index": 0}

    def started(cell: Any, cell_index: int, **_: Any) -> None:
        current["index"] = cell_index

    client = NotebookClient(nb, timeout=int(timeout), kernel_name=KERNEL, allow_errors=False,
                            resources={"metadata": {"path": str(folder)}}, on_cell_start=started)
    try:
        with our_signal_handlers():
            client.execute(stderr=subprocess.DEVNULL)  # the kernel's own chatter; cell errors come as messages
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # asyncio's CancelledError too: Ctrl-C while the kernel starts cancels its wait
        if stop_requested() or _nbclient_saw_a_signal(client):
            # the user stopped the render; this is not the notebook's failure
            request_stop()
            raise KeyboardInterrupt from exc
        if not isinstance(exc, Exception):
            raise
        _notebook_failure(exc, nb, name, current["index"])
    if _nbclient_saw_a_signal(client):  # it landed while the kernel shut down: execute returned as if all ran
        request_stop()
        raise KeyboardInterrupt
    return nb


def _nbclient_saw_a_signal(client: Any) -> bool:
    """Whether nbclient's own Ctrl-C/SIGTERM handler ran (ours never saw the signal): it schedules a kernel
    clean-up, which fails when the kernel is already gone; that failure is taken here so asyncio does not
    print it as a stray traceback."""
    future = getattr(client, "_async_cleanup_kernel_future", None)
    if future is None:
        return False
    with contextlib.suppress(BaseException):
        if future.done():
            future.exception()
        else:
            future.cancel()
            future._log_destroy_pending = False  # never run: its loop has stopped
    return True


@contextlib.contextmanager
def our_signal_handlers() -> Iterator[None]:
    """nbclient replaces the SIGINT and SIGTERM handlers while it runs and leaves the defaults behind; put
    the render's own back afterwards (a later SIGTERM must still stop the workers)."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        if threading.current_thread() is threading.main_thread():
            for signum, handler in saved.items():
                signal.signal(signum, handler)


def _notebook_failure(exc: Exception, nb: Any, name: Path, index: int) -> None:
    """Raise the studio's error for a failed execution (or `exc` itself when it is none of nbclient's)."""
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import CellControlSignal, CellExecutionError, CellTimeoutError, DeadKernelError

    if isinstance(exc, NoSuchKernel):
        raise ToolMissing("no Python kernel for notebooks: install ipykernel (./dev setup does)") from exc
    if isinstance(exc, CellExecutionError):
        raise NotebookFailed(name, index + 1, _label(nb, index), f"{exc.ename}: {exc.evalue}") from None
    if isinstance(exc, CellTimeoutError | DeadKernelError | CellControlSignal):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotebookFailed(name, index + 1, _label(nb, index), f"{type(exc).__name__}: {first}") from None
    raise exc


def execute_notebook(path: Path, timeout: float = 600.0) -> Any:
    """Run the notebook at `path` (in its own folder) and store it with its outputs; when a cell fails
    (`NotebookFailed`) the file is left as it was."""
    import nbformat

    nb = run_notebook(nbformat.read(str(path), as_version=4), path.parent, timeout, path)
    write_text(path, nbformat.writes(nb) + "\n")
    return nb


def make_notebook(entry: Any, lesson: Any, trace: dict[str, Any], dest: Path, timeout: float = 600.0) -> Any:
    """Write the lesson's notebook to `dest` already run, with its outputs: what the build does. It is
    written only once it has run, so a failing notebook never replaces a good one."""
    import nbformat

    dest.parent.mkdir(parents=True, exist_ok=True)
    nb = run_notebook(build_notebook(entry, lesson, trace), dest.parent, timeout, dest)
    write_text(dest, nbformat.writes(nb) + "\n")
    return nb


def printed(nb: Any) -> dict[str, str]:
    """What each beat's cell printed (its stdout), by beat name: what the truth tests read."""
    out = {}
    for cell in nb.cells:
        beat = cell.get("metadata", {}).get("studio", {}).get("beat")
        if beat is not None:
            out[beat] = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")
    return out


def errors(nb: Any) -> list[str]:
    """Every error output in the notebook, as 'cell N: Name: value'."""
    return [
        f"cell {i + 1}: {o.get('ename')}: {o.get('evalue')}"
        for i, cell in enumerate(nb.cells)
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    ]
