"""Lessons 1.1.1 to 1.1.4: each traces on the CPU, speaks only traced numbers, keeps to the lesson shape
(objectives first, recap then challenge last, 6 to 12 beats, 3 to 6 narrated minutes), passes the layout lint,
and the section 1.1 coverage table in scripts/module1/README.md maps every outline item and every function
the lesson lines name to beats that really run it."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from render.checks import LessonCheck, check_lesson
from render.narrate import split_segments

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "scripts" / "module1"
README = MODULE / "README.md"
SECTION = "## Section 1.1\n"

LESSONS = [
    "01_introduction_to_tensors",
    "02a_tensor_manipulation",
    "02b_tensor_metamorphosis",
    "03_data_types_and_devices",
]

# The items per lesson (the outline's "What you will learn" for 1.1 and every function its lesson
# lines name): each must be a row of the coverage table.
REQUIRED = {
    "01_introduction_to_tensors": [
        "Tensor concept: scalar, vector, matrix, n-d", "Tensor vs. matrix; mathematical vs. PyTorch view",
        "Why tensors are crucial for ML (an image batch)", "torch.tensor", "torch.zeros", "torch.ones",
        "The _like family", "torch.arange", "torch.linspace", "torch.rand", "torch.randn", "torch.randint",
        "torch.manual_seed", "Attributes: dtype, shape, device (an embedding table)",
    ],
    "02a_tensor_manipulation": [
        "Indexing", "Slicing", "Boolean masks", "torch.cat", "torch.stack",
        "cat against stack: concatenate vs. new dimension", "torch.split",
        "torch.chunk (attention heads being split)", "unbind",
    ],
    "02b_tensor_metamorphosis": [
        "reshape", "view", "Shared storage", "Contiguity", "transpose", "permute (an image batch)", "squeeze",
        "unsqueeze", "expand", "repeat", "flatten", "Attention heads split with view and transpose",
    ],
    "03_data_types_and_devices": [
        "Default dtypes", "float32", "float16", "bfloat16", "Integers", "bool",
        "Converting dtypes (an embedding table)", "Devices: cpu, cuda, mps", "Moving tensors",
        "Choosing the best device", "Timing the same operation on CPU and GPU",
    ],
}
for items in REQUIRED.values():
    items.append("Objectives, recap and challenge")

WORDS_PER_MINUTE = 130
MIN_WORDS, MAX_WORDS = 3 * WORDS_PER_MINUTE, 6 * WORDS_PER_MINUTE


def script(name: str) -> Path:
    return MODULE / f"{name}.py"


@functools.cache
def checked(name: str, lint: bool) -> LessonCheck:
    """One dry run per lesson and mode, shared by the tests below (tracing and linting cost seconds)."""
    return check_lesson(script(name), device="cpu", lint=lint)


def unmarked(lines: list[str]) -> list[str]:
    """Slide lines as a title card shows them: without the backticks that mark code."""
    return [line.replace("`", "") for line in lines]


def spoken_words(text: str) -> int:
    """Words a narrator says: cue marks (`|`) are not words."""
    return len(text.replace("|", " ").split())


@pytest.mark.parametrize("name", LESSONS)
def test_trace_computes_on_cpu_and_narration_quotes_only_the_trace(name: str) -> None:
    check = checked(name, False)
    beats = check.lesson.beats
    assert check.trace["device"] == "cpu"
    assert len(check.trace["beats"]) == len(beats)
    assert {b.name: [] for b in beats} == check.typed, "numbers typed by hand in the narration"
    for beat, traced in zip(beats, check.trace["beats"], strict=True):
        spoken = check.narration[beat.name]
        assert "{{" not in spoken and "{%" not in spoken
        missing = set(beat.visual.tensors) - set(traced["tensors"])
        assert not missing, f"{beat.name}: visual names untraced {missing}"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_shape(name: str) -> None:
    check = checked(name, False)
    lesson, beats = check.lesson, check.lesson.beats
    assert 6 <= len(beats) <= 12
    words = sum(spoken_words(check.narration[b.name]) for b in beats)
    assert MIN_WORDS <= words <= MAX_WORDS, f"{words} narrated words"
    for beat in beats:
        n = spoken_words(check.narration[beat.name])
        assert 40 <= n <= 90, f"{beat.name}: {n} words"
        assert len(beat.title) < 40, beat.title
        assert beat.bullets, f"{beat.name} has no slide"
        assert all(len(b) < 60 for b in beat.bullets), beat.bullets
        assert len(split_segments(check.narration[beat.name])) >= 2
    opening, recap, challenge = beats[0], beats[-2], beats[-1]
    assert lesson.objectives and lesson.recap and lesson.challenge
    assert opening.visual.kind == "Title" and opening.visual.options["lines"] == unmarked(lesson.objectives)
    assert recap.visual.kind == "Title" and recap.visual.options["lines"] == unmarked(lesson.recap)
    assert challenge.visual.kind == "Title" and challenge.visual.options["lines"] == [lesson.challenge]
    assert "apprentice" in " ".join(check.narration.values()).lower()
    # every beat between the opening and the recap shows tensors from its own trace
    for beat in beats[1:-2]:
        assert beat.visual.kind != "Title" and beat.visual.tensors, f"{beat.name} shows no tensor"


def test_devices_lesson_times_only_what_ran() -> None:
    """On a CPU-only trace the timing beat reports the CPU and says plainly that there is no GPU figure."""
    check = checked("03_data_types_and_devices", False)
    timing = next(b for b in check.trace["beats"] if b["name"] == "timing")
    assert timing["values"]["gpu_ms"] is None and timing["values"]["cpu_ms"] > 0
    assert timing["tensors"]["timings"]["values"] == [pytest.approx(timing["values"]["cpu_ms"])]
    assert "no GPU" in check.narration["timing"]
    assert "cpu" in check.narration["devices"]


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_layout_lint(name: str) -> None:
    check = checked(name, True)
    assert {b.name: [] for b in check.lesson.beats} == check.lint
    assert all(check.shown[b.name] for b in check.lesson.beats), "a beat showed nothing"


def coverage_rows() -> list[dict[str, str]]:
    """The coverage table of section 1.1 of the README: lesson, item, beats, code."""
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"{README} has no {SECTION.strip()!r} section"
    section = text.split(SECTION, 1)[1]
    section = re.split(r"^## ", section, flags=re.M)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 4 or cells[0] in ("Lesson", "---"):
            continue
        lesson, item, beats, code = cells
        rows.append({"lesson": lesson, "item": item, "beats": beats, "code": code})
    return rows


def test_coverage_table_rows_point_at_real_beats_that_run_the_code() -> None:
    rows = coverage_rows()
    assert rows
    for row in rows:
        assert row["lesson"] in LESSONS, row
        lesson = checked(row["lesson"], False).lesson
        by_name = {b.name: b for b in lesson.beats}
        beats = re.findall(r"`([^`]+)`", row["beats"])
        assert beats, row
        for name in beats:
            assert name in by_name, f"{row['lesson']}: no beat {name!r}"
        code = row["code"].strip("`")
        assert any(code in by_name[n].source for n in beats), f"{row}: no listed beat runs {code!r}"


def test_coverage_table_has_every_outline_item() -> None:
    rows = coverage_rows()
    for lesson, items in REQUIRED.items():
        listed = {r["item"] for r in rows if r["lesson"] == lesson}
        assert not set(items) - listed, f"{lesson}: no row for {set(items) - listed}"
    taught = {(r["lesson"], b) for r in rows for b in re.findall(r"`([^`]+)`", r["beats"])}
    for lesson in LESSONS:
        for beat in checked(lesson, False).lesson.beats:
            assert (lesson, beat.name) in taught, f"{lesson}: beat {beat.name!r} teaches no listed item"
