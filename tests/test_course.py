"""The course manifest against the client's outline, and name resolution on the command line."""

from __future__ import annotations

import pytest

from render.course import UnknownName, load_course
from tests.outline import OUTLINE, parse_outline


@pytest.fixture(scope="module")
def course():
    return load_course()


def test_manifest_has_every_outline_lesson_in_order(course) -> None:
    outline = parse_outline(OUTLINE.read_text())
    published = [m for m in course.modules if not m.beyond_outline]
    assert [m.number for m in published] == [m.number for m in outline] == [0, 1, 2]
    for module, expected in zip(published, outline, strict=True):
        assert module.title == expected.title
        wanted = [(lesson.title, lesson.blurb) for s in expected.sections for lesson in s.lessons]
        assert [(lesson.title, lesson.blurb) for lesson in module.lessons] == wanted
        stems = [lesson.href.rsplit("/", 1)[-1].rsplit(".", 1)[0] for s in expected.sections for lesson in s.lessons]
        assert [lesson.file for lesson in module.lessons] == stems


def test_modules_beyond_the_outline_follow_its_commented_plan(course) -> None:
    """Module 3 is made ahead of the outline, which keeps it in a comment: its sections, what each teaches and
    its lesson files are the commented plan's (the titles are the course's own)."""
    planned = {m.number: m for m in parse_outline(OUTLINE.read_text(), commented=True)}
    beyond = [m for m in course.modules if m.beyond_outline]
    assert [m.number for m in beyond] == [3]
    for module in beyond:
        expected = planned[module.number]
        assert module.title == expected.title
        assert [s.title for s in module.sections] == [s.title for s in expected.sections]
        assert [s.learn for s in module.sections] == [tuple(s.learn) for s in expected.sections]
        stems = [lesson.href.rsplit("/", 1)[-1].rsplit(".", 1)[0] for s in expected.sections for lesson in s.lessons]
        assert [lesson.file for lesson in module.lessons] == stems


def test_manifest_keeps_what_you_will_learn(course) -> None:
    outline = parse_outline(OUTLINE.read_text())
    assert course.modules[0].learn == tuple(outline[0].learn)
    published = [m for m in course.modules if not m.beyond_outline]
    for module, expected in zip(published[1:], outline[1:], strict=True):
        assert [s.title for s in module.sections] == [s.title for s in expected.sections]
        assert [s.learn for s in module.sections] == [tuple(s.learn) for s in expected.sections]
    assert len(course.module("1").lessons) == 11  # 01, 02a, 02b, 03 and 04 to 10
    assert len(course.module("2").lessons) == 14


@pytest.mark.parametrize("name", ["module1", "1", "m1", "M1", "Module1"])
def test_module_names(course, name: str) -> None:
    assert course.module(name).number == 1


def test_lessons_by_id_and_slug(course) -> None:
    assert course.lesson("1.1.2").slug == "02a-tensor-manipulation"
    assert course.lesson("02a-tensor-manipulation").id == "1.1.2"
    assert course.lesson("1.1.1").script.name == "01_introduction_to_tensors.py"
    assert [lesson.id for lesson in course.select(["1.2.1", "m1"])][:2] == ["1.2.1", "1.1.1"]


def test_unknown_names_list_the_valid_ones(course) -> None:
    with pytest.raises(UnknownName, match="valid modules: module0 .*module1 .*module2"):
        course.select(["module7"])
    with pytest.raises(UnknownName, match="1.1.1 \\(01-introduction-to-tensors\\)"):
        course.lesson("no-such-lesson")


@pytest.mark.parametrize("name", ["course", "all", "Course"])
def test_course_names_every_lesson_of_every_module_once_in_order(course, name: str) -> None:
    every = [lesson.id for module in course.modules for lesson in module.lessons]
    assert [lesson.id for lesson in course.select([name])] == every
    assert [lesson.id for lesson in course.select(["1.2.1", name])] == ["1.2.1"] + [i for i in every if i != "1.2.1"]
