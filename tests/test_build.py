"""The pipeline end to end on a tiny two-beat lesson: outputs probed, caching and invalidation, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from render.video import probe
from tests.conftest import Project

pytestmark = pytest.mark.slow

ARGS = ("--voice", "espeak", "--only", "video", "--jobs", "2")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def clip_hashes(project: Project) -> dict[str, str]:
    return {p.name: sha(p) for p in sorted((project.lesson_dir() / "beats").glob("*.mp4"))}


def status(project: Project, *extra: str) -> str:
    return project.render("status", "1.1.1", *ARGS[:2], *extra).stdout


@pytest.fixture
def built(project: Project) -> Project:
    project.script("broken").unlink(missing_ok=True)
    project.render("1.1.1", *ARGS)
    return project


def test_two_beat_lesson_renders_a_playable_video(built: Project) -> None:
    out = built.lesson_dir()
    info = probe(out / "lesson.mp4")
    video = [s for s in info["streams"] if s["codec_type"] == "video"]
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert len(video) == 1 and video[0]["codec_name"] == "h264"
    assert (video[0]["width"], video[0]["height"]) == (854, 480)
    assert video[0]["r_frame_rate"] == "15/1"
    assert len(audio) == 1 and audio[0]["codec_name"] == "aac"
    lesson = json.loads((out / "lesson.json").read_text())
    beats = lesson["beats"]
    assert [b["title"] for b in beats] == ["Counting", "The end"]
    duration = float(info["format"]["duration"])
    assert duration == pytest.approx(sum(b["duration"] for b in beats), abs=0.15)
    assert abs(float(video[0]["duration"]) - float(audio[0]["duration"])) <= 1 / 15 + 1e-3
    assert [c["tags"]["title"] for c in info["chapters"]] == ["Counting", "The end"]
    assert float(info["chapters"][1]["start_time"]) == pytest.approx(beats[1]["start"], abs=0.01)
    assert (out / "poster.png").stat().st_size > 1000
    for beat in beats:  # every beat clip carries its own sound
        streams = {s["codec_type"] for s in probe(out / beat["clip"])["streams"]}
        assert streams == {"video", "audio"}
    trace = json.loads((out / "trace.json").read_text())
    assert trace["beats"][0]["tensors"]["x"]["values"] == [[0, 1, 2], [3, 4, 5]]
    assert lesson["beats"][0]["narration"] == "Behold 6 numbers."


def poisoned(project: Project, tmp_path: Path) -> dict[str, str]:
    """An environment in which importing torch or Manim fails."""
    poison = tmp_path / "poison"
    for name in ("torch", "manim"):
        (poison / name).mkdir(parents=True, exist_ok=True)
        (poison / name / "__init__.py").write_text(f"raise ImportError('{name} was imported')")
    return {"PYTHONPATH": f"{project.root}:{poison}"}


def test_rerun_without_change_does_nothing_and_imports_neither_torch_nor_manim(
    built: Project, tmp_path: Path
) -> None:
    before = clip_hashes(built)
    result = built.render("1.1.1", *ARGS, env=poisoned(built, tmp_path))
    assert "cached" in result.stderr
    assert clip_hashes(built) == before
    assert "up to date" in status(built)


def test_editing_one_narration_redoes_only_that_beat(built: Project) -> None:
    before = clip_hashes(built)
    built.edit(built.script(), "And that is all, apprentices.", "And that, apprentices, is all for today.")
    report = status(built)
    assert "02-the_end: narration changed: text" in report
    assert "01-counting" not in report
    built.render("1.1.1", *ARGS)
    after = clip_hashes(built)
    assert after["01-counting.mp4"] == before["01-counting.mp4"]
    assert after["02-the_end.mp4"] != before["02-the_end.mp4"]
    assert "up to date" in status(built)


def test_editing_a_shared_visual_redoes_every_beat_using_it(built: Project) -> None:
    before = clip_hashes(built)
    show = built.root / "scenes" / "visuals" / "show.py"
    show.write_text(show.read_text() + "\n# a change to the shared Show visual\n")
    report = status(built)
    assert "01-counting: clip changed: scene_code (scenes/visuals/show.py)" in report
    assert "02-the_end" not in report  # it uses Title, which does not import Show
    built.render("1.1.1", *ARGS)
    after = clip_hashes(built)
    assert after["01-counting.mp4"] != before["01-counting.mp4"] or "up to date" in status(built)
    assert after["02-the_end.mp4"] == before["02-the_end.mp4"]


def test_changing_quality_redoes_every_beat(built: Project) -> None:
    report = status(built, "--quality", "medium")
    assert "01-counting: clip changed: settings" in report
    assert "02-the_end: clip changed: settings" in report
    built.render("1.1.1", *ARGS, "--quality", "medium")
    info = probe(built.lesson_dir() / "lesson.mp4")
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"], video["r_frame_rate"]) == (1280, 720, "30/1")


def test_broken_lesson_is_reported_with_file_and_line_and_others_still_render(project: Project) -> None:
    project.script("broken").write_text(
        "import torch\nfrom render.lesson import Lesson\nfrom scenes.vocabulary import Show\n"
        "lesson = Lesson()\n\n"
        "@lesson.beat('Oops', narration='Boom.', visual=Show('x'))\n"
        "def oops(device):\n"
        "    return {'x': torch.ones(2, 3) @ torch.ones(2, 3)}\n"
    )
    result = project.render("module1", *ARGS, check=False)
    assert result.returncode == 1
    assert (
        "scripts/module1/broken.py:8: beat 'oops': RuntimeError: mat1 and mat2 shapes cannot be multiplied"
        in (result.stderr.replace("\n  ", " ").replace("\n", " "))
        or "broken.py:8" in result.stderr
    )
    assert (project.lesson_dir() / "lesson.mp4").is_file()  # the good lesson rendered anyway
    assert not (project.lesson_dir("broken") / "lesson.mp4").exists()


def test_lesson_that_fails_to_import_names_its_line(project: Project) -> None:
    project.script("broken").write_text("import torch\n\nlesson = (\n")
    result = project.render("1.1.2", *ARGS, check=False)
    assert result.returncode == 1
    assert "broken.py:3" in result.stderr and "SyntaxError" in result.stderr


def test_unknown_module_is_a_usage_error(project: Project) -> None:
    result = project.render("module9", check=False)
    assert result.returncode == 2
    assert "unknown module 'module9'; valid modules: module1" in result.stderr


def test_template_edit_rebuilds_decks_not_videos(built: Project) -> None:
    built.render("1.1.1", "--voice", "espeak", "--only", "decks,page")
    out = built.lesson_dir()
    video, deck = sha(out / "lesson.mp4"), sha(out / "deck.html")
    template = built.root / "templates" / "deck.html"
    template.write_text(template.read_text() + "\n<!-- a template edit -->\n")
    built.render("1.1.1", "--voice", "espeak")
    assert sha(out / "lesson.mp4") == video  # the video step was cached
    assert sha(out / "deck.html") != deck and "a template edit" in (out / "deck.html").read_text()
    assert (built.build / "index.html").is_file()


def status_lines(project: Project) -> list[str]:
    out = project.render("status", "module1", "--voice", "espeak").stdout
    return [line.strip() for line in out.splitlines()]


def test_status_names_exactly_what_an_edit_touched_and_render_redoes_exactly_that(project: Project) -> None:
    """Two lessons built; then a deck template, a scene file, a helper module of one script and one
    recording are edited in turn: status names exactly the steps that edit touched, render redoes them."""
    helper = project.script("_helper")
    helper.write_text("import torch\n\n\ndef numbers(device):\n"
                      "    return torch.arange(6, device=device).reshape(2, 3)\n")
    project.edit(project.script(), "x = torch.arange(6, device=device).reshape(2, 3)", "x = numbers(device)")
    project.edit(project.script(), "import torch\n", "import torch\nfrom _helper import numbers\n")
    project.script("broken").write_text(project.script().read_text().replace("from _helper import numbers\n", "")
                                        .replace("x = numbers(device)", "x = torch.ones(2, 3, device=device)"))
    project.render("module1", "--voice", "espeak")
    assert status_lines(project)[-1] == "course page: up to date"
    page = (project.lesson_dir() / "index.html").read_text()  # written before the decks, then again after
    assert all(f'href="{name}"' in page for name in ("deck.html", "deck.pptx", "lesson.ipynb", "lesson.vtt"))

    template = project.root / "templates" / "deck.html"
    template.write_text(template.read_text() + "\n<!-- a template edit -->\n")
    lines = status_lines(project)
    stale = [line for line in lines if line.startswith(("decks", "course page", "0", "trace", "video"))]
    assert stale == ["decks changed: code (templates/deck.html)"] * 2 + [
        "course page: stale changed: code (templates/deck.html)"]
    videos = {s: sha(project.lesson_dir(s) / "lesson.mp4") for s in ("tiny", "broken")}
    project.render("module1", "--voice", "espeak")
    assert {s: sha(project.lesson_dir(s) / "lesson.mp4") for s in ("tiny", "broken")} == videos
    assert all("a template edit" in (project.lesson_dir(s) / "deck.html").read_text() for s in ("tiny", "broken"))

    show = project.root / "scenes" / "visuals" / "show.py"
    show.write_text(show.read_text() + "\n# a change to the shared Show visual\n")
    lines = status_lines(project)
    clips = [line for line in lines if ": clip" in line or ": narration" in line]
    assert clips == ["01-counting: clip changed: scene_code (scenes/visuals/show.py)"] * 2
    project.render("module1", "--voice", "espeak")

    helper.write_text(helper.read_text() + "\n# an edit to the helper module\n")
    lines = status_lines(project)
    assert "1.1.2 broken: up to date" in lines
    assert "trace changed: script (scripts/module1/_helper.py)" in lines
    project.render("module1", "--voice", "espeak")

    recordings = project.root / "assets" / "recordings" / "tiny"
    recordings.mkdir(parents=True)

    subprocess.run(["espeak-ng", "-w", str(recordings / "the_end.wav"), "That is all."], check=True)
    lines = status_lines(project)
    assert "1.1.2 broken: up to date" in lines
    assert [line for line in lines if ": narration" in line] == ["02-the_end: narration changed: recording"]
    project.render("module1", "--voice", "espeak")
    assert status_lines(project)[:2] == ["1.1.1 tiny: up to date", "1.1.2 broken: up to date"]


def test_lint_fails_a_beat_whose_cues_and_steps_differ_and_caches_its_findings(project: Project,
                                                                                tmp_path: Path) -> None:
    project.edit(project.script(), "Behold {{ x.numel }} numbers.", "Behold {{ x.numel }} numbers. | They count up.")
    result = project.render("lint", "1.1.1", "--voice", "espeak", check=False)
    assert result.returncode == 1
    assert ("scripts/module1/tiny.py:12: beat 'counting': 2 narration segments but the visual plays 1 step "
            "(segment k starts step k; add or remove a | cue): [1] Behold 6 numbers. -> step 1; [2] They count up. "
            "-> no step left") in " ".join(result.stdout.split())
    lint_files = sorted((project.lesson_dir() / "beats").glob("*.lint.json"))
    assert [p.name for p in lint_files] == ["01-counting.lint.json", "02-the_end.lint.json"]
    stamps = [p.stat().st_mtime_ns for p in lint_files]
    # cached: read from the records without importing torch (device auto is keyed without it) or Manim
    again = project.render("lint", "1.1.1", "--voice", "espeak", check=False, env=poisoned(project, tmp_path))
    assert again.stdout == result.stdout
    assert [p.stat().st_mtime_ns for p in lint_files] == stamps  # cached: no beat was dry-run again


def test_a_script_saved_during_a_render_is_not_recorded_as_built(project: Project) -> None:
    """The author saves while a render runs: that render finishes with what it read, and the next one sees the
    edit (the chain's inputs are the ones read when the run began, not when it ended)."""
    import time

    project.script("broken").unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(project.root)}
    proc = subprocess.Popen([sys.executable, "-m", "render.cli", "1.1.1", *ARGS], cwd=project.root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    trace = project.lesson_dir() / "trace.json"
    while not trace.exists() and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, "the render ended before the edit could be made mid-run"
    project.edit(project.script(), "Behold {{ x.numel }} numbers.", "Gaze upon {{ x.numel }} numbers.")
    assert proc.wait(timeout=600) == 0
    project.render("1.1.1", *ARGS)
    assert "Gaze upon 6 numbers." in (project.lesson_dir() / "lesson.srt").read_text()


PAGE_FIRST = """
import hashlib, json, sys
from render.build import Observer, build
from render.course import load_course
from render.settings import Settings

class Seen(Observer):
    def page_ready(self, lesson):
        out = settings.build_dir / "module1" / "tiny"
        seen["page"] = (out / "index.html").read_text()
        seen["video"] = hashlib.sha256((out / "lesson.mp4").read_bytes()).hexdigest()
        seen["record"] = json.loads((out / "lesson.json").read_text())["duration"]

seen = {}
settings = Settings(voice="espeak", only=("video", "page"), jobs=1)
report = build([load_course().lesson("1.1.1")], settings, observer=Seen())
assert report.ok, report
print(json.dumps(seen))
"""


def test_a_rebuilt_lesson_page_is_written_before_its_video_is_joined_again(built: Project) -> None:
    """`render serve` reloads open pages at `page_ready`: the new narration and record are on the page while
    lesson.mp4 is still the last good video; the video joined afterwards has the record's duration."""
    built.render("1.1.1", "--voice", "espeak", "--only", "video,page")
    video = sha(built.lesson_dir() / "lesson.mp4")
    built.edit(built.script(), "And that is all, apprentices.", "And that, apprentices, is all for today.")
    done = subprocess.run([sys.executable, "-c", PAGE_FIRST], cwd=built.root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(built.root)}, timeout=600)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert "is all for today." in seen["page"] and seen["video"] == video  # page first, old video still there
    joined = probe(built.lesson_dir() / "lesson.mp4")
    assert sha(built.lesson_dir() / "lesson.mp4") != video
    assert abs(float(joined["format"]["duration"]) - seen["record"]) < 0.1


