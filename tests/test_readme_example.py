"""The README's lesson example traces, keeps its claim and lints clean: what a new author copies first works."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from render.checks import check_lesson

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_readme_lesson_example_lints_clean(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Writing a lesson"):]
    example = re.search(r"```python\n(.*?)```", section, re.S)
    assert example is not None
    script = tmp_path / "example.py"
    script.write_text(example.group(1))
    check = check_lesson(script, device="cpu", lint=True)
    [beat] = check.lesson.beats
    assert check.trace["beats"][0]["claims"], "the example shows expect"
    assert check.lint == {beat.name: []} and check.mismatches() == {} and check.typed == {beat.name: []}
