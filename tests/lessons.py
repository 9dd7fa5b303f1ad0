"""Checks shared by the lesson test files of every module: one dry run per lesson, the lesson shape every
lesson keeps, narration in step with the picture, and the coverage tables of scripts/module<M>/README.md.
Lessons are named by file stem (`01_introduction_to_tensors`), found in any module folder."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from render.checks import LessonCheck, check_lesson
from render.narrate import split_segments

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
MODULE = SCRIPTS / "module1"
README = MODULE / "README.md"
WORDS_PER_MINUTE = 130
MIN_WORDS, MAX_WORDS = 3 * WORDS_PER_MINUTE, 6 * WORDS_PER_MINUTE


def script(name: str) -> Path:
    """The lesson file with stem `name` in whichever scripts/module<M>/ holds it."""
    found = sorted(SCRIPTS.glob(f"module*/{name}.py"))
    assert len(found) == 1, f"{name}: {len(found)} lesson files have that name"
    return found[0]


@functools.cache
def checked(name: str, lint: bool) -> LessonCheck:
    """One dry run per lesson and mode, shared by the tests (tracing and linting cost seconds)."""
    return check_lesson(script(name), device="cpu", lint=lint)


def spoken_words(text: str) -> int:
    """Words a narrator says: cue marks (`|`) are not words."""
    return len(text.replace("|", " ").split())


def assert_traced_and_quoted(name: str) -> None:
    """The trace computes on the CPU and the narration speaks only traced numbers."""
    check = checked(name, False)
    beats = check.lesson.beats
    assert check.trace["device"] == "cpu"
    assert len(check.trace["beats"]) == len(beats)
    assert {b.name: [] for b in beats} == check.typed, "numbers typed by hand in the narration"
    for beat, traced in zip(beats, check.trace["beats"], strict=True):
        spoken = check.narration[beat.name]
        assert "{{" not in spoken and "{%" not in spoken
        known = {*traced["tensors"], *traced.get("modules", {}), *traced.get("state_dicts", {})}
        missing = set(beat.visual.tensors) - known  # a visual names tensors, nn.Modules or state_dicts
        assert not missing, f"{beat.name}: visual names untraced {missing}"


def assert_lesson_shape(name: str) -> LessonCheck:
    """6 to 12 beats, 3 to 6 narrated minutes, short titles and bullets, an objectives card first."""
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
    assert lesson.objectives and lesson.recap and lesson.challenge
    assert beats[0].visual.kind == "Title"
    assert "apprentice" in " ".join(check.narration.values()).lower()
    return check


def assert_cards_and_content(name: str) -> None:
    """The lesson shape, objectives card first, recap then challenge cards last, and every beat between them
    drawing something traced (tensors, or a Terminal's traced session: captured, or labelled expected)."""
    check = assert_lesson_shape(name)
    lesson, beats = check.lesson, check.lesson.beats
    opening, recap, challenge = beats[0], beats[-2], beats[-1]
    assert opening.visual.options["lines"] == lesson.objectives
    assert recap.visual.kind == "Title" and recap.visual.options["lines"] == lesson.recap
    assert challenge.visual.kind == "Title" and challenge.visual.options["lines"] == [lesson.challenge]
    for beat in beats[1:-2]:
        traced = beat.visual.tensors or (beat.visual.kind == "Terminal" and beat.visual.options.get("session"))
        assert beat.visual.kind != "Title" and traced, f"{beat.name} shows nothing traced"


def assert_claims_checked(name: str) -> None:
    """Each beat after the objectives checked claims, and they held when it traced (expect records only a
    claim that holds)."""
    check = checked(name, False)
    for traced in check.trace["beats"][1:]:
        assert traced["claims"], f"{traced['name']} checks no claim"
        assert all(isinstance(c, str) and c for c in traced["claims"])


def assert_lint_clean(name: str) -> None:
    """No layout problem, every beat shows something, and each narration segment starts its own step."""
    check = checked(name, True)
    assert {b.name: [] for b in check.lesson.beats} == check.lint
    assert all(check.shown[b.name] for b in check.lesson.beats), "a beat showed nothing"
    assert check.mismatches() == {}, "narration segments and visual steps differ"


def coverage_rows(section: str, readme: Path = README) -> list[dict[str, str]]:
    """A coverage table of a module README (`## Section 1.1` ...): lesson, item, beats, code."""
    text = readme.read_text(encoding="utf-8")
    assert section in text, f"{readme} has no {section.strip()!r} section"
    part = re.split(r"^## ", text.split(section, 1)[1], flags=re.M)[0]
    rows = []
    for line in part.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 4 or cells[0] in ("Lesson", "---"):
            continue
        lesson, item, beats, code = cells
        rows.append({"lesson": lesson, "item": item, "beats": beats, "code": code})
    return rows


def assert_rows_point_at_real_beats(rows: list[dict[str, str]], lessons: list[str]) -> None:
    """Every row names beats that exist and that really run the code it quotes."""
    assert rows
    for row in rows:
        assert row["lesson"] in lessons, row
        by_name = {b.name: b for b in checked(row["lesson"], False).lesson.beats}
        beats = re.findall(r"`([^`]+)`", row["beats"])
        assert beats, row
        for name in beats:
            assert name in by_name, f"{row['lesson']}: no beat {name!r}"
        code = row["code"].strip("`")
        assert any(code in by_name[n].source for n in beats), f"{row}: no listed beat runs {code!r}"


def assert_every_item_covered(rows: list[dict[str, str]], required: dict[str, list[str]]) -> None:
    """Every required item has a row, and every beat teaches some listed item."""
    for lesson, items in required.items():
        listed = {r["item"] for r in rows if r["lesson"] == lesson}
        assert not set(items) - listed, f"{lesson}: no row for {set(items) - listed}"
    taught = {(r["lesson"], b) for r in rows for b in re.findall(r"`([^`]+)`", r["beats"])}
    for lesson in required:
        for beat in checked(lesson, False).lesson.beats:
            assert (lesson, beat.name) in taught, f"{lesson}: beat {beat.name!r} teaches no listed item"
