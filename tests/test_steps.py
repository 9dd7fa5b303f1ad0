"""The step runner on fake steps: it decides, runs, records and explains, and a dry run only explains."""

from __future__ import annotations

from pathlib import Path

from render.state import StateFile
from render.steps import Runner, Spent, Step, phases


def fake_step(tmp_path: Path, calls: list[str], value: str = "a", name: str = "make") -> Step:
    """A step that writes out.txt from `value` and counts its runs."""

    def action() -> dict[str, int]:
        calls.append(value)
        (tmp_path / "out.txt").write_text(value)
        return {"length": len(value)}

    return Step(name, {"value": value}, ["out.txt"], tmp_path, StateFile(tmp_path / "state.json"), action)


def test_a_step_runs_once_then_is_cached_with_its_facts(tmp_path: Path) -> None:
    calls: list[str] = []
    first = Runner().run(step := fake_step(tmp_path, calls))
    assert (first.status, first.reason, first.facts) == ("done", "never built", {"length": 1})
    step.state.save()
    again = Runner().run(fake_step(tmp_path, calls))
    assert (again.status, again.facts) == ("cached", {"length": 1})
    assert calls == ["a"]


def test_a_changed_input_is_named(tmp_path: Path) -> None:
    calls: list[str] = []
    runner = Runner()
    runner.run(step := fake_step(tmp_path, calls))
    step.state.save()
    outcome = runner.run(fake_step(tmp_path, calls, "bb"))
    assert (outcome.status, outcome.reason) == ("done", "changed: value")
    assert calls == ["a", "bb"]


def test_a_missing_or_altered_output_reruns_the_step(tmp_path: Path) -> None:
    calls: list[str] = []
    runner = Runner()
    runner.run(step := fake_step(tmp_path, calls))
    (tmp_path / "out.txt").write_text("truncated or tampered")
    assert runner.why(step).startswith("output changed: out.txt")
    (tmp_path / "out.txt").write_text("b")  # same size, other content
    assert runner.why(step) == "output changed: out.txt (content differs from what was recorded)"
    (tmp_path / "out.txt").unlink()
    assert runner.why(step) == "output missing: out.txt"
    assert runner.run(step).status == "done" and calls == ["a", "a"]


def test_force_reruns_a_current_step(tmp_path: Path) -> None:
    calls: list[str] = []
    Runner().run(step := fake_step(tmp_path, calls))
    step.state.save()
    outcome = Runner(force=True).run(fake_step(tmp_path, calls))
    assert (outcome.status, outcome.reason) == ("done", "forced (--force)")


def test_a_dry_run_explains_and_runs_nothing(tmp_path: Path) -> None:
    calls: list[str] = []
    dry = Runner(dry=True)
    outcome = dry.run(fake_step(tmp_path, calls))
    assert (outcome.status, outcome.reason) == ("stale", "never built")
    assert calls == [] and not (tmp_path / "out.txt").exists()
    assert [o.status for o in dry.log] == ["stale"]


def test_a_garbage_state_file_is_named_and_rebuilt(tmp_path: Path) -> None:
    calls: list[str] = []
    (tmp_path / "state.json").write_text("{not json")
    step = fake_step(tmp_path, calls)
    assert Runner().why(step) == "state file unreadable (state.json): rebuilt"
    (tmp_path / "state.json").write_text('{"schema": 1, "steps": {}}')
    assert Runner().why(fake_step(tmp_path, calls)) == "state from another version (state.json): rebuilt"


def test_pool_steps_are_started_then_finished(tmp_path: Path) -> None:
    """Work done elsewhere (a pool) is recorded by `finish`; its facts come back when cached."""
    runner = Runner()
    step = Step("clip:x", {"k": 1}, ["clip.mp4"], tmp_path, StateFile(tmp_path / "s.json"))
    assert runner.start(step).status == "stale"
    (tmp_path / "clip.mp4").write_bytes(b"\x00" * 10)
    runner.finish(step, {"duration": 2.5})
    cached = runner.start(step)
    assert (cached.status, cached.facts) == ("cached", {"duration": 2.5})
    assert [o.status for o in runner.log] == ["done", "cached"]


