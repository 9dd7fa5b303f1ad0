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
    lint = project.render("lint", "1.1.2", check=False)
    assert "✓ 1.1.2: 2 beats, 0 problems, 0 warnings" in lint.stdout, lint.stdout + lint.stderr
