"""0.1.1 Master Blueprint for the Rebellion: the course map (read from the manifest, scripts/course.toml,
during the trace), how a lesson is made and how to use its video and decks, and the lab check."""

import platform
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import torch

from render.lesson import Lesson, expect
from scenes.vocabulary import CourseMap, Show, Terminal, Title

lesson = Lesson(
    objectives=[
        "The map: modules, sections, lessons",
        "How a lesson is made: every number is real",
        "Videos and decks: how to study with them",
        "The lab check: is your PyTorch ready?",
    ],
    recap=[
        "Module 0 sets up, module 1 teaches tensors",
        "The code on screen is the code that ran",
        "Pause, type along, then use the decks",
        "check_lab.py says when your lab is ready",
    ],
    challenge="Run check_lab.py on your machine, then watch the setup lesson for your system.",
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
    """Run `commands` one after another in ONE bash process, with this Python first on the PATH; each
    command's output as printed (so what the screen shows is what really ran here)."""
    marker = "@@torchenstein-{}@@"
    script = "\n".join(f"printf '{marker.format(k)}\\n'\n{cmd} 2>&1" for k, cmd in enumerate(commands))
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    done = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)
    parts = re.split(r"@@torchenstein-\d+@@\n", done.stdout)[1:]
    origin = f"captured on {platform.system()}"
    return [[cmd, out, origin] for cmd, out in zip(commands, parts, strict=True)]


