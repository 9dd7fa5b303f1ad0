"""Module 0: the course map and the PyTorch lab lessons (0.1.1, 0.2.1 to 0.2.4), the lab check, and the two
visuals they draw with.

- The lessons trace on the CPU, speak only traced numbers, keep the lesson shape, pass the layout lint, and
  the coverage tables of scripts/module0/README.md map every outline item to beats that really run it.
- `CourseMap` shows exactly what scripts/course.toml holds.
- `Terminal` output marked captured is what a subprocess really printed; everything else says on screen
  that it is expected on another system, not captured.
- assets/lab/check_lab.py runs here and exits 0, and exits 1 with a hint when its checks are made to fail.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.lessons import (
    assert_every_item_covered,
    assert_lesson_shape,
    assert_lint_clean,
    assert_rows_point_at_real_beats,
    assert_traced_and_quoted,
    checked,
    coverage_rows,
)

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "scripts" / "module0" / "README.md"
CHECK_LAB = ROOT / "assets" / "lab" / "check_lab.py"

CAPTURED = ["pytorch_course_structure", "linux_pytorch_installation"]
EXPECTED = {
    "windows_pytorch_installation": "expected on Windows",
    "macos_pytorch_installation": "expected on macOS",
    "google_colab_setup": "expected on Colab",
}
LESSONS = ["pytorch_course_structure", "windows_pytorch_installation", "linux_pytorch_installation",
           "macos_pytorch_installation", "google_colab_setup"]

REQUIRED = {
    "pytorch_course_structure": [
        "The course map: modules, sections, lessons", "Scripted against planned lessons",
        "Where the course leads: Transformers, then diffusion models",
        "How to use the videos: pause and type along", "How to use the decks", "The lab check",
    ],
    "windows_pytorch_installation": [
        "pyenv-win", "poetry", "The CUDA wheel from PyTorch's index as a poetry source with explicit priority",
        "The CPU-only trap: +cpu in the version", "The CPU-only trap: cuda.is_available() False, and how to see it",
        "WSL2 as the alternative",
    ],
    "linux_pytorch_installation": [
        "A virtual environment (venv, uv or poetry)", "nvidia-smi and the driver", "pip install torch",
        "A word on ROCm", "The lab check, run for real",
    ],
    "macos_pytorch_installation": [
        "Apple silicon", "MPS: is_built against is_available", "PYTORCH_ENABLE_MPS_FALLBACK for missing operators",
        "float64 not supported on MPS",
    ],
    "google_colab_setup": [
        "The GPU runtime", "!nvidia-smi", "torch preinstalled", "Mounting Drive", "Session limits",
    ],
}
for items in REQUIRED.values():
    items.append("Objectives, recap and challenge")


def traced(name: str, beat: str) -> dict[str, Any]:
    check = checked(name, False)
    return next(b for b in check.trace["beats"] if b["name"] == beat)


def dry_run_beat(name: str, beat_name: str) -> tuple[list[str], dict[str, Any], int]:
    """One beat's scene as a Manim dry run: its lint problems, what it showed, its step count."""
    from render.checks import dry_run

    check = checked(name, False)
    i = [b.name for b in check.lesson.beats].index(beat_name)
    trace = json.loads(json.dumps(check.trace))
    return dry_run(check.lesson.beats[i], trace["beats"][i], trace, name)


def sessions(name: str) -> list[tuple[str, list[list[str]]]]:
    """Every Terminal session of a lesson: (beat name, entries)."""
    check = checked(name, False)
    out = []
    for beat, trace in zip(check.lesson.beats, check.trace["beats"], strict=True):
        if beat.visual.kind == "Terminal":
            out.append((beat.name, trace["values"][beat.visual.options.get("session", "session")]))
    return out


# --- the lessons ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LESSONS)
def test_trace_computes_on_cpu_and_narration_quotes_only_the_trace(name: str) -> None:
    assert_traced_and_quoted(name)


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_shape(name: str) -> None:
    check = assert_lesson_shape(name)
    lesson, beats = check.lesson, check.lesson.beats
    opening, recap, challenge = beats[0], beats[-2], beats[-1]
    assert opening.visual.options["lines"] == lesson.objectives
    assert recap.visual.kind == "Title" and recap.visual.options["lines"] == lesson.recap
    assert challenge.visual.kind == "Title" and challenge.visual.options["lines"] == [lesson.challenge]
    middle = beats[1:-2]
    # module 0 draws terminals and the course map; at most one text card between objectives and recap
    assert sum(b.visual.kind == "Title" for b in middle) <= 1
    for beat, trace in zip(middle, check.trace["beats"][1:-2], strict=True):
        named = [v for k, v in beat.visual.options.items() if k in ("session", "course")] or list(beat.visual.tensors)
        if beat.visual.kind != "Title":
            assert named and all(n in trace["values"] or n in trace["tensors"] for n in named), beat.name


