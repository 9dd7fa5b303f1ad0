"""The vocabulary, fuzzed: every visual dry-run on traced values Hypothesis makes up, where each example either
draws (every key frame lint clean: inside the frame, no overlapping text, legible; the steps it plays are the
steps `steps()` counted; every cell it shows says what the trace holds) or raises a `VisualError` that names the
visual, the traced entry and the reason. Any other exception is a bug in the visual.

How an example is made, for visual V:
- one of V's gallery beats (scripts/gallery/*.py) gives the call (tensor names, options) and, computed by torch
  once, the real values it returns: modules are kept, plain values too (their strings sometimes stretched,
  repeated or emptied), and every tensor (a state_dict's too) is replaced by a generated torch tensor, or in
  half the examples just one tensor, the others kept as torch made them (a lesson's one wrong input);
- a generated tensor is the gallery's own (kept, or recast to another dtype), one of the same shape, or one of
  any shape (so two-input visuals meet mismatched shapes): any dtype the trace records (float64/32/16,
  bfloat16, float8, every int and uint, bool, complex), rank 0 to 6 with empty and size-one axes, values from
  pools of NaN, +-inf, -0.0, huge and tiny magnitudes and plain numbers, laid out contiguous, transposed,
  sliced with a step, offset into its storage or broadcast-expanded (stride 0), sometimes requiring grad;
  the names it is traced under are sometimes long;
- torch's own recording function (`render.trace.trace_beat`) traces the returned dict, and the trace goes
  through JSON (strict: no bare NaN) exactly as a clip worker receives it; then `BeatScene` runs it as a Manim
  dry run (nothing drawn to a file or encoded).

Profiles (registered here): `studio-ci`, the default, runs CI_EXAMPLES examples per visual (108 in all,
about two minutes on a two-core machine) from the fixed seed SEED, the same examples every run;
`--hypothesis-profile thorough` runs THOROUGH_EXAMPLES per visual (thousands in all), from the same seed unless
STUDIO_FUZZ_SEED names another. The seed and profile are printed with each visual's run (`pytest -s`).
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from render.checks import DRY_RUN
from scenes.errors import VisualError
from scenes.spec import VisualSpec, available_visuals
from scenes.trace import BeatTrace

SEED = int(os.environ.get("STUDIO_FUZZ_SEED", "30"))  # issue 30
# examples per visual: tests/conftest.py registers the profiles (studio-ci, loaded by default, and thorough)
CI_EXAMPLES, THOROUGH_EXAMPLES = 3, 120

MAX_NUMEL = 6000  # above the trace's MAX_VALUES (4096), so summarised tensors are fuzzed too

# pools: few distinct values, so the texts a grid draws repeat across examples (a new text costs Pango 0.2 s)
FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 7.25, -0.125, math.nan, math.inf, -math.inf, 1e30, -1e30, 1e-30,
          -1e-7, 3.4e38, 65504.0, 1e-8, 123456.789, -9876543.21, 1e300, 2.0**-149, 0.1]
INTS = [0, 1, -1, 2, 3, 7, -5, 42, 127, -128, 255, 1000, 65535, 2**31 - 1, -(2**31), 2**53 + 1, 2**63 - 1, -(2**63)]
DTYPES = ["float32", "float64", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2", "int8", "int16", "int32",
          "int64", "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "complex128"]
DIMS = [1, 2, 3, 0, 4, 5, 7, 9, 13, 70]
LAYOUTS = ["contiguous", "transposed", "sliced", "offset", "expanded"]
LONG = "_of_the_attention_block"  # a long name, as a lesson author might type one


@functools.cache
def gallery_beats() -> dict[str, list[tuple[str, VisualSpec, Callable[..., Any], int]]]:
    """Every gallery beat by visual kind: (name, spec, compute function, the seed the gallery traces it with)."""
    from render.gallery import gallery_scripts
    from render.lesson import load_lesson

    by_kind: dict[str, list[tuple[str, VisualSpec, Callable[..., Any], int]]] = {}
    for path in gallery_scripts():
        lesson = load_lesson(path)
        for i, beat in enumerate(lesson.beats):
            by_kind.setdefault(beat.visual.kind, []).append(
                (f"{path.stem}.{beat.name}", beat.visual, beat.compute, lesson.seed + i))
    return by_kind


@functools.cache
def computed(kind: str, i: int) -> dict[str, Any]:
    """What gallery beat i of `kind` returns, computed by torch on the CPU (once per process)."""
    import torch

    _, _, compute, beat_seed = gallery_beats()[kind][i]
    torch.manual_seed(beat_seed)
    return dict(compute("cpu"))


# strategies -------------------------------------------------------------------------------------------------


def _clamp(v: int, dtype: Any) -> int:
    import torch

    info = torch.iinfo(dtype)
    return min(max(v, info.min), info.max)


@st.composite
def shapes(draw: Any) -> tuple[int, ...]:
    rank = draw(st.integers(0, 6))
    shape = [draw(st.sampled_from(DIMS)) for _ in range(rank)]
    while math.prod(shape) > MAX_NUMEL:
        shape[shape.index(max(shape))] = 2
    return tuple(shape)


@st.composite
def tensors(draw: Any, like: Any = None) -> Any:
    """A torch tensor: the gallery's own `like` (kept or recast), one of its shape, or one of any shape."""
    import torch

    mode = draw(st.sampled_from(["like", "new", "kept"] if like is not None else ["new"]))
    if mode == "kept":
        t = like.detach() if like.requires_grad and not like.is_leaf else like
        if draw(st.booleans()):
            t = t.detach().to(getattr(torch, draw(st.sampled_from(DTYPES))))
        return t
    shape = tuple(like.shape) if mode == "like" else draw(shapes())
    dtype = getattr(torch, draw(st.sampled_from(DTYPES)))
    layout = draw(st.sampled_from(LAYOUTS))
    if layout == "expanded" and shape:
        broadcast = [draw(st.booleans()) for _ in shape]
        base = values(draw, tuple(1 if b else n for b, n in zip(broadcast, shape, strict=True)), dtype)
        t = base.expand(*shape)
    elif layout == "transposed" and len(shape) >= 2:
        a, b = sorted(draw(st.lists(st.integers(0, len(shape) - 1), min_size=2, max_size=2, unique=True)))
        swapped = list(shape)
        swapped[a], swapped[b] = swapped[b], swapped[a]
        t = values(draw, tuple(swapped), dtype).transpose(a, b)
    elif layout == "sliced" and shape:
        axis = draw(st.integers(0, len(shape) - 1))
        wide = list(shape)
        wide[axis] = 2 * shape[axis]
        index = [slice(None)] * len(shape)
        index[axis] = slice(None, None, 2)
        t = values(draw, tuple(wide), dtype)[tuple(index)]
    elif layout == "offset":
        t = values(draw, (math.prod(shape) + 3,), dtype)[3:].view(shape)
    else:
        t = values(draw, shape, dtype)
    if (t.is_floating_point() or t.is_complex()) and t.dtype.itemsize > 1 and draw(st.integers(0, 4)) == 0:
        t = t.detach().requires_grad_(True)
        if draw(st.booleans()):
            t.grad = t.detach().clone()
    return t


