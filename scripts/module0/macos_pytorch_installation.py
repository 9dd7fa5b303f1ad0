"""0.2.3 macOS: Assembling Your PyTorch Setup. Apple silicon and an arm64 Python, torch with MPS from the
package index, `is_built` against `is_available`, `PYTORCH_ENABLE_MPS_FALLBACK` for operators MPS lacks,
and float64, which MPS does not support.

The trace cannot run macOS, so every terminal here is labelled "expected on macOS". Its output is built
from documented behaviour with the versions of the trace, and the error messages are torch's own: the
compute functions read them from the test sources of the torch that ran the trace, which record what MPS
raises. Claims the render machine can check go through `expect`."""

import re
from pathlib import Path

import numpy as np
import torch

from render.lesson import Lesson, expect, expect_each
from scenes.vocabulary import Terminal, Title

MACOS = "expected on macOS"

lesson = Lesson(
    objectives=[
        "Apple silicon: an arm64 Python",
        "Install torch: MPS comes included",
        "MPS: is_built against is_available",
        "Missing operators and float64",
    ],
    recap=[
        "Use an arm64 Python, not Rosetta",
        "The macOS wheel from PyPI includes MPS",
        "is_built: compiled in; is_available: usable now",
        "PYTORCH_ENABLE_MPS_FALLBACK=1; float32 on MPS",
    ],
    challenge="Write a script that picks mps when it is available, else the cpu, and runs a float32 "
    "matrix product there; then run check_lab.py. No Mac? Predict what it would print.",
)


def expected(pairs):
    return [[command, output, MACOS] for command, output in pairs]


def torch_test_sources():
    """The text of torch's own test definitions, where MPS's error messages are recorded."""
    path = Path(torch.__file__).parent / "testing" / "_internal" / "common_methods_invocations.py"
    return path.read_text(encoding="utf-8")


