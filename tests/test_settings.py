"""Settings remembered per build folder, and project defaults in `[tool.studio]`: a flag wins and says what it
overrides; a left-out option takes what the folder was last rendered with, then the project's, then the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from render.errors import StudioError
from render.settings import Settings, choose, remember
from tests.conftest import Project

NONE = {"quality": None, "device": None, "jobs": None, "voice": None}


def test_defaults_then_project_then_memory_then_flags(tmp_path: Path) -> None:
    build, pyproject = tmp_path / "build", tmp_path / "pyproject.toml"
    values, notes = choose(NONE, build, pyproject)
    assert (values["quality"], values["voice"], values["device"], notes) == ("low", "piper", "auto", [])
    pyproject.write_text('[tool.studio]\nvoice = "espeak"\njobs = 3\n')
    values, notes = choose(NONE, build, pyproject)
    assert (values["voice"], values["jobs"]) == ("espeak", 3)
    assert "voice espeak (from [tool.studio] in pyproject.toml)" in notes
    remember(Settings(build_dir=build, quality="medium", voice="none"))
    values, notes = choose(NONE, build, pyproject)
    assert (values["quality"], values["voice"]) == ("medium", "none")
    assert "quality medium (remembered for this build folder; --quality changes it)" in notes
    values, notes = choose({**NONE, "voice": "piper"}, build, pyproject)
    assert values["voice"] == "piper"
    assert "voice piper (--voice; this build folder was last rendered with none)" in notes


def test_an_unknown_project_setting_is_named(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.studio]\nvoices = 'espeak'\n")
    with pytest.raises(StudioError, match="has no setting voices; it takes quality, voice, device, jobs"):
        choose(NONE, tmp_path / "build", pyproject)


@pytest.mark.slow
def test_status_after_a_render_uses_the_folder_s_voice(project: Project, tmp_path: Path) -> None:
    build = str(tmp_path / "elsewhere")
    project.render("1.1.1", "--voice", "espeak", "--build-dir", build, "--only", "video")
    status = project.render("status", "1.1.1", "--build-dir", build)
    assert "narrat" not in status.stdout and "clip:" not in status.stdout, status.stdout  # only decks etc. to do
    assert "voice espeak (remembered for this build folder; --voice changes it)" in status.stderr
    again = project.render("status", "1.1.1", "--build-dir", build, "--voice", "none")
    assert "voice none (--voice; this build folder was last rendered with espeak)" in again.stderr
