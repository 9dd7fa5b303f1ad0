"""0.2.2 Linux: Assembling the PyTorch Open-Source Toolkit. A virtual environment, the NVIDIA driver,
installing torch (CUDA, ROCm or CPU builds), and the lab check. Every terminal in this lesson is real:
its commands ran in bash during the trace, and the screen shows what they printed."""

import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from render.lesson import Lesson, expect
from scenes.vocabulary import Terminal, Title

VENV_PACKAGE = "Debian, Ubuntu: sudo apt install python3-venv, if venv asks for it"

lesson = Lesson(
    objectives=[
        "A virtual environment: venv, uv or poetry",
        "nvidia-smi: is the driver there?",
        "pip install torch: CUDA, ROCm or CPU",
        "The lab check, run for real",
    ],
    recap=[
        "One virtual environment per project",
        "nvidia-smi answers first: no driver, no CUDA",
        "torch.version.cuda and .hip name the build",
        "check_lab.py exits 0 when it finds no problem",
    ],
    challenge="Create a fresh environment, install torch, run check_lab.py, and explain each line it prints.",
)


def lab_folder():
    """Where check_lab.py lives: the studio's assets/lab (the course page links a copy), or, in a learner's
    notebook without the studio, the folder the notebook runs in."""
    try:
        from render.course import ROOT
    except ImportError:
        return Path.cwd()
    return ROOT / "assets" / "lab"


def bash_session(commands, cwd):
    """Run `commands` one after another in ONE bash process (so `source` and `$?` carry over, as in a
    terminal), with this Python's folder first on the PATH; each command's output, as printed."""
    marker = "@@torchenstein-{}@@"
    script = "\n".join(f"printf '{marker.format(k)}\\n'\n{cmd} 2>&1" for k, cmd in enumerate(commands))
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
           "HOME": str(cwd)}
    done = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)
    parts = re.split(r"@@torchenstein-\d+@@\n", done.stdout)[1:]
    origin = f"captured on {platform.system()}"
    return [[cmd, out, origin] for cmd, out in zip(commands, parts, strict=True)]