@pytest.mark.parametrize("name", LESSONS)
def test_claims_are_checked_by_torch(name: str) -> None:
    """Every lesson checks at least one of its claims with `expect`, and the trace records them."""
    claims = [c for b in checked(name, False).trace["beats"] for c in b["claims"]]
    assert claims, f"{name}: no claim checked with expect()"


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_layout_lint(name: str) -> None:
    assert_lint_clean(name)


@pytest.mark.parametrize("section", ["## Section 0.1\n", "## Section 0.2\n"])
def test_coverage_table_rows_point_at_real_beats_that_run_the_code(section: str) -> None:
    assert_rows_point_at_real_beats(coverage_rows(section, readme=README), LESSONS)


def test_coverage_table_has_every_outline_item() -> None:
    rows = coverage_rows("## Section 0.1\n", readme=README) + coverage_rows("## Section 0.2\n", readme=README)
    assert_every_item_covered(rows, REQUIRED)


def test_lesson_files_are_the_manifest_entries_of_module0() -> None:
    from render.course import load_course

    module = load_course().module("0")
    assert sorted(e.script.stem for e in module.lessons) == sorted(LESSONS)
    assert all(e.scripted for e in module.lessons)


# --- CourseMap against course.toml ---------------------------------------------------------------------


def test_course_map_shows_exactly_the_manifest() -> None:
    """What the map drew (modules, sections, lesson ids and titles, scripted or planned, where the course
    leads) is the manifest itself, read independently here."""
    from render.course import load_course

    problems, shown, steps = dry_run_beat("pytorch_course_structure", "blueprint")
    assert problems == []
    course = load_course()
    manifest = tomllib.loads((ROOT / "scripts" / "course.toml").read_text(encoding="utf-8"))
    expected = [
        {"number": m.number, "title": m.title, "sections": [
            {"id": s.id, "title": s.title, "lessons": [
                {"id": x.id, "title": x.title, "scripted": x.script.is_file()} for x in s.lessons]}
            for s in m.sections]}
        for m in course.modules if not m.beyond_outline  # the published outline; module 3 is on the page
    ]
    assert shown["modules"] == expected and [m["number"] for m in expected] == [0, 1, 2]
    assert shown["leads"] == manifest["leads"] == ["Transformers", "Diffusion models"]
    assert shown["here"] == "0.1.1"
    assert steps == len(expected) + 1
    module0 = shown["modules"][0]["sections"]
    assert all(x["scripted"] for s in module0 for x in s["lessons"])  # this module's scripts exist


# --- Terminal: captured is real, expected says so ------------------------------------------------------


@pytest.mark.parametrize("name", CAPTURED)
def test_captured_terminals_say_so_and_ran_here(name: str) -> None:
    for beat, entries in sessions(name):
        assert entries, beat
        for command, output, origin in entries:
            assert origin == f"captured on {platform.system()}", (beat, command)
            assert isinstance(output, str)


@pytest.mark.parametrize(("name", "origin"), EXPECTED.items())
def test_expected_terminals_are_labelled_expected(name: str, origin: str) -> None:
    found = sessions(name)
    assert found
    for beat, entries in found:
        assert {e[2] for e in entries} == {origin}, beat


def test_captured_output_is_what_a_subprocess_prints() -> None:
    """The traced output of deterministic commands equals what the same commands print when run again
    here, and the versions in it are the torch that ran the trace."""
    import torch

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    install = traced("linux_pytorch_installation", "install")["values"]["session"]
    command, output, _ = install[1]
    again = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, check=True)
    assert output == again.stdout
    assert output.split() == [str(torch.version.cuda), str(torch.version.hip)]
    show = subprocess.run(["bash", "-c", install[0][0]], capture_output=True, text=True, env=env, check=True)
    assert install[0][1] == show.stdout and f"Version: {torch.__version__}" in show.stdout
    command, output, _ = traced("pytorch_course_structure", "type_along")["values"]["session"][0]
    again = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, check=True)
    assert output == again.stdout == f"{torch.arange(6).reshape(2, 3)}\n"


def test_lab_check_in_the_linux_lesson_ran_for_real() -> None:
    import torch

    values = traced("linux_pytorch_installation", "lab_check")["values"]
    (command, output, _), (echo, code, _) = values["session"]
    assert command == "python check_lab.py" and echo == "echo $?"
    assert f"torch    {torch.__version__}" in output and f"Python   {platform.python_version()}" in output
    assert int(code) == values["code"] == (0 if "All good" in output else 1)


def test_terminal_shows_every_traced_line() -> None:
    """The scene drew each command and each output line of the trace, and labels its origin."""
    import torch

    for name, beat in (("linux_pytorch_installation", "lab_check"), ("windows_pytorch_installation", "cpu_trap")):
        problems, shown, steps = dry_run_beat(name, beat)
        entries = traced(name, beat)["values"]["session"]
        assert problems == []
        assert steps == 1 + len(entries)
        assert shown["entries"] == [[c, o.rstrip("\n").split("\n") if o.strip() else []] for c, o, _ in entries]
        origin = entries[0][2]
        if origin.startswith("captured"):
            assert shown["badge"] == f"{origin} · torch {torch.__version__}"
        else:
            assert shown["badge"] == f"{origin} · not captured"