@lesson.beat(
    "What you will learn",
    narration="""Welcome, my aspiring apprentices, to the rebellion's war room! | First, the master blueprint:
    every module, section and lesson ahead. | Then how each lesson is made, and why you can trust every
    number in it. | How to study with the videos and the slide decks. | And the lab check, a small script
    that tells you whether your PyTorch is ready for battle.""",
    visual=Title(heading="Today in the laboratory", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "The master blueprint",
    narration="""Behold the blueprint, read straight from the course manifest! Module {{ first }} sets up
    your laboratory in {{ setup_lessons }} lessons: this map, then one lesson per system. | Module
    {{ second }} is the core: tensors, their operations, einsum and autograd, in {{ core_lessons }} lessons.
    | Module {{ third }} builds neural networks with torch dot nn. Filled chips are scripted, {{ scripted }}
    of {{ total }} so far; outlined ones are still being forged. | And where does it all lead? To
    {{ leads }}. Mwahaha!""",
    visual=CourseMap(course="course", leads="leads", here="here"),
    slide=["Module 0: your PyTorch laboratory", "Module 1: tensors, einsum, autograd",
           "Module 2: neural networks with `torch.nn`", "Then Transformers, then diffusion models"],
)
def blueprint(device):
    from render.course import SCRIPTS, load_course  # the studio's manifest: this beat draws the course itself

    course = load_course()
    manifest = tomllib.loads((SCRIPTS / "course.toml").read_text(encoding="utf-8"))
    modules = [
        [m.number, m.title, [[s.id, s.title, [[x.id, x.title, x.scripted] for x in s.lessons]] for s in m.sections]]
        for m in course.modules
    ]
    here = course.lesson("pytorch-course-structure").id  # this lesson, drawn in violet
    first, second, third = (m.number for m in course.modules[:3])
    return {
        "course": modules, "leads": manifest["leads"], "here": here,
        "first": first, "second": second, "third": third,
        "setup_lessons": len(course.modules[0].lessons), "core_lessons": len(course.modules[1].lessons),
        "scripted": sum(x.scripted for x in course.lessons), "total": len(course.lessons),
    }


@lesson.beat(
    "How a lesson is made",
    narration="""Every lesson is a script of beats: one idea, with narration, a computation, a picture and a
    slide. The code on the left is exactly the code that ran to make this beat. | torch computed this
    {{ x.shape }} tensor on the {{ device }}. | And this one, its sum along the rows: {{ y.values }}. No
    number in this course is typed by hand; torch computed them all.""",
    visual=Show("x", "y"),
    slide=["A beat: narration, computation, picture, slide", "The code shown is the code that ran",
           "Every number comes from torch"],
)
def anatomy(device):
    x = torch.arange(6, device=device).reshape(2, 3)
    y = x.sum(dim=1)
    expect(torch.equal(y, torch.stack([x[0].sum(), x[1].sum()])), "the sum along dim 1 adds each row")
    return {"x": x, "y": y}


@lesson.beat(
    "Pause and type along",
    narration="""The videos are made to be paused. | Type the code yourself, in a terminal or a notebook,
    and check that your torch prints what ours printed. This session ran for real while the lesson was
    rendered: a two by three tensor, the same numbers you saw a moment ago. Each chapter of a video is one
    beat, and the subtitles follow the narration.""",
    visual=Terminal(session="session", system="bash"),
    slide=["Pause, type, compare", "One chapter per beat", "Subtitles on the course page"],
)
def type_along(device):
    code = "import torch; print(torch.arange(6).reshape(2, 3))"
    session = bash_session([f'python -c "{code}"'], lab_folder())
    expect(session[0][1] == f"{torch.arange(6).reshape(2, 3)}\n", "the terminal shows what torch prints")
    return {"session": session}


@lesson.beat(
    "Videos and decks",
    narration="""Each lesson comes in three forms. | The video, with chapters and subtitles. | An HTML deck
    for your browser: one slide per beat, with its code, to revise at your own pace. | And a PowerPoint deck,
    for teaching the lesson to your own band of rebels.""",
    visual=Title(heading="Three ways to study", lines=[
        "The video: chapters and subtitles",
        "The HTML deck: one slide per beat, in the browser",
        "The PowerPoint deck: teach it yourself",
    ]),
    slide=["Video: chapters, subtitles", "HTML deck: revise in the browser", "PowerPoint: teach it"],
)
def study(device):
    return {}


@lesson.beat(
    "The lab check",
    narration="""Before module one, test your laboratory with check lab dot py, linked from the course page.
    | Run it with your environment's Python. It prints the Python and torch versions, the build, and a
    small matrix product on every device; here the cpu took {{ cpu_ms }} milliseconds. Its verdict:
    {{ verdict }} When something is off, it names the problem and a fix. | Its exit status, {{ code }},
    tells scripts the same: zero means ready.""",
    visual=Terminal(session="session", system="bash"),
    slide=["Download `check_lab.py` from the course page", "`python check_lab.py`",
           "A problem? Watch the lesson for your system"],
)
def lab_check(device):
    session = bash_session(["python check_lab.py", "echo $?"], lab_folder())
    out = session[0][1]
    code = int(session[1][1])
    expect((code == 0) == ("Problem:" not in out), "the lab check fails exactly when it prints a problem")
    expect(f"torch    {torch.__version__}" in out, "the lab check reports the torch that is installed")
    cpu_ms = float(re.search(r"cpu\s+([\d.]+) ms", out).group(1))
    verdict = out.strip().splitlines()[-1]
    return {"session": session, "cpu_ms": round(cpu_ms, 1), "verdict": verdict, "code": code}


@lesson.beat(
    "Recap",
    narration="""The blueprint is yours, apprentice! | Module zero sets up your laboratory, and module one
    teaches tensors. | The code on screen is the code that ran, and torch computed every number. | Pause,
    type along, and revise with the decks. | And the lab check tells you when your laboratory is ready.""",
    visual=Title(heading="What we charted", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Your first trial, apprentice. | Download the lab check from the course page and run it on
    your own machine. Read every line it prints. Then pick the setup lesson for your system, Windows, Linux,
    macOS or Colab, and do not rest until the lab check says all good. Mwahaha!""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["Run `check_lab.py` on your machine", "Watch the setup lesson for your system",
           "Until it says: all good"],
)
def challenge(device):
    return {}