@lesson.beat(
    "What you will learn",
    narration="""Welcome to the penguin's laboratory, apprentices: open source, all the way down. | First, a
    virtual environment, so each experiment keeps its own potions. | Then we ask the NVIDIA driver whether a
    GPU is present. | We install torch, and learn to tell a CUDA build from a ROCm or CPU build. | And we run
    the lab check, for real, on the very machine that rendered this video.""",
    visual=Title(heading="Today in the laboratory", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "A virtual environment",
    narration="""One project, one environment: no potion contaminates another. | Python's venv module makes
    one, called as python3, since Debian and Ubuntu have no plain python by default. It prints nothing when
    all is well. | Activating it puts its Python first on the path. | which python proves it: inside, plain
    python is the environment's own. uv venv makes the same kind of folder; poetry and uv lock pin exact
    versions in a lock file. | On Debian and Ubuntu, venv is a separate package: if asked, install python3
    dash venv with apt.""",
    visual=Terminal(session="session", system="bash", caption=VENV_PACKAGE),
    slide=["`python3 -m venv lab-env`", "`source lab-env/bin/activate`",
           "`uv venv` makes one too; poetry and `uv lock` pin versions",
           "Debian, Ubuntu: `sudo apt install python3-venv`"],
)
def venv(device):
    with tempfile.TemporaryDirectory(prefix="lab-") as home:
        session = bash_session(["python3 -m venv lab-env", "source lab-env/bin/activate", "which python"], home)
        expect(session[0][1] == "" and session[1][1] == "", "creating and activating the venv print nothing")
        inside = session[2][1].strip()
        expect(inside == str(Path(home) / "lab-env" / "bin" / "python"), "the activated python is the venv's")
    return {"session": session}


@lesson.beat(
    "Is there an NVIDIA driver?",
    narration="""Before any torch, ask the driver. | The command nvidia-smi comes with the NVIDIA driver, and
    asks it which cards it sees. {% if gpus %}Here it answers: {{ gpus }}. The driver is alive, and the
    CUDA build of torch can use it.{% elif missing.value %}On this machine bash answers: command not found. No
    nvidia-smi usually means no NVIDIA driver installed, and torch finds no CUDA here. On a GPU machine the
    same query prints the card's name, the driver's version and its memory.{% else %}Here it fails: the
    driver is missing or broken, and CUDA waits until it is fixed.{% endif %}""",
    visual=Terminal(session="session", system="bash"),
    slide=["`nvidia-smi` ships with the driver", "No driver: no CUDA, whatever torch you install",
           "Query name, driver and memory as CSV"],
)
def nvidia_smi(device):
    query = "nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader"
    session = bash_session([query], lab_folder())
    answer = session[0][1]
    missing = "command not found" in answer
    found = not missing and "failed" not in answer.lower() and bool(answer.strip())
    gpus = answer.strip().replace("\n", "; ") if found else ""
    expect(found or not torch.cuda.is_available(), "where nvidia-smi finds no GPU, torch sees no CUDA device")
    return {"session": session, "gpus": gpus, "missing": missing}


@lesson.beat(
    "Installing torch",
    narration="""On a Linux PC, says PyTorch's install page, pip install torch gets a build with CUDA. |
    PyTorch's own index also has ROCm wheels for AMD cards, and CPU-only ones. pip show names your torch:
    version {{ version }}. {% if cpu_tag.value %}The plus cpu marks a CPU-only wheel, as PyTorch's own index
    names them; the package index refuses a plus in a version, so this is not its
    default wheel.{% elif tag %}The plus tag marks a wheel from PyTorch's own index.{% endif %} | And torch
    says what it was built for: version dot cuda says {{ cuda }}, and dot hip says {{ hip }}. {% if
    build == "CPU only" %}Neither: a CPU-only build.{% elif hip != "None" %}So this is a ROCm build.{% else %}So
    this is a CUDA build.{% endif %}""",
    visual=Terminal(session="session", system="bash"),
    slide=["`pip install torch`", "AMD: the ROCm wheels from PyTorch's index",
           "`torch.version.cuda`, `torch.version.hip`"],
)
def install(device):
    session = bash_session(
        ["pip show torch | head -n 2", 'python -c "import torch; print(torch.version.cuda, torch.version.hip)"'],
        lab_folder(),
    )
    tag = session[0][1].split("Version: ")[1].strip().partition("+")[2]  # the wheel's local tag: cpu, cu126, ...
    cuda, hip = torch.version.cuda, torch.version.hip
    build = f"ROCm {hip}" if hip else (f"CUDA {cuda}" if cuda else "CPU only")
    expect(session[1][1].split() == [str(cuda), str(hip)], "torch reports its own CUDA and HIP versions")
    expect("+cpu" not in torch.__version__ or cuda is None, "a +cpu wheel carries no CUDA")
    expect(cuda is not None or hip is not None or not torch.cuda.is_available(),
           "without a CUDA or ROCm build, cuda is unavailable")
    return {"session": session, "version": torch.__version__, "cuda": str(cuda), "hip": str(hip), "build": build,
            "tag": tag, "cpu_tag": tag == "cpu"}


@lesson.beat(
    "The lab check, for real",
    narration="""Now the moment of truth: the lab check, run on this very machine while the lesson was made. |
    It reports Python {{ python }}, torch {{ version }}, a {{ build }} build, and a {{ size }} by {{ size }}
    matrix product timed on each device torch can use; {% if only_cpu.value %}here only the cpu, in
    {{ cpu_ms }} milliseconds.{% else %}the cpu took {{ cpu_ms }} milliseconds.{% endif %} | The exit status
    is {{ code }}: {% if problem %}something is off, and the hint says what.{% else %}no problem found.{% endif
    %} Anything else means: read what it printed.""",
    visual=Terminal(session="session", system="bash"),
    slide=["`python check_lab.py`", "Versions, build, devices, MPS", "Exit status 0: no problem found"],
)
def lab_check(device):
    session = bash_session(["python check_lab.py", "echo $?"], lab_folder())
    out = session[0][1]
    code = int(session[1][1])
    expect(f"torch    {torch.__version__}" in out, "the lab check reports the torch that is installed")
    expect((code == 0) == ("Problem:" not in out), "the lab check fails exactly when it prints a problem")
    size = int(re.search(r"(\d+)x\d+ matmul", out).group(1))
    cpu_ms = re.search(r"cpu\s+([\d.]+) ms", out).group(1)  # as printed
    timed = re.findall(r"^  (\S+)\s+[\d.]+ ms", out, flags=re.MULTILINE)  # one row per device it timed
    return {
        "session": session, "code": code, "python": platform.python_version(), "version": torch.__version__,
        "build": re.search(r"build\s+(.+)", out).group(1), "size": size, "cpu_ms": cpu_ms,
        "problem": "" if code == 0 else out[out.index("Problem:"):], "only_cpu": timed == ["cpu"],
    }


@lesson.beat(
    "Recap",
    narration="""Your open-source toolkit stands ready! | One virtual environment per project keeps the potions
    apart. | nvidia-smi answers first: without a driver, no CUDA. | torch dot version dot cuda and dot hip
    name the build you installed. | And the lab check exits with zero when it finds no problem.""",
    visual=Title(heading="What we assembled", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Your trial, apprentice. | Create a fresh environment with venv, uv or poetry, install torch into
    it, and run the lab check. Then explain every line it prints: the build, each device, the timings. If it
    exits with anything but zero, follow its hint until it does. Mwahaha!""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["Fresh environment, then `pip install torch`", "Run `check_lab.py`, explain each line",
           "Not zero? Follow the hint"],
)
def challenge(device):
    return {}