def test_a_render_lints_the_beats_it_rendered_and_strict_fails_on_a_problem(project: Project) -> None:
    """A narration out of step with its picture is named by the render itself, with file:line; --strict fails."""
    project.script("broken").unlink(missing_ok=True)
    project.edit(project.script(), "And that is all, apprentices.", "And that is all. | Counted, apprentices.")
    project.edit(project.script(), "Behold {{ x.numel }} numbers.", "Behold {{ x.numel }} numbers. | They count up.")
    result = project.render("1.1.1", "--voice", "none", "--only", "video")
    said = " ".join(result.stderr.split())
    assert "lint: 1 problem in the beats just rendered" in said, result.stderr
    assert "scripts/module1/tiny.py:12: beat 'counting': 2 narration segments but the visual plays 1 step" in said
    strict = project.render("1.1.1", "--voice", "none", "--only", "video", "--strict", check=False)
    assert strict.returncode == 1 and "--strict: 1 lint problem" in strict.stderr, strict.stderr
    project.edit(project.script(), "Behold {{ x.numel }} numbers. | They count up.", "Behold {{ x.numel }} numbers.")
    clean = project.render("1.1.1", "--voice", "none", "--only", "video", "--strict")
    assert "lint:" not in clean.stderr


def test_lint_while_another_render_holds_the_folder_reads_and_writes_nothing(project: Project) -> None:
    """A serve rebuilding decks, or a render, holds the build folder: lint still answers, from the records and
    dry runs in memory, and leaves the folder as it was."""
    from render.state import build_lock

    project.script("broken").unlink(missing_ok=True)
    project.edit(project.script(), "Behold {{ x.numel }} numbers.", "Behold {{ x.numel }} numbers. | They count up.")
    with build_lock(project.build):
        before = sorted(p.relative_to(project.build) for p in project.build.rglob("*"))
        result = project.render("lint", "1.1.1", "--voice", "none", check=False)
        after = sorted(p.relative_to(project.build) for p in project.build.rglob("*"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "beat 'counting': 2 narration segments but the visual plays 1 step" in " ".join(result.stdout.split())
    assert after == before
