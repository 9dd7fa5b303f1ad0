"""Atomic writes, step records and the build lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from render.hashing import code_dependencies, digest
from render.state import StateFile, StepRecord, atomic_path, build_lock, explain, write_text


def test_interrupted_write_keeps_the_good_file(tmp_path: Path) -> None:
    good = tmp_path / "lesson.mp4"
    good.write_bytes(b"good video")
    with pytest.raises(KeyboardInterrupt), atomic_path(good) as tmp:
        tmp.write_bytes(b"half a vid")
        raise KeyboardInterrupt  # the run is interrupted mid-write
    assert good.read_bytes() == b"good video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lesson.mp4"]


def test_interrupted_process_leaves_no_broken_file(tmp_path: Path) -> None:
    """A process killed while writing leaves the old file in place (the rename never happened)."""
    good = tmp_path / "out.json"
    write_text(good, "old")
    code = (
        "import os, signal; from pathlib import Path; from render.state import atomic_path\n"
        f"with atomic_path(Path({str(good)!r})) as tmp:\n"
        "    tmp.write_text('partial')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", code])
    assert result.returncode != 0
    assert good.read_text() == "old"


def test_explain_names_what_changed(tmp_path: Path) -> None:
    (tmp_path / "a.mp4").write_bytes(b"x")
    old = StepRecord(digest({"k": 1}), {"trace": "aa", "code": {"scenes/x.py": "1", "scenes/y.py": "2"}}, ["a.mp4"])
    assert explain(old, {"trace": "aa", "code": {"scenes/x.py": "1", "scenes/y.py": "2"}}, tmp_path, ["a.mp4"]) == ""
    why = explain(old, {"trace": "aa", "code": {"scenes/x.py": "9", "scenes/y.py": "2"}}, tmp_path, ["a.mp4"])
    assert why == "changed: code (scenes/x.py)"
    assert explain(None, {}, tmp_path, []) == "never built"
    (tmp_path / "a.mp4").unlink()
    assert explain(old, dict(old.inputs), tmp_path, ["a.mp4"]) == "output missing: a.mp4"


def test_state_file_round_trip(tmp_path: Path) -> None:
    state = StateFile(tmp_path / "s.json")
    (tmp_path / "a.mp4").write_bytes(b"clip")
    state.record("clip:a", StepRecord("k1", {"x": 1}, ["a.mp4"], facts={"duration": 1.5}).seal(tmp_path))
    state.save()
    again = StateFile(tmp_path / "s.json")
    record = again.get("clip:a")
    assert record is not None and record.key == "k1" and record.facts == {"duration": 1.5}
    assert record.files["a.mp4"][0] == 4  # the output's size, beside its hash
    (tmp_path / "s.json").write_text("{not json")
    assert StateFile(tmp_path / "s.json").steps == {}


def test_second_build_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    code = (
        "from pathlib import Path\nfrom render.state import build_lock\n"
        f"with build_lock(Path({str(tmp_path)!r})): pass"
    )
    with build_lock(tmp_path):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode != 0
        assert "BuildBusy: another render (pid" in result.stderr and "pass --wait" in result.stderr
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0  # free again once released


def test_visual_dependencies_follow_imports() -> None:
    files = {p.as_posix().split("/scenes/")[-1] for p in code_dependencies("scenes.visuals.show")}
    assert {"visuals/show.py", "theme.py", "mobjects/tensor_grid.py", "visuals/base.py"} <= files
    assert not any("torch" in f for f in files)