def test_terminal_refuses_a_session_without_a_clear_origin() -> None:
    from render.errors import VisualError
    from scenes.beat import CONTENT
    from scenes.spec import VisualSpec
    from scenes.trace import BeatTrace
    from scenes.visuals.terminal import Terminal

    def terminal(session: Any) -> Terminal:
        beat = BeatTrace("b", "", values={"session": session})
        return Terminal(VisualSpec("Terminal", (), {"session": "session"}), beat, CONTENT)

    assert terminal([["ls", "a\n", "captured on Linux"]]).steps() == 2
    mixed = [["ls", "a", "captured on Linux"], ["ls", "b", "expected on macOS"]]
    for bad in ([["ls", "a", "from the internet"]], mixed, [], [["ls", "a"]]):
        with pytest.raises(VisualError):
            terminal(bad).steps()


# --- the lab check -------------------------------------------------------------------------------------


def load_check_lab() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_lab", CHECK_LAB)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_check_lab(path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, str(CHECK_LAB)], capture_output=True, text=True, env=env, timeout=300)


def test_check_lab_runs_here_and_reports_this_torch() -> None:
    import torch

    done = run_check_lab()
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"torch    {torch.__version__}" in done.stdout
    assert f"Python   {platform.python_version()}" in done.stdout
    build = "CPU only" if not (torch.version.cuda or torch.version.hip) else ""
    assert build in done.stdout
    assert "cpu " in done.stdout and " ok" in done.stdout
    mps = torch.backends.mps
    assert f"MPS      built {mps.is_built()}, available {mps.is_available()}" in done.stdout


def test_check_lab_fails_with_a_hint_when_nvidia_smi_sees_a_gpu_but_torch_is_cpu_only(tmp_path: Path) -> None:
    """A fake `nvidia-smi` first on the PATH reports a GPU; with a CPU-only torch the check must fail."""
    import torch

    if torch.version.cuda or torch.version.hip:
        pytest.skip("this torch is a GPU build: the CPU-only trap cannot be staged with it")
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA Test Card (UUID: GPU-0000)'\n")
    smi.chmod(0o755)
    done = run_check_lab(f"{tmp_path}:{os.environ.get('PATH', '')}")
    assert done.returncode == 1
    assert "NVIDIA   1 GPU(s) seen by nvidia-smi" in done.stdout
    words = " ".join(done.stdout.split())  # hints are wrapped to fit a terminal
    assert "Problem: nvidia-smi sees an NVIDIA GPU, but this torch is a CPU-only build" in words
    assert "All good" not in done.stdout


def test_check_lab_rules() -> None:
    """Each rule of the check on staged facts: a CUDA build that sees no GPU, a Mac without MPS, Rosetta, a
    device whose product disagrees with the CPU, and a clean machine."""
    lab = load_check_lab()
    good: dict[str, Any] = {"torch": "2.0.0", "build": "CPU only", "nvidia_gpus": [], "cuda_available": False,
            "system": "Linux", "machine": "x86_64", "apple_silicon": False, "mps_built": False,
            "mps_available": False, "timings": {"cpu": (1.0, True)}}
    assert lab.problems_of(good) == []
    cases: dict[str, dict[str, Any]] = {
        "sees no GPU": {"build": "CUDA 12.6"},
        "macOS (12.3 or later)": {"system": "Darwin", "machine": "arm64", "apple_silicon": True, "mps_built": True},
        "Rosetta": {"system": "Darwin", "machine": "x86_64", "apple_silicon": True},
        "disagrees with the CPU": {"timings": {"cpu": (1.0, True), "cuda:0": (0.1, False)}},
        "CPU-only build": {"nvidia_gpus": ["GPU 0: X"]},
    }
    for hint, change in cases.items():
        problems = lab.problems_of({**good, **change})
        assert len(problems) == 1 and hint in problems[0], (hint, problems)


def test_check_lab_without_torch_says_how_to_install(tmp_path: Path) -> None:
    """Run by a Python that cannot import torch (isolated, no site-packages), the check fails with the
    install hint."""
    shadow = tmp_path / "torch.py"
    shadow.write_text("raise ImportError('no torch here')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, str(CHECK_LAB)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1
    assert "pip install torch" in done.stdout


def test_course_page_links_the_lab_check_and_the_link_resolves(tmp_path: Path) -> None:
    """The page links check_lab.py, and the build holds the very file the lessons run."""
    from html.parser import HTMLParser

    from render.course import load_course
    from render.page import write_course_page

    page = write_course_page(load_course(), {}, tmp_path)
    hrefs: list[str] = []

    class Links(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found = dict(attrs)
            if tag == "a" and "lab-check" in (found.get("class") or ""):
                hrefs.append(found["href"] or "")

    Links().feed(page.read_text(encoding="utf-8"))
    assert hrefs == ["lab/check_lab.py"]
    assert (tmp_path / hrefs[0]).read_bytes() == CHECK_LAB.read_bytes()
