"""The thin CLI: list, new, check, and usage errors."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from render.cli import main
from tests.conftest import Project


def test_list_shows_modules_lessons_and_scripts() -> None:
    from render.course import load_course

    result = CliRunner().invoke(main, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in ("module0", "module1", "module2", "1.1.2", "02a-tensor-manipulation"):
        assert text in result.output
    lessons = load_course().lessons
    assert result.output.count("✓ scripted") == len(lessons) and "planned" not in result.output  # the whole course


def test_list_marks_a_lesson_without_a_script_as_planned(project: Project) -> None:
    out = project.render("list").stdout
    assert out.count("✓ scripted") == 1 and out.count("planned") == 1, out


def test_check_reports_tools_and_devices() -> None:
    result = CliRunner().invoke(main, ["check"], env={"COLUMNS": "200"})
    for text in ("ffmpeg", "cairo", "pango", "LaTeX", "espeak-ng", "piper", "torch"):
        assert text in result.output
    assert result.exit_code == 0, result.output  # this machine has what the pipeline needs


def test_unknown_lesson_and_bad_only_are_usage_errors() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["9.9.9"])
    assert result.exit_code == 2 and "valid lessons: 0.1.1" in result.output
    result = runner.invoke(main, ["module1", "--only", "slides"])
    assert result.exit_code == 2 and "--only takes video, decks, notebooks, page" in result.output


@pytest.mark.slow
def test_new_scaffolds_a_lesson_that_loads_and_traces(project: Project) -> None:
    project.script("broken").unlink(missing_ok=True)
    result = project.render("new", "1.1.2", 'Broken "No More"')
    assert "created scripts/module1/broken.py" in result.stdout
    text = project.script("broken").read_text()
    assert 'Broken \\"No More\\"' in text or "Broken \\u0022No More" in text
    again = project.render("new", "1.1.2", check=False)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert "expect(" in text and "| " in text and '"Recap"' in text and '"Your challenge"' in text
    lint = project.render("lint", "1.1.2", "--voice", "none", check=False)
    assert "✓ 1.1.2: 5 beats, 0 problems, 0 warnings" in lint.stdout, lint.stdout + lint.stderr


def test_new_says_what_to_add_for_an_id_the_course_lacks_and_adds_it_when_asked(project: Project) -> None:
    refused = project.render("new", "1.1.3", "Attention shapes", check=False)
    assert refused.returncode == 2, refused.stderr
    assert '[[modules.sections.lessons]]\nid = "1.1.3"\nfile = "01_attention_shapes"' in refused.stderr
    assert "--add" in refused.stderr and "section 1.1" in refused.stderr
    assert "Attention" not in (project.root / "scripts" / "course.toml").read_text()
    no_module = project.render("new", "2.1.1", "Elsewhere", "--add", check=False)
    assert no_module.returncode == 2 and "module 2 is not in scripts/course.toml (it has 1)" in no_module.stderr
    added = project.render("new", "1.1.3", "Attention shapes", "--add")
    assert "added 1.1.3" in added.stdout and "created scripts/module1/01_attention_shapes.py" in added.stdout
    listed = project.render("list").stdout
    assert "1.1.3" in listed and "01-attention-shapes" in listed
    # a section the module lacks is added with the lesson (render new --help's own example, 2.6.1 in the course)
    unsaid = project.render("new", "1.2.1", "Heads", check=False)
    assert unsaid.returncode == 2 and '[[modules.sections]]\nid = "1.2"' in unsaid.stderr, unsaid.stderr
    sectioned = project.render("new", "1.2.1", "Heads", "--add")
    assert "added section 1.2" in sectioned.stdout and "created scripts/module1/02_heads.py" in sectioned.stdout
    assert project.render("lint", "1.2.1", "--voice", "none").returncode == 0
    course = project.render("list").stdout
    assert course.index("1.1.3") < course.index("1.2.1")
