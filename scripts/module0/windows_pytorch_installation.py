"""0.2.1 Windows: Assembling the PyTorch Development Environment. pyenv-win and poetry, the CUDA wheel from
PyTorch's own index as a poetry source with explicit priority, the CPU-only trap, and WSL2.

The trace cannot run Windows, so every terminal here is labelled "expected on Windows": its output is
built from documented behaviour (PyTorch's install selector, the poetry and WSL docs), with the Python and
torch versions of the trace, and parts that differ per machine written as "...". Where the render
machine can check a claim (a +cpu build has no CUDA), `expect` checks it."""

import platform

import torch

from render.lesson import Lesson, expect
from scenes.vocabulary import Terminal, Title

WINDOWS = "expected on Windows"
CUDA_TAG = "cu126"  # an example CUDA tag, not computed: PyTorch's install selector lists the ones each release offers
INDEX = f"https://download.pytorch.org/whl/{CUDA_TAG}"

lesson = Lesson(
    objectives=[
        "pyenv-win: pick the Python you want",
        "poetry: one environment per project",
        "CUDA wheels from PyTorch's own index",
        "The CPU-only trap, and WSL2",
    ],
    recap=[
        "pyenv-win picks Python, poetry the packages",
        "CUDA wheels come from PyTorch's index",
        "is_available() False, GPU listed: the trap",
        "WSL2: Linux, with your Windows GPU driver",
    ],
    challenge="Set up a poetry project whose torch comes from PyTorch's CUDA index, prove "
    "torch.cuda.is_available() is True, then run check_lab.py. No NVIDIA GPU? Show what gives a CPU-only "
    "build away.",
)


def versions():
    """The versions the trace ran with: Python's, and torch's without its build tag."""
    return platform.python_version(), torch.__version__.split("+")[0]


def expected(pairs):
    return [[command, output, WINDOWS] for command, output in pairs]


