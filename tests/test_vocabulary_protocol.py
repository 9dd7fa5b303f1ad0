"""The visual protocol: visuals named exactly by their class (read without importing Manim), declared
options checked, and every visual's `steps()` equal to the steps its `play` really yields on the gallery."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import scenes.spec
from render.errors import UnknownVisual
from scenes.spec import VisualSpec, counts_allowed, visual_index
from tests.conftest_scenes import ROOT, beat_names, dry, job

GALLERIES = sorted((ROOT / "scripts" / "gallery").glob("*.py"))

LAYERS = '''
from typing import ClassVar

from scenes.visuals.base import TensorVisual


class MLP(TensorVisual):
    """A test visual named as PyTorch spells it: one step per tensor, plus one."""

    options: ClassVar[dict[str, str]] = {"hidden": "hidden width"}

    def steps(self) -> int:
        return 1 + len(self.spec.tensors)

    def play(self, scene):
        yield


class _Layer(TensorVisual):
    options: ClassVar[dict[str, str]] = {"activation": "what the layer applies"}


class ReLU(_Layer):
    def steps(self) -> int:
        return 2

    def play(self, scene):
        yield
        yield


class Helper:
    """Not a visual: no Visual base."""
'''


@pytest.fixture
def layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package `studio_test_visuals` holding two visuals in one file, made the vocabulary's folder."""
    pkg = tmp_path / "studio_test_visuals"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "layers.py").write_text(textwrap.dedent(LAYERS))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(scenes.spec, "VISUALS_DIR", pkg)
    monkeypatch.setattr(scenes.spec, "VISUALS_PACKAGE", "studio_test_visuals")
    return pkg


def beat_json(**tensors: list[float]) -> dict[str, Any]:
    """A minimal beat trace holding 1-D float tensors."""
    entries = {n: {"values": v, "shape": [len(v)], "dtype": "float32", "device": "cpu", "stride": [1]}
               for n, v in tensors.items()}
    return {"name": "b", "source": "", "tensors": entries}


def test_index_reads_every_visual_class_of_a_folder(layers: Path) -> None:
    index = visual_index(layers, "studio_test_visuals")
    assert list(index) == ["MLP", "ReLU"]  # not _Layer (private), not Helper (no Visual base)
    assert index["MLP"].module == index["ReLU"].module == "studio_test_visuals.layers"
    assert list(index["MLP"].options) == ["hidden", "digits"]  # digits: every TensorVisual
    assert list(index["ReLU"].options) == ["activation", "digits"]  # inherited through _Layer


def test_visual_named_as_pytorch_spells_it_imports_from_the_vocabulary(layers: Path) -> None:
    from scenes.visuals.base import count_steps
    from scenes.vocabulary import MLP, ReLU

    spec = MLP("x", "y", hidden=4)
    assert (spec.kind, spec.implementation) == ("MLP", "studio_test_visuals.layers:MLP")
    assert ReLU("x").implementation == "studio_test_visuals.layers:ReLU"
    assert count_steps(spec.to_json(), beat_json(x=[1.0], y=[2.0]), "cpu", "") == 3
    with pytest.raises(UnknownVisual, match="ReLU takes no option 'hidden'; it takes activation, digits"):
        ReLU("x", hidden=4)


def test_an_option_typo_names_the_valid_options() -> None:
    from scenes.vocabulary import Reduce

    with pytest.raises(UnknownVisual) as err:
        Reduce("x", "s", dims=1)
    assert str(err.value) == "Reduce takes no option 'dims'; it takes dim, op, keepdim, digits"
    assert Reduce("x", "s", dim=1, keepdim=True).options == {"dim": 1, "keepdim": True}
    with pytest.raises(UnknownVisual, match="Title takes no option 'digits'; it takes heading, lines"):
        VisualSpec("Title", (), {"digits": 3})


def test_an_unknown_visual_lists_the_vocabulary() -> None:
    with pytest.raises(UnknownVisual, match=r"unknown visual 'Relu'; the vocabulary has .*MatmulSweep"):
        VisualSpec("Relu", ("x",))
    with pytest.raises(ImportError):
        from scenes.vocabulary import Relu  # noqa: F401


def test_the_vocabulary_loads_without_manim() -> None:
    code = ("import sys; from scenes.vocabulary import MatmulSweep; MatmulSweep('a', 'b', 'c', op='@'); "
            "assert 'manim' not in sys.modules and 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_every_visual_declares_options_and_counts_its_steps() -> None:
    import importlib

    from scenes.visuals.base import Visual

    for name, info in visual_index().items():
        cls = getattr(importlib.import_module(info.module), name)
        assert issubclass(cls, Visual), name
        assert cls.steps is not Visual.steps, f"{name} does not implement steps()"
        assert set(cls.options) <= set(info.options), f"{name}: the index misread its options"


@functools.cache
def traced(script: Path) -> tuple[Any, dict[str, Any]]:
    """A gallery lesson and its trace, as a clip worker receives it (torch runs once per gallery file)."""
    from render.lesson import load_lesson
    from render.trace import trace_lesson

    lesson = load_lesson(script)
    return lesson, json.loads(json.dumps(trace_lesson(lesson, "cpu")))


def test_steps_count_from_the_data_alone_for_every_gallery_beat() -> None:
    from scenes.visuals.base import count_steps

    for script in GALLERIES:
        lesson, trace = traced(script)
        for beat, beat_trace in zip(lesson.beats, trace["beats"], strict=True):
            steps = count_steps(beat.visual.to_json(), beat_trace, trace["device"], trace["torch"])
            assert steps >= 1, f"{script.name}:{beat.name}: {steps} steps"


@pytest.mark.parametrize("name", beat_names())
def test_steps_equal_the_steps_a_dry_run_plays(name: str) -> None:
    """The dry run is the one the truth and lint tests use (cached per beat), so this costs no extra render."""
    from scenes.visuals.base import count_steps

    j = job(name)
    expected = count_steps(j["visual"], j["trace"]["beat"], j["trace"]["device"], j["trace"]["torch"])
    played = dry(name)[4]
    assert played == expected, f"{j['visual']['kind']} says {expected} steps but plays {played}"


@pytest.mark.parametrize(("takes", "fits", "misfits"), [
    ("a, b, result", [3], [0, 2, 4]),
    ("pe, [token, x]", [1, 3], [0, 2, 4]),
    ("inputs..., result", [2, 3, 9], [0, 1]),
    ("[tensors...]", [0, 1, 5], []),
    ("", [0], [1]),
])
def test_takes_declares_the_counts_of_names_a_visual_accepts(takes: str, fits: list[int], misfits: list[int]) -> None:
    allowed = counts_allowed(takes)
    assert [n for n in fits + misfits if allowed(n)] == fits


def test_every_visual_declares_what_it_takes_and_a_wrong_count_says_so() -> None:
    """Every visual declares its `takes`; a call with a count it cannot take names the visual and what it takes,
    when the lesson script runs the call (before any trace)."""
    from scenes.vocabulary import MatmulSweep

    assert [name for name, info in visual_index().items() if info.takes is None] == []
    with pytest.raises(UnknownVisual, match=re.escape("MatmulSweep takes (a, b, result); got ('weights', 'out')")):
        MatmulSweep("weights", "out")