def test_a_record_from_another_version_asks_for_a_rebuild(tmp_path: Path) -> None:
    import json

    import pytest

    from render.errors import RecordVersion
    from render.records import LessonRecord

    path = tmp_path / "lesson.json"
    path.write_text(json.dumps({"schema": 0, "id": "1.1.1", "beats": []}))
    with pytest.raises(RecordVersion, match="--force"):
        LessonRecord.read(path)
    path.write_text(json.dumps({"schema": 1, "id": "1.1.1"}))  # this version, but cut short
    with pytest.raises(RecordVersion, match="incomplete"):
        LessonRecord.read(path)


def test_a_lesson_key_holds_the_files_its_script_reads_through_the_studio(tmp_path: Path) -> None:
    """0.1.1 draws the course manifest: editing scripts/course.toml must re-trace it; a helper beside a
    script is a dependency too; torch is never a project file."""
    from render.course import ROOT
    from render.hashing import script_dependencies

    course_map = script_dependencies(ROOT / "scripts" / "module0" / "pytorch_course_structure.py")
    assert ROOT / "scripts" / "course.toml" in course_map
    (tmp_path / "_helper.py").write_text("import torch\n")
    script = tmp_path / "lesson.py"
    script.write_text("import torch\nfrom _helper import numbers\n")
    assert script_dependencies(script) == sorted([script, tmp_path / "_helper.py"])


def test_parsed_imports_are_kept_between_runs_and_redone_for_an_edited_file(tmp_path: Path) -> None:
    import os

    from render.hashing import ImportMemo

    script = tmp_path / "lesson.py"
    script.write_text("import torch\nfrom scenes.vocabulary import Show\n")
    memo = ImportMemo()
    memo.open(tmp_path / "imports.json")
    assert memo.get(script, script.stat()) == ("torch", "scenes.vocabulary", "scenes.vocabulary.Show")
    memo.save()
    again = ImportMemo()  # the next run reads what this one parsed
    again.open(tmp_path / "imports.json")
    assert list(again.found.values()) == [["torch", "scenes.vocabulary", "scenes.vocabulary.Show"]]
    script.write_text("from scenes.vocabulary import Reduce\n")
    os.utime(script, ns=(1, 1))
    assert again.get(script, script.stat()) == ("scenes.vocabulary", "scenes.vocabulary.Reduce")
    assert again.dirty


def test_a_preview_join_by_render_serve_is_joined_again_by_the_next_render() -> None:
    """render serve joins lesson audio as a preview; the video chain is keyed on that, so a later
    `render` sees the chain changed and joins the video again (its clips stay cached)."""
    from render.course import load_course
    from render.settings import Settings
    from render.stages import video_chain_inputs

    entry = load_course().lesson("1.1.1")
    served = video_chain_inputs(entry, Settings(preview=True))
    plain = video_chain_inputs(entry, Settings())
    assert served["settings"] != plain["settings"]
    assert {k: v for k, v in served.items() if k != "settings"} == {k: v for k, v in plain.items() if k != "settings"}


def test_the_runner_notes_what_each_run_step_took(tmp_path: Path) -> None:
    import time

    runner = Runner()
    runner.run(step := fake_step(tmp_path, [], name="clip:first"))
    step.state.save()
    runner.run(fake_step(tmp_path, [], name="clip:first"))  # cached: no work, nothing noted
    runner.took("narrate:second", seconds=2.0, cpu=1.5)
    assert [s.phase for s in runner.spent] == ["clip", "narrate"]
    assert 0 <= runner.spent[0].seconds < 5 and abs(runner.spent[1].start - (time.monotonic() - 2.0)) < 1


def test_phases_count_overlapping_steps_once_in_their_wall() -> None:
    spent = [Spent("clip", 0.0, 10.0, 9.0), Spent("clip", 5.0, 10.0, 9.5), Spent("clip", 20.0, 1.0, 1.0),
             Spent("video", 12.0, 3.0, 2.0)]
    assert phases(spent) == {"clip": {"steps": 3, "wall": 16.0, "work": 21.0, "cpu": 19.5},
                             "video": {"steps": 1, "wall": 3.0, "work": 3.0, "cpu": 2.0}}
