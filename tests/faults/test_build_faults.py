"""Faults during a render: killed runs, Ctrl-C, corrupted cache, a full disk, a read-only folder, a stale lock.

After each fault, a rerun leaves every output valid (it plays, its duration matches the narration, the
decks open), no temporary file behind, and a state that never claims a missing or corrupt output.
Trial counts are settings: STUDIO_FAULT_TRIALS (CI runs a few; bench/bench_faults.py runs many).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from render.state import StateFile, output_problem
from render.video import probe
from tests.conftest import Project

pytestmark = pytest.mark.slow

ARGS = ("--voice", "espeak", "--jobs", "2")
TRIALS = int(os.environ.get("STUDIO_FAULT_TRIALS", "1"))
SLUGS = ("tiny", "broken")


def two_lessons(project: Project) -> Project:
    """The tiny course with its second lesson made good too: two lessons to render."""
    text = project.script().read_text().replace("Behold", "Gaze upon")
    project.script("broken").write_text(text)
    return project


@pytest.fixture
def course(project: Project) -> Project:
    return two_lessons(project)


def assert_outputs_valid(project: Project) -> None:
    """Every output plays and matches its narration, decks open, no temporaries, an honest state."""
    for slug in SLUGS:
        out = project.lesson_dir(slug)
        lesson = json.loads((out / "lesson.json").read_text())
        info = probe(out / "lesson.mp4")
        assert float(info["format"]["duration"]) == pytest.approx(lesson["duration"], abs=0.2)
        for beat in lesson["beats"]:
            clip = probe(out / beat["clip"])
            assert float(clip["format"]["duration"]) == pytest.approx(beat["duration"], abs=0.2)
        assert "<section" in (out / "deck.html").read_text()
        from pptx import Presentation

        assert len(Presentation(str(out / "deck.pptx")).slides) >= 3
        state = StateFile(project.build / ".state" / "module1" / f"{slug}.json")
        for name, record in state.steps.items():
            assert output_problem(record, out, record.outputs) == "", f"{slug} {name}"
    leftovers = [p for p in project.build.rglob(".*.tmp*") if p.is_file()]
    assert leftovers == []
    assert "1.1.1 tiny: up to date" in project.render("status", "module1", *ARGS[:2]).stdout


def start_render(project: Project) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(project.root)}
    return subprocess.Popen([sys.executable, "-m", "render.cli", "module1", *ARGS], cwd=project.root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_sigkill_at_random_moments_then_rerun(course: Project) -> None:
    rng = random.Random(7)
    for _ in range(TRIALS):
        proc = start_render(course)
        time.sleep(rng.uniform(3, 25))
        os.killpg(proc.pid, signal.SIGKILL)  # the render and its workers, like a closed laptop lid
        proc.communicate()
        course.render("module1", *ARGS)
        assert_outputs_valid(course)
        for slug in SLUGS:  # the next trial starts from an edited narration, so there is work to kill
            course.edit(course.script(slug), "numbers.", "numbers, apprentices.")


def processes_in(folder: Path) -> list[int]:
    """Live processes working in `folder` (a render's pool workers keep its working directory)."""
    found = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if proc.name.isdigit() and Path(proc / "cwd").resolve() == folder.resolve():
                found.append(int(proc.name))
    return found


@pytest.mark.parametrize(("signum", "when"), [(signal.SIGINT, "beats"), (signal.SIGTERM, "beats"),
                                               (signal.SIGINT, "decks"), (signal.SIGINT, "notebooks")],
                         ids=["ctrl-c", "terminated", "ctrl-c-while-decks", "ctrl-c-while-notebooks"])
def test_ctrl_c_exits_130_quickly_and_keeps_finished_beats(course: Project, signum: int, when: str) -> None:
    proc = start_render(course)
    if when == "beats":
        time.sleep(12)  # the beats render (CI's faster machine had both videos done by 20 s)
        said = ""
    else:  # both videos done: the decks are being written, then the notebooks run
        assert proc.stderr is not None
        said = "".join(proc.stderr.readline() for _ in range(2))
        assert said.count("video ready") == 2, said
        time.sleep(4 if when == "notebooks" else 0)  # nbclient has its own signal handlers (a kernel starting)
    sent = time.monotonic()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    err = said + err
    assert proc.returncode == 130, err
    assert time.monotonic() - sent < 5
    assert "interrupted" in err and "Traceback" not in err
    time.sleep(1)
    assert processes_in(course.root) == []  # no render worker left running on its own
    course.render("module1", *ARGS)
    assert_outputs_valid(course)


def test_each_cached_artefact_corrupted_is_named_and_rebuilt(course: Project) -> None:
    course.render("module1", *ARGS)
    out = course.lesson_dir()
    rounds = [  # one round per kind of output, so nothing upstream hides the next one's name
        {"beats/01-counting.mp4": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
         "beats/02-the_end.f32": lambda p: p.write_bytes(p.read_bytes()[:100])},
        {"beats/02-the_end.png": lambda p: p.unlink()},
        {"lesson.mp4": lambda p: p.write_bytes(b"\x00" * p.stat().st_size)},
        {"deck.pptx": lambda p: p.write_bytes(b"garbage")},
    ]
    for faults in rounds:
        for name, corrupt in faults.items():
            corrupt(out / name)
        report = course.render("status", "1.1.1", *ARGS[:2]).stdout
        for name in faults:
            assert name in report, report  # status names each bad output
        course.render("module1", *ARGS)
        assert_outputs_valid(course)
    state = course.build / ".state" / "module1" / "tiny.json"
    state.write_text("{garbage")
    assert "state file unreadable" in course.render("status", "1.1.1", *ARGS[:2]).stdout
    course.render("module1", *ARGS)
    assert_outputs_valid(course)


def small_disk(path: Path, size: str, *options: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {done.stderr.strip()}")


def test_a_full_disk_names_the_path_and_keeps_the_good_video(course: Project, tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    small_disk(disk, "64m")
    try:
        build = disk / "build"
        course.render("1.1.1", *ARGS, "--build-dir", str(build))
        good = (build / "module1" / "tiny" / "lesson.mp4").read_bytes()
        filler = disk / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M", "count=200"], capture_output=True)
        course.edit(course.script(), "numbers.", "numbers, my apprentices.")
        result = course.render("1.1.1", *ARGS, "--build-dir", str(build), check=False)
        assert result.returncode == 1
        assert "no space left to write" in result.stderr + result.stdout
        assert "Traceback" not in result.stderr
        assert (build / "module1" / "tiny" / "lesson.mp4").read_bytes() == good
        filler.unlink()
        course.render("1.1.1", *ARGS, "--build-dir", str(build))
    finally:
        subprocess.run(["umount", "-l", str(disk)])


def test_a_read_only_build_folder_is_a_clear_error(course: Project, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    small_disk(folder, "1m", "ro")
    try:
        result = course.render("1.1.1", *ARGS, "--build-dir", str(folder), check=False)
        assert result.returncode == 1
        assert "cannot write" in result.stderr and "Read-only file system" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        subprocess.run(["umount", "-l", str(folder)])


def test_a_lock_left_by_a_killed_render_is_taken_over(course: Project) -> None:
    course.build.mkdir(parents=True)
    (course.build / ".lock").write_text("pid 999999 since 03:00:00")
    course.render("1.1.1", *ARGS)
    assert (course.lesson_dir() / "lesson.mp4").is_file()
