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
        "How a lesson is made: the code that ran",
        "Videos, decks, notebooks: how to study",
        "The lab check: is your PyTorch ready?",
    ],
    recap=[
        "Module 0 sets up, module 1 teaches tensors",
        "The code on screen is the code that ran",
        "Pause, type along, then use the decks",
        "check_lab.py finds the usual setup problems",
    ],
    challenge="Run check_lab.py on your machine, then watch the setup lesson for your system: Windows, Linux, "
    "macOS or Colab.",
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
    the modules, sections and lessons charted so far. | Then how each lesson is made, and how to tell what
    ran on our machine from what is expected on yours. | How to study with the videos, the slide decks and
    the notebooks. | And the lab check, a small script that looks for the usual problems of a PyTorch
    installation before battle.""",
    visual=Title(heading="Today in the laboratory", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "The master blueprint",
    narration="""Behold the blueprint, read straight from the course manifest: the modules charted so far.
    Module {{ first }} sets up your laboratory: this map, then {{ setups }} setup lessons, one for each
    system. | Module {{ second }} is the core: tensors, their operations, einsum and autograd. | Module
    {{ third }} builds neural networks with torch dot nn. {% if all_scripted.value %}Every chip is filled: every
    lesson on this map is scripted.{% else %}Filled chips are scripted lessons; outlined ones are
    planned.{% endif %} | And where is it all heading? The course's goal: {{ leads[0] }}, then
    {{ leads[1] }}. Mwahaha!""",
    visual=CourseMap(course="course", leads="leads", here="here"),
    slide=["Module 0: your PyTorch laboratory", "Module 1: tensors, einsum, autograd",
           "Module 2: neural networks with `torch.nn`", "The goal: Transformers, diffusion models"],
)
def blueprint(device):
    from render.course import SCRIPTS, load_course  # the studio's manifest: this beat draws the course itself

    course = load_course()
    manifest = tomllib.loads((SCRIPTS / "course.toml").read_text(encoding="utf-8"))
    modules = [
        [m.number, m.title, [[s.id, s.title, [[x.id, x.title, x.scripted] for x in s.lessons]] for s in m.sections]]
        for m in course.modules if not m.beyond_outline  # the published outline; the course page shows the rest
    ]
    here = course.lesson("pytorch-course-structure").id  # this lesson, drawn in violet
    first, second, third = (m.number for m in course.modules[:3])
    setup = [x.title for x in course.modules[0].lessons[1:]]
    expect([t.split(":")[0] for t in setup] == ["Windows", "Linux", "macOS", "Google Colab"],
           "after this map, module 0 has one lesson for each of Windows, Linux, macOS and Colab")
    core = " ".join(s.title for s in course.modules[1].sections).lower()
    expect(all(word in core for word in ("tensor", "einsum", "autograd")), "module 1 teaches tensors, einsum, autograd")
    return {
        "course": modules, "leads": manifest["leads"], "here": here, "setups": len(setup),
        "first": first, "second": second, "third": third,
        "all_scripted": all(x[2] for m in modules for s in m[2] for x in s[2]),
    }


@lesson.beat(
    "How a lesson is made",
    narration="""A lesson is a script of beats: one idea each, with narration, a computation, a picture and
    a slide. The code on the left ran to make this beat, as you would type it; only the checks of my claims
    are hidden. | torch computed this {{ x.shape }} tensor on `device`, which each notebook sets for your
    machine: here the {{ device }}. | And this one holds each row's sum: {{ y.values }}. Numbers like these are never
    typed into the narration by hand: they are read from the run.""",
    visual=Show("x", "y"),
    slide=["A beat: narration, computation, picture, slide", "The code shown is the code that ran",
           "Numbers in the narration come from the run"],
)
def anatomy(device):
    x = torch.arange(6, device=device).reshape(2, 3)
    y = x.sum(dim=1)
    expect(torch.equal(y, torch.stack([x[0].sum(), x[1].sum()])), "the sum along dim 1 holds each row's sum")
    return {"x": x, "y": y}


@lesson.beat(
    "Pause and type along",
    narration="""The videos are made to be paused. | Type the code yourself, in a terminal or a notebook,
    and check that your torch prints what ours printed. This command ran for real while the lesson was
    rendered, and printed the same numbers you saw a moment ago. | Its badge says so: {{ origin }}, with the
    torch that ran it. A window from a system that cannot run here is typed from its documentation, and
    says so: expected, not captured.""",
    visual=Terminal(session="session", system="bash",
                    caption="Another system's window: typed from documentation, marked expected"),
    slide=["Pause, type, compare", "Captured: it ran while the lesson was made",
           "Expected: typed from documentation"],
)
def type_along(device):
    code = "import torch; print(torch.arange(6).reshape(2, 3))"
    session = bash_session([f'python -c "{code}"'], lab_folder())
    expect(session[0][1] == f"{torch.arange(6).reshape(2, 3)}\n", "the terminal shows what torch prints")
    return {"session": session, "origin": session[0][2]}


@lesson.beat(
    "Videos and decks",
    narration="""On the course page, each rendered lesson comes in several forms. | The video, with a chapter
    for each beat, and subtitles. | An HTML deck for your browser: a slide for each beat, with its code, to
    revise at your own pace. | A PowerPoint deck, for teaching the lesson to your own band of rebels. | And a notebook,
    with each beat's code to run yourself, in Jupyter or in Colab.""",
    visual=Title(heading="Ways to study", lines=[
        "The video: a chapter per beat, subtitles",
        "The HTML deck: a slide per beat, in the browser",
        "The PowerPoint deck: teach it yourself",
        "The notebook: run each beat's code",
    ]),
    slide=["Video: chapters, subtitles", "HTML deck: revise in the browser", "PowerPoint: teach it",
           "Notebook: run the code yourself"],
)
def study(device):
    return {}


@lesson.beat(
    "The lab check",
    narration="""Before module one, test your laboratory with check lab dot py, linked from the course page.
    | Run it with your environment's Python. It prints the Python and torch versions, the build, and a
    small matrix product timed on each device torch can use; {% if only_cpu.value %}here only the cpu, in
    {{ cpu_ms }} milliseconds{% else %}here the cpu took {{ cpu_ms }} milliseconds{% endif %}.
    Its verdict: {{ verdict }} When it finds a problem it knows, it names it and a fix. | Its
    exit status, {{ code }}, tells scripts the same: zero means no problem found.""",
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
    cpu_ms = re.search(r"cpu\s+([\d.]+) ms", out).group(1)  # as printed, so the voice says what the screen shows
    timed = re.findall(r"^  (\S+)\s+[\d.]+ ms", out, flags=re.MULTILINE)  # one row per device it timed
    verdict = out.strip().splitlines()[-1]
    return {"session": session, "cpu_ms": cpu_ms, "verdict": verdict, "code": code,
            "only_cpu": timed == ["cpu"]}


@lesson.beat(
    "Recap",
    narration="""The blueprint is yours, apprentice! | Module zero sets up your laboratory, and module one
    teaches tensors. | The code on screen is the code that ran; a window from another system says expected,
    not captured. | Pause, type along, and revise with the decks. | And the lab check looks for the usual
    problems before you begin.""",
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