@lesson.beat(
    "What you will learn",
    narration="""Windows, apprentices: a fine fortress, if you know its secret passages. | We install the
    Python we want with pyenv-win. | We give each project its own environment with poetry. | We fetch the
    CUDA build of torch from PyTorch's own index. | And we learn to spot the CPU-only trap, with WSL2 as
    another door into the laboratory.""",
    visual=Title(heading="Today in the laboratory", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "pyenv-win: your Python",
    narration="""pyenv-win keeps several Pythons side by side, and lets each folder pick one. Install it
    from its project page. | Then pyenv install fetches the version you want: this course ran with Python
    {{ py }}. | pyenv local pins that version for this folder, quietly. | And python dash dash version
    confirms it: Python {{ py }}. This window is what we expect on Windows, not a recording.""",
    visual=Terminal(session="session", system="powershell"),
    slide=["`pyenv install <version>`", "`pyenv local <version>`: pinned per folder", "`python --version`"],
)
def pyenv(device):
    py, _ = versions()
    session = expected([
        (f"pyenv install {py}",
         f":: [Info] ::  Mirror: https://www.python.org/ftp/python\n...\n:: [Installing] ::  {py} ...\n"
         f":: [Info] :: completed! {py}"),
        (f"pyenv local {py}", ""),
        ("python --version", f"Python {py}"),
    ])
    expect(platform.python_version_tuple()[0] == "3", "the course runs on Python 3")
    return {"session": session, "py": py}


@lesson.beat(
    "poetry: one environment per project",
    narration="""Next, poetry: one environment, and one list of packages, per project. | poetry init writes
    that list, pyproject dot toml; no interaction means it asks no questions. Once you add packages, poetry
    dot lock pins their exact versions. | poetry env use creates a virtual environment for the project, with the
    Python that pyenv chose. poetry add, install and run now work inside it, so one project's packages never
    poison another's.""",
    visual=Terminal(session="session", system="powershell"),
    slide=["`poetry init`: a pyproject.toml", "`poetry env use python`: the project's environment",
           "`poetry add` writes `poetry.lock`: exact versions"],
)
def poetry(device):
    py, _ = versions()
    minor = ".".join(py.split(".")[:2])
    session = expected([
        ("poetry init --no-interaction", ""),
        ("poetry env use python", f"Creating virtualenv lab-...-py{minor} in ...\\pypoetry\\Cache\\virtualenvs\n"
                                  f"Using virtualenv: ...\\virtualenvs\\lab-...-py{minor}"),
    ])
    return {"session": session}


@lesson.beat(
    "The CUDA wheel, from PyTorch's index",
    narration="""Here is the secret passage. | On Windows, says PyTorch's install selector, the torch on the
    Python package index is built for the cpu only; the CUDA builds live on PyTorch's own index, this
    address. So we add it to poetry as a source, with explicit priority: poetry asks it only for packages
    that name it; everything else comes from the package index. | Then we add torch from that source: poetry
    installs torch {{ version }}, tagged with the index's CUDA version, {{ tag }} in our example. The
    selector lists each release's tags.""",
    visual=Terminal(session="session", system="powershell"),
    slide=["`poetry source add --priority explicit`", f"`poetry add --source pytorch-{CUDA_TAG} torch`",
           "Other packages still come from PyPI"],
)
def cuda_source(device):
    _, base = versions()
    session = expected([
        (f"poetry source add --priority explicit pytorch-{CUDA_TAG} {INDEX}",
         f"Adding source with name pytorch-{CUDA_TAG}."),
        (f"poetry add --source pytorch-{CUDA_TAG} torch",
         f"Using version ^{base} for torch\n...\n  - Installing torch ({base}+{CUDA_TAG})"),
    ])
    return {"session": session, "version": base, "tag": CUDA_TAG}


@lesson.beat(
    "The CPU-only trap",
    narration="""The trap that devours apprentices: a CPU-only torch beside an NVIDIA card. |
    poetry run uses the project's Python. This torch, {{ cpu_version }}, came from PyTorch's CPU index, as
    its plus cpu says; cuda is available answers False. A plain pip install on Windows falls in it too: the
    package index's torch is CPU-only there. | Yet nvidia-smi sees your card just fine:
    the driver is fine, the wheel is wrong. | Reinstall from PyTorch's CUDA index, and the same question
    answers {{ cuda_version }} and True. False beside a listed card: that is the clue.""",
    visual=Terminal(session="session", system="powershell"),
    slide=["`+cpu` in `torch.__version__`: a CPU-only wheel", "`torch.cuda.is_available()` is False",
           "`nvidia-smi` still lists the GPU"],
)
def cpu_trap(device):
    _, base = versions()
    check = 'poetry run python -c "import torch; print(torch.__version__, torch.cuda.is_available())"'
    session = expected([
        (check, f"{base}+cpu False"),
        ("nvidia-smi -L", "GPU 0: NVIDIA GeForce ... (UUID: GPU-...)"),
        (check, f"{base}+{CUDA_TAG} True"),
    ])
    if "+cpu" in torch.__version__:  # the render machine may itself hold a CPU-only wheel: check the trap on it
        expect(torch.version.cuda is None and not torch.cuda.is_available(), "a +cpu build never sees CUDA")
    gpu_build = torch.version.cuda is not None or torch.version.hip is not None
    expect(gpu_build or not torch.cuda.is_available(), "a build without CUDA or ROCm answers False")
    return {"session": session, "cpu_version": f"{base}+cpu", "cuda_version": f"{base}+{CUDA_TAG}"}


@lesson.beat(
    "WSL2: Linux inside Windows",
    narration="""Another door: WSL2 runs a real Linux inside Windows. | wsl dash dash install sets it up, with
    Ubuntu by default, say Microsoft's docs. Then wsl dash l dash v lists your distributions; NVIDIA's guide
    to CUDA on WSL asks for version {{ wsl_version }}. | Inside it, in your Linux home, follow the Linux lesson:
    its torch from the package index uses your card through the Windows driver. From PowerShell, wsl runs
    that lab env's python: cuda is available answers True. The same guide warns: never install a Linux NVIDIA
    driver inside WSL.""",
    visual=Terminal(session="session", system="powershell"),
    slide=["`wsl --install`: Ubuntu by default", "WSL2 uses the Windows GPU driver",
           "Inside: follow the Linux lesson"],
)
def wsl(device):
    wsl_version = 2  # not computed: NVIDIA's CUDA on WSL guide asks for WSL 2
    session = expected([
        ("wsl -l -v", f"  NAME      STATE           VERSION\n* Ubuntu    Running         {wsl_version}"),
        # --cd ~: run in the Linux home, where the Linux lesson made its lab-env (Microsoft's wsl docs)
        ('wsl --cd ~ lab-env/bin/python -c "import torch; print(torch.cuda.is_available())"', "True"),
    ])
    return {"session": session, "wsl_version": wsl_version}


@lesson.beat(
    "Recap",
    narration="""Your Windows fortress is armed! | pyenv-win picks the Python, and poetry manages each project's
    packages. | CUDA wheels come from PyTorch's own index, added as an explicit source. | cuda is available
    False while nvidia-smi lists your card: that is the trap. | And WSL2 gives you Linux, with your Windows GPU
    driver.""",
    visual=Title(heading="What we assembled", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Your trial, apprentice. | Create a poetry project, add PyTorch's CUDA index as an explicit
    source, and install torch from it. Then prove that cuda is available answers True, and run the lab check.
    No NVIDIA card on your machine? Then show what gives a CPU-only build away.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["A poetry project with PyTorch's CUDA index", "Prove `torch.cuda.is_available()`",
           "Then run `check_lab.py`"],
)
def challenge(device):
    return {}
