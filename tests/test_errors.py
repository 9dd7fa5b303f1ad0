"""The error family crosses processes as itself: every class round-trips through pickle (a process pool's
result queue) and through Dask's serialisation with its fields and message; and it lives below `render`."""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import pytest

import scenes.errors as errors
from scenes.errors import StudioError

ROOT = Path(__file__).resolve().parent.parent

EXAMPLES: list[StudioError] = [
    errors.StudioError("plain"),
    errors.LessonError(Path("scripts/module1/tiny.py"), 12, "ValueError: bad", beat="counting"),
    errors.LessonError(Path("scripts/module1/tiny.py"), None, "cannot load"),
    errors.ClaimFailed("x.sum() == 3", "it is 4"),
    errors.ClaimFailed("y is a view"),
    errors.VisualError("TensorGrid", "x", "a grid draws up to 4-D tensors"),
    errors.VisualError("Broadcast", None, "no result"),
    errors.UnknownVisual("unknown visual 'Attention'"),
    errors.ToolMissing("ffmpeg is missing"),
    errors.DeviceMissing("no cuda"),
    errors.VoiceMissing("no piper"),
    errors.BuildBusy("busy"),
    errors.WorkerMismatch("other code"),
    errors.SchedulerUnreachable("unreachable"),
    errors.RecordVersion("old record"),
    errors.CannotWrite("read-only"),
    errors.UnknownName("no module 9"),
    errors.NotInVocabulary("Attention", ["MatmulSweep", "Softmax"]),
    errors.RenderProcessDied(-9),
    errors.RenderProcessDied(1, "beat 'crash'"),
    errors.RenderProcessDied(None),
]


def family(cls: type[StudioError] = StudioError) -> set[type[StudioError]]:
    found = {cls}
    for sub in cls.__subclasses__():
        if sub.__module__ == errors.__name__:
            found |= family(sub)
    return found


def test_the_examples_cover_every_class_of_the_family() -> None:
    assert {type(e) for e in EXAMPLES} == family()


def same(a: StudioError, b: StudioError) -> None:
    assert type(b) is type(a)
    assert str(b) == str(a) and b.args == a.args
    assert b.__dict__ == a.__dict__
    assert b.exit_code == a.exit_code


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda e: type(e).__name__)
def test_every_error_round_trips_through_pickle(error: StudioError) -> None:
    same(error, pickle.loads(pickle.dumps(error)))


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda e: type(e).__name__)
def test_every_error_round_trips_through_dask(error: StudioError) -> None:
    from distributed.protocol import deserialize, serialize

    header, frames = serialize(error, serializers=["dask", "pickle"])
    same(error, deserialize(header, frames))


def test_a_dead_process_says_how_it_died() -> None:
    assert "signal 9 (SIGKILL)" in str(errors.RenderProcessDied(-9))
    assert "exit code 1" in str(errors.RenderProcessDied(1))


def test_scenes_never_import_from_render() -> None:
    """The vocabulary stands below the pipeline: nothing in scenes/ imports render (errors included)."""
    found = []
    for path in sorted((ROOT / "scenes").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            found += [f"{path.relative_to(ROOT)}:{node.lineno}" for n in names if n.split(".")[0] == "render"]
    assert found == []