@lesson.beat(
    "What you will learn",
    narration="""Apple silicon, apprentices: a GPU hiding inside your Mac, waiting to be awakened. | First,
    make sure your Python speaks arm64. | Then install torch, with the Metal backend, MPS, included. | We
    learn what is built and is available each tell you. | And we tame the two beasts of MPS: missing
    operators, and float64.""",
    visual=Title(heading="Today in the laboratory", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "Apple silicon, arm64 Python",
    narration="""Open the Terminal, where zsh greets you with its percent prompt. | uname dash m answers
    {{ arch }}: an Apple silicon Mac. | Now ask Python the same question. It must also say {{ arch }}. If it
    says x86_64, your Python runs under Rosetta, translated from Intel: recent torch releases publish no
    wheels for Intel Macs, so pip finds only an old torch, or none at all. Install an arm64 Python, from
    python dot org or Homebrew.""",
    visual=Terminal(session="session", system="zsh"),
    slide=["`uname -m`: arm64 on Apple silicon", "Python must say arm64 too",
           "x86_64: Rosetta; install an arm64 Python"],
)
def apple_silicon(device):
    arch = "arm64"
    session = expected([
        ("uname -m", arch),
        ('python3 -c "import platform; print(platform.machine())"', arch),
    ])
    return {"session": session, "arch": arch}


@lesson.beat(
    "Installing torch",
    narration="""On a Mac there is no secret index: the torch on the Python package index already includes
    MPS. | Create a virtual environment. | Activate it. | pip install torch fetches it; no CUDA on a Mac, so
    no CUDA tags to choose from. | And torch names its version: {{ version }}, with no plus tag.""",
    visual=Terminal(session="session", system="zsh"),
    slide=["`python3 -m venv .venv`", "`source .venv/bin/activate`", "`pip install torch`: MPS included"],
)
def install(device):
    base = torch.__version__.split("+")[0]
    session = expected([
        ("python3 -m venv .venv", ""),
        ("source .venv/bin/activate", ""),
        ("pip install torch", f"...\nSuccessfully installed ... torch-{base} ..."),
        ('python -c "import torch; print(torch.__version__)"', base),
    ])
    return {"session": session, "version": base}


@lesson.beat(
    "is_built against is_available",
    narration="""Two questions, two different answers. | is built asks: was this torch compiled with MPS?
    is available asks: can it use MPS right now, on this Mac? On Apple silicon with a recent macOS, both say
    True. On a macOS too old for MPS, built says True and available says False. | Once available, you put
    tensors on it with device equals mps.""",
    visual=Terminal(session="session", system="zsh"),
    slide=["`torch.backends.mps.is_built()`: compiled in", "`torch.backends.mps.is_available()`: usable now",
           "`device='mps'`"],
)
def mps_status(device):
    mps = torch.backends.mps
    expect(not mps.is_available() or mps.is_built(), "MPS can only be available in a torch built with it")
    session = expected([
        ('python -c "import torch; print(torch.backends.mps.is_built(), torch.backends.mps.is_available())"',
         "True True"),
        ("python -c \"import torch; print(torch.ones(2, device='mps'))\"", "tensor([1., 1.], device='mps:0')"),
    ])
    return {"session": session}


@lesson.beat(
    "Operators MPS lacks",
    narration="""MPS does not implement every operator yet. | Call one it lacks, like {{ op }}, which torch's
    own tests record as missing, and torch raises {{ error }}, naming the operator. | Set the environment
    variable PYTORCH_ENABLE_MPS_FALLBACK to one before Python starts, and torch runs that operator on the cpu
    instead, with a warning. Slower, but alive!""",
    visual=Terminal(session="session", system="zsh"),
    slide=["`NotImplementedError` for a missing operator", "`PYTORCH_ENABLE_MPS_FALLBACK=1`",
           "The fallback runs on the CPU: slower"],
)
def fallback(device):
    sources = torch_test_sources()
    ops = re.findall(r"(\w+Error): The operator 'aten::([a-z]\w*)' is not currently implemented for the MPS device",
                     sources)
    error, op = ops[0]  # the first operator torch's own tests record as missing on MPS, and the error they record
    expect(hasattr(torch, op), f"torch.{op} exists, so it can be called on the cpu")
    call = f"python -c \"import torch; torch.{op}(torch.rand(3, 3, device='mps'))\""
    session = expected([
        (call, f"{error}: The operator 'aten::{op}' is not currently implemented for the MPS device."
               " ... set the environment variable `PYTORCH_ENABLE_MPS_FALLBACK=1` to use the CPU as a"
               " fallback for this op. ..."),
        (f"PYTORCH_ENABLE_MPS_FALLBACK=1 {call}",
         f"UserWarning: The operator 'aten::{op}' is not currently supported on the MPS backend and will"
         " fall back to run on the CPU. ..."),
    ])
    return {"session": session, "op": f"torch.{op}", "error": error}


@lesson.beat(
    "No float64 on MPS",
    narration="""And the second beast: MPS has no float64. | Ask for a float64 tensor on mps, and torch refuses
    with a {{ error }}. | Use float32 instead, and mps makes the same zeros without complaint. | torch dot
    finfo gives float32's decimal resolution, {{ resolution }}: plenty for training. And beware: NumPy makes
    decimal arrays in float64 by default, so convert them with dot float before sending them to mps.""",
    visual=Terminal(session="session", system="zsh"),
    slide=["float64 on MPS: `TypeError`", "Use `float32`", "NumPy arrays are float64: `.float()` first"],
)
def no_float64(device):
    error, message = re.search(r"(\w+Error): (Cannot convert a MPS Tensor to float64 dtype as the MPS framework "
                               r"doesn't support float64)", torch_test_sources()).groups()
    resolution = torch.finfo(torch.float32).resolution  # float32's decimal resolution, as torch gives it
    session = expected([
        ("python -c \"import torch; torch.zeros(2, dtype=torch.float64, device='mps')\"", f"{error}: {message} ..."),
        ("python -c \"import torch; print(torch.zeros(2, dtype=torch.float32, device='mps'))\"",
         "tensor([0., 0.], device='mps:0')"),
        ('python -c "import torch; print(torch.finfo(torch.float32).resolution)"', f"{resolution}"),
    ])
    expect_each([np.zeros(2), np.array([0.5, 1.5]), np.linspace(0, 1, 3), np.random.default_rng(0).random(2)],
                lambda a: torch.from_numpy(a).dtype == torch.float64, "NumPy's decimal arrays are float64 by default")
    expect(torch.zeros(2, dtype=torch.float64).float().dtype == torch.float32, ".float() converts to float32")
    return {"session": session, "resolution": f"{resolution}", "error": error}


@lesson.beat(
    "Recap",
    narration="""Your Apple laboratory hums with power! | Use an arm64 Python, never one under Rosetta. | The
    torch on the package index already includes MPS. | is built means compiled in; is available means usable
    right now. | For a missing operator, set the fallback variable; and on mps, use float32, never float64.""",
    visual=Title(heading="What we assembled", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Your trial, apprentice. | Write a script that chooses mps when it is available, and the cpu
    otherwise. Run a float32 matrix product on that device, and print where the result lives. Then run the
    lab check, and read what it says about MPS. No Mac? Then predict what it would print.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["Pick mps if available, else cpu", "A float32 matmul on that device", "Run `check_lab.py`"],
)
def challenge(device):
    return {}