def values(draw: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """A contiguous tensor of `shape` and `dtype`, its values a few drawn from the pools, repeated."""
    import torch

    n = math.prod(shape)
    if dtype.is_floating_point or dtype.is_complex:
        pool = draw(st.lists(st.sampled_from(FLOATS) | st.integers(-999, 999).map(lambda i: i / 100),
                             min_size=1, max_size=8))
    elif dtype == torch.bool:
        pool = draw(st.lists(st.booleans(), min_size=1, max_size=2))
    else:
        pool = [_clamp(v, dtype) for v in draw(st.lists(st.sampled_from(INTS) | st.integers(-20, 20),
                                                         min_size=1, max_size=8))]
    if dtype.itemsize == 1 and dtype.is_floating_point:
        # render/trace.py cannot record a float8 nan or inf (torch has no isfinite for float8): keep them in range
        pool = [v if math.isfinite(v) and abs(v) <= 240 else 1.5 for v in pool]
    flat = [pool[i % len(pool)] for i in range(n)]
    if dtype.is_complex:
        imag = list(reversed(flat))
        t = torch.complex(torch.tensor(flat, dtype=torch.float64), torch.tensor(imag, dtype=torch.float64))
        return t.to(dtype).reshape(shape)
    if dtype.is_floating_point:
        return torch.tensor(flat, dtype=torch.float64).to(dtype).reshape(shape)
    if dtype == torch.bool:
        return torch.tensor(flat, dtype=torch.bool).reshape(shape)
    wide = torch.uint64 if dtype == torch.uint64 else torch.int64
    return torch.tensor(flat, dtype=wide).to(dtype).reshape(shape)


WORDS = "as the tensor flows through every layer of the network its shape is checked once more and again"
STRETCH = [lambda s: s, lambda s: s * 6, lambda s: f"{s} {WORDS} {s}", lambda s: f"{s} /home/author/course/lessons/"
           "module1/tensors_and_their_shapes.py", lambda s: "", lambda s: f"ünïcødé ∑ → {s}",
           lambda s: f"{s}\n{s}\n{s}", lambda s: f"\t{s}  "]


def stretched(draw: Any, value: Any) -> Any:
    """A plain value with its strings sometimes stretched, repeated, emptied or given other characters."""
    if isinstance(value, str):
        return draw(st.sampled_from(STRETCH))(value)
    if isinstance(value, list | tuple):
        return type(value)(stretched(draw, v) for v in value)
    if isinstance(value, dict):
        return {k: stretched(draw, v) for k, v in value.items()}
    return value


@st.composite
def examples(draw: Any, kind: str) -> tuple[str, VisualSpec, dict[str, Any]]:
    """(gallery beat name, the spec with its names, the dict a compute function returns) for visual `kind`."""
    import torch

    beats = gallery_beats()[kind]
    i = draw(st.integers(0, len(beats) - 1))
    name, spec, _, _ = beats[i]
    returned: dict[str, Any] = {}
    original = computed(kind, i)
    names = [k for k, v in original.items() if isinstance(v, torch.Tensor)]
    # half the examples change one tensor and keep the others as torch made them (a lesson's one wrong input)
    one = draw(st.sampled_from(names)) if names and draw(st.booleans()) else None
    for key, value in original.items():
        if isinstance(value, torch.Tensor):
            returned[key] = draw(tensors(like=value)) if one in (None, key) else value
        elif isinstance(value, dict) and value and all(isinstance(v, torch.Tensor) for v in value.values()):
            returned[key] = {k: draw(tensors(like=v)) for k, v in value.items()}  # a state_dict
        elif isinstance(value, torch.nn.Module):
            returned[key] = value
        elif draw(st.booleans()):
            returned[key] = stretched(draw, value)
        else:
            returned[key] = value
    renames = {k: f"{k}{LONG}" for k in returned if draw(st.integers(0, 3)) == 0}
    return name, renamed(spec, renames), {renames.get(k, k): v for k, v in returned.items()}


# the options whose value names a traced entry (scenes/spec.py lists every visual's options and what they mean)
NAMING = {"inputs", "outputs", "accumulate", "error", "course", "leads", "here", "p", "scale", "mean", "draws", "eval",
          "equal", "logp", "weight", "total", "count", "momentum", "exp", "check", "temperature", "asked", "into",
          "result", "model", "session", "names", "group"}


def renamed(spec: VisualSpec, renames: dict[str, str]) -> VisualSpec:
    """The spec with its traced names (tensors, and options naming a traced entry) renamed."""
    def name(v: Any) -> Any:
        if isinstance(v, str):
            return renames.get(v, v)
        if isinstance(v, list):
            return [name(x) for x in v]
        return v

    return VisualSpec(spec.kind, tuple(name(t) for t in spec.tensors),
                      {k: name(v) if k in NAMING else v for k, v in spec.options.items()})


# the check --------------------------------------------------------------------------------------------------


def traced(name: str, returned: dict[str, Any]) -> dict[str, Any]:
    """The beat's trace entry, recorded by torch's own trace step, as JSON (strict: NaN must be a string)."""
    from render.trace import trace_beat

    beat = SimpleNamespace(name=name.split(".", 1)[1], source="def fuzzed(device): ...",
                           compute=lambda device: returned)
    return json.loads(json.dumps(trace_beat(beat, "cpu", SEED), allow_nan=False))  # type: ignore[arg-type]


def names_of(beat: BeatTrace) -> set[str]:
    return {*beat.tensors, *beat.values, *beat.modules, *beat.state_dicts}


def check_error(error: VisualError, spec: VisualSpec, beat: BeatTrace, where: str) -> None:
    assert error.visual == spec.kind, f"{where}: the error names {error.visual!r}, not the visual {spec.kind}: {error}"
    assert error.tensor, f"{where}: the error names no traced entry: {error}"
    assert any(error.tensor.startswith(n) for n in names_of(beat)), \
        f"{where}: {error.tensor!r} is none of the beat's entries {sorted(names_of(beat))}: {error}"
    assert error.reason.strip(), f"{where}: the error gives no reason"


def dry_run(name: str, spec: VisualSpec, returned: dict[str, Any]) -> str:
    """Trace, count steps and dry-run one example; returns what happened ('drawn' or 'refused: ...'), or fails."""
    import torch
    from manim import tempconfig

    from scenes.beat import BeatScene
    from scenes.visuals.base import count_steps

    entry = traced(name, returned)
    beat = BeatTrace.from_json(entry)
    job = {"title": f"Fuzzed {spec.kind}", "lesson": "Fuzzed vocabulary", "visual": spec.to_json(),
           "trace": {"beat": entry, "device": "cpu", "torch": torch.__version__}, "timing": None}
    where = f"{spec.kind} on gallery beat {name} (seed {SEED})"
    counted: int | None = None
    try:
        counted = count_steps(job["visual"], entry, "cpu", torch.__version__)
    except VisualError as error:
        check_error(error, spec, beat, f"{where}, steps()")
    try:
        with tempconfig(DRY_RUN):
            scene = BeatScene(job)
            scene.render()
    except VisualError as error:
        check_error(error, spec, beat, where)
        return f"refused: {error.reason}"
    assert counted is not None, f"{where}: steps() refused the data that play() drew"
    assert scene.lint_problems == [], f"{where}: {scene.lint_problems}"
    assert scene.steps_played == counted, f"{where}: played {scene.steps_played} steps, steps() said {counted}"
    assert scene.visual is not None
    digits = int(spec.options.get("digits") or 2)
    for tensor, cells in scene.visual.shown.items():
        if tensor in beat.tensors and isinstance(cells, dict):
            for key, text in cells.items():
                index = tuple(int(k) for k in key.split(",")) if key else ()
                assert text == beat[tensor].label(*index, digits=digits), f"{where}: {tensor}[{key}] shows {text}"
    return "drawn"


TENSOR_FREE = {"Title", "Terminal", "CourseMap", "ModuleTree"}  # their inputs are plain values or modules


@pytest.mark.parametrize("kind", available_visuals())
@seed(SEED)
@given(data=st.data())
def test_fuzzed_trace_draws_or_names_why_not(kind: str, data: st.DataObject) -> None:
    """Examples per visual: CI_EXAMPLES (profile studio-ci, the default) or THOROUGH_EXAMPLES (--hypothesis-profile
    thorough); seed: SEED (30, or STUDIO_FUZZ_SEED)."""
    print(f"{kind}: profile {settings.get_current_profile_name()}, {settings().max_examples} examples, seed {SEED}")
    if kind not in gallery_beats():
        pytest.fail(f"{kind} has no gallery beat to take its call from")
    name, spec, returned = data.draw(examples(kind), label="example")
    outcome = dry_run(name, spec, returned)
    data.draw(st.just(outcome), label="outcome")
