"""Gallery beats for the course-level visuals: `CourseMap` (the manifest, read during the trace) and
`Terminal` in each console style: output captured from a real subprocess here, or labelled as expected
on a system the trace cannot run on."""

import platform
import subprocess
import sys
from pathlib import Path

import torch

from render.course import load_course
from render.lesson import Lesson
from scenes.vocabulary import CourseMap, Terminal

lesson = Lesson(
    objectives=["See the course map and the terminal styles"],
    recap=["Captured output is real; expected output says so"],
    seed=11,
)


def beat(title, visual, name=None):
    return lesson.beat(title, narration=f"The {visual.kind} visual.", visual=visual, name=name)


def captured(command):
    """Run `command` in bash here, with this Python first on the PATH; [command, output, origin]."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8"}
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=120)
    return [command, done.stdout + done.stderr, f"captured on {platform.system()}"]


@beat("CourseMap", CourseMap(course="course", leads="leads", here="here"))
def course_map(device):
    course = load_course()
    modules = [
        [m.number, m.title, [[s.id, s.title, [[x.id, x.title, x.scripted] for x in s.lessons]]
                             for s in m.sections]]
        for m in course.modules if not m.beyond_outline
    ]
    return {"course": modules, "leads": ["Transformers", "Diffusion models"], "here": course.lessons[0].id}


@beat("Terminal: bash, captured", Terminal(session="session", system="bash"))
def terminal_bash(device):
    session = [
        captured('python -c "import torch; print(torch.__version__)"'),
        captured("printf 'a\\n  indented\\n'; echo done"),
    ]
    return {"session": session}


@beat("Terminal: PowerShell, expected", Terminal(session="session", system="powershell",
                                                 caption="built from documented facts, not captured"))
def terminal_powershell(device):
    base = torch.__version__.split("+")[0]
    session = [['python -c "import torch; print(torch.__version__)"', f"{base}+cpu", "expected on Windows"]]
    return {"session": session}


@beat("Terminal: Colab cells, expected", Terminal(session="session", system="colab"))
def terminal_colab(device):
    session = [
        ["import torch\ntorch.cuda.is_available()", "True", "expected on Colab"],
        ["torch.cuda.get_device_name(0)", "'Tesla T4'", "expected on Colab"],
    ]
    return {"session": session}
