"""The steps of the pipeline, declared: for each stage, its real inputs (hashed), its outputs and its action.

The build (`render.build`) walks these in order and hands them to one `Runner`; `render status` walks the
same declarations with a dry runner. Nothing here decides whether a step runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from render.course import ROOT, Course, LessonEntry
from render.hashing import code_digest, digest, file_digest, script_dependencies, tool_versions, tree_digest
from render.isolate import Limits, trace_isolated
from render.lesson import Lesson
from render.records import BeatRecord, LessonRecord, check_trace
from render.settings import Settings
from render.state import StateFile
from render.steps import Step
from render.trace import accelerators
from scenes.typed_code import typed_code

RECORDINGS = ROOT / "assets" / "recordings"
NARRATION_CODE = ("render.narrate",)
CLIP_CODE = ("scenes.beat", "render.clips", "render.audio")
VIDEO_CODE = ("render.video", "render.audio", "render.subtitles", "render.records", "scenes.typed_code",
              "render.publish")
DECK_FILES = ("templates", "render/decks.py", "scenes/theme.py", "assets/deck", "package-lock.json")
PAGE_FILES = ("templates", "render/page.py", "scenes/theme.py", "scripts/course.toml", "assets/lab")


def lesson_dir(settings: Settings, entry: LessonEntry) -> Path:
    return settings.build_dir / f"module{entry.module}" / entry.slug


def state_file(settings: Settings, entry: LessonEntry) -> StateFile:
    return StateFile(settings.build_dir / ".state" / f"module{entry.module}" / f"{entry.slug}.json")


def modules_digest(*modules: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for module in modules:
        out |= code_digest(module)
    return out


def used_visual_modules(script: Path) -> list[str]:
    """The vocabulary modules a lesson script names (`from scenes.vocabulary import Reduce`), parsed."""
    from render.hashing import script_imports
    from scenes.spec import VisualSpec

    prefix = "scenes.vocabulary."
    modules = set()
    for name in script_imports(script):
        if not name.startswith(prefix):
            continue
        try:
            modules.add(VisualSpec(name.removeprefix(prefix)).module)
        except Exception:  # an unknown visual fails later, at its line, when the script loads
            continue
    return sorted(modules)


def video_chain_inputs(entry: LessonEntry, settings: Settings) -> dict[str, Any]:
    """Everything the lesson video can depend on, hashed without importing torch or Manim: the script and
    the project files it imports, the visuals it names, narration, clip and video code, this lesson's own
    recordings, settings and tool versions. When these match the record, the whole chain is current."""
    recordings = RECORDINGS / entry.slug
    return {
        "script": tree_digest(script_dependencies(entry.script)),
        "visuals": modules_digest(*used_visual_modules(entry.script)),
        "code": modules_digest("render.trace", *NARRATION_CODE, *CLIP_CODE, *VIDEO_CODE)
        | tree_digest([ROOT / "assets" / "pronunciation.toml"]),
        "recordings": tree_digest([recordings]) if recordings.is_dir() else {},
        "settings": {**settings.render_inputs(), "device": settings.device, "voice": settings.voice}
        | ({"draft": True} if settings.draft else {}) | ({"preview": True} if settings.preview else {}),
        "tools": tool_versions(),
    }


def chain_step(entry: LessonEntry, settings: Settings, state: StateFile, beats: list[str] | None = None,
               inputs: dict[str, Any] | None = None) -> Step:
    """The whole video chain of a lesson as one summary step, recorded when its video is finished. Its outputs
    are every output of the chain (trace, each beat's narration and clip, the video), so a truncated clip or a
    deleted poster is noticed without planning the lesson: the list recorded last time is checked. `inputs`
    are the ones read when the run began: a script saved during the run must not be recorded as built."""
    record = state.get("lesson")
    outputs = ["lesson.mp4", "lesson.json", "poster.png"]
    if beats is not None:
        names = ["trace", "record", "video", *(f"{kind}:{b}" for b in beats for kind in ("narrate", "clip"))]
        outputs = sorted({*outputs, *(o for n in names if (r := state.get(n)) for o in r.outputs)})
    elif record is not None:
        outputs = list(record.outputs)
    return Step("lesson", inputs if inputs is not None else video_chain_inputs(entry, settings), outputs,
                lesson_dir(settings, entry), state)


def trace_step(entry: LessonEntry, device: str, limits: Limits, state: StateFile, out: Path,
               warm: bool = False) -> Step:
    """The trace: the script and every project module it imports, run by torch on `device` in a child
    process (render.isolate). The trace also carries the lesson's declared content."""
    inputs = {
        "script": tree_digest(script_dependencies(entry.script)),
        "code": modules_digest("render.trace", "render.records", "render.isolate"),
        "device": device,
        "torch": tool_versions()["torch"],
    } | ({"accelerators": accelerators()} if device == "auto" else {})

    def action() -> dict[str, Any]:
        from render.files import write_if_changed

        trace = trace_isolated(entry.script, device, limits, warm)
        write_if_changed(out / "trace.json", json.dumps(trace, indent=1))
        return {}

    return Step("trace", inputs, ["trace.json"], out, state, action, label="trace")


def read_trace(out: Path) -> dict[str, Any]:
    path = out / "trace.json"
    return check_trace(json.loads(path.read_text()), str(path))


@dataclass
class BeatWork:
    """One beat's work in a run: what it says and shows, and its steps' state as the run goes."""

    index: int
    name: str
    title: str
    text: str
    visual: dict[str, Any]
    trace: dict[str, Any]
    stem: str
    line: int = 0
    timing: dict[str, Any] | None = None
    wav: Path | None = None
    segments: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0
    narration_key: str | None = None
    clip_key: str = ""


def narration_step(beat: BeatWork, voice: Any, slug: str, out: Path, state: StateFile) -> Step:
    """A beat's narration: its spoken text, the voice, its own recording if there is one."""
    from render.narrate import recording_path

    recording = recording_path(RECORDINGS, slug, beat.name)
    inputs = {
        "text": beat.text,
        "voice": voice.describe(),
        "recording": file_digest(recording) if recording else None,
        "code": modules_digest(*NARRATION_CODE) | tree_digest([ROOT / "assets" / "pronunciation.toml"]),
    }
    return Step(f"narrate:{beat.name}", inputs, [f"beats/{beat.stem}.wav", f"beats/{beat.stem}.timing.json"],
                out, state)


def narration_job(beat: BeatWork, voice: Any, slug: str, settings: Settings) -> tuple[Any, ...]:
    """The pool call that narrates a beat: plain data in (a recording travels as bytes), data out."""
    from render.clips import narrate_job, studio_digest
    from render.narrate import recording_path

    recording = recording_path(RECORDINGS, slug, beat.name)
    return (narrate_job, beat.text, voice, str(settings.build_dir / ".cache" / "tts"),
            recording.read_bytes() if recording else None, recording.suffix if recording else "", studio_digest())


def write_narration(out: Path, beat: BeatWork, narrated: dict[str, Any]) -> None:
    """The narration step's outputs: the WAV, and each segment's text, start and end with the beat's length."""
    from render.files import write_bytes, write_text

    write_bytes(out / "beats" / f"{beat.stem}.wav", narrated["wav"])
    timing = {k: v for k, v in narrated.items() if k != "wav"}
    write_text(out / "beats" / f"{beat.stem}.timing.json", json.dumps(timing, indent=1))


def write_lint(out: Path, beat: BeatWork, found: dict[str, Any]) -> None:
    """The lint step's output: layout problems, the number of steps the visual played, the smallest value
    text (px at 480p), the values shown and what the frames held (texts per step, first content, picture share)."""
    from render.files import write_text

    keep = ("problems", "steps", "smallest_text", "shown", "screen", "first_content", "picture_share")
    write_text(out / "beats" / f"{beat.stem}.lint.json", json.dumps({k: found.get(k) for k in keep}, indent=1))


def use_timing(beat: BeatWork, out: Path) -> None:
    """Read a beat's narration timing (written by its narration step) into the beat."""
    timing = json.loads((out / "beats" / f"{beat.stem}.timing.json").read_text())
    beat.timing = {"cues": [s["start"] for s in timing["segments"]], "duration": timing["duration"]}
    beat.wav = out / "beats" / f"{beat.stem}.wav"
    beat.segments = timing["segments"]


def look_inputs(beat: BeatWork, lesson_title: str) -> dict[str, Any]:
    """What a beat's picture depends on, whatever its timing: the lint step's key, part of the clip's."""
    from scenes.spec import VisualSpec

    spec = VisualSpec.from_json(beat.visual)
    return {
        "trace": digest(beat.trace),
        "visual": beat.visual,
        "title": beat.title,
        "lesson": lesson_title,
        "scene_code": code_digest(spec.module) | modules_digest(*CLIP_CODE),
        "tools": {k: tool_versions()[k] for k in ("manim", "av", "manimpango")},
    }


def clip_step(beat: BeatWork, lesson_title: str, settings: Settings, out: Path, state: StateFile) -> Step:
    """A beat's clip: its picture, timed to its narration, at the chosen quality."""
    inputs = look_inputs(beat, lesson_title) | {
        "timing": digest(beat.timing),
        "audio": beat.narration_key,
        "settings": settings.render_inputs(),
        "ffmpeg": tool_versions()["ffmpeg"],
    } | ({"draft": True} if settings.draft else {})
    outputs = [f"beats/{beat.stem}.mp4", f"beats/{beat.stem}.png", f"beats/{beat.stem}.shown.json"]
    outputs += [f"beats/{beat.stem}.f32"] if beat.wav is not None else []
    return Step(f"clip:{beat.name}", inputs, outputs, out, state)


def lint_step(beat: BeatWork, lesson_title: str, out: Path, state: StateFile) -> Step:
    """A beat's layout lint and step count (a dry run of its scene, or what its clip render found)."""
    return Step(f"lint:{beat.name}", look_inputs(beat, lesson_title), [f"beats/{beat.stem}.lint.json"], out, state)


def record_inputs(entry: LessonEntry, beats: list[BeatWork], lesson: Lesson, state: StateFile,
                  draft: bool = False) -> dict[str, Any]:
    """What lesson.json, the poster and the subtitles are made of: the clips (their durations and key frames),
    the narration (text and timing), the lesson's own text."""
    return ({"draft": True} if draft else {}) | {
        "clips": [state.steps[f"clip:{b.name}"].key for b in beats],
        "narration": [b.narration_key for b in beats],
        "code": modules_digest(*VIDEO_CODE),
        "lesson": [entry.id, entry.slug, entry.title, entry.blurb],
        "titles": [b.title for b in beats],
        "meta": {"objectives": lesson.objectives, "recap": lesson.recap, "challenge": lesson.challenge,
                 "bullets": [list(b.bullets) for b in lesson.beats]},
    }


def record_outputs(narrated: bool) -> list[str]:
    return ["poster.png", "lesson.json", "description.txt", "thumbnail.png"] + (
        ["lesson.vtt", "lesson.srt"] if narrated else [])


def video_inputs(beats: list[BeatWork], state: StateFile, preview: bool = False) -> dict[str, Any]:
    """The joined lesson video: the clips, their narration audio, the chapter titles, the tools."""
    return ({"preview": True} if preview else {}) | {
        "clips": [state.steps[f"clip:{b.name}"].key for b in beats],
        "narration": [b.narration_key for b in beats],
        "code": modules_digest(*VIDEO_CODE),
        "titles": [b.title for b in beats],
        "tools": {"ffmpeg": tool_versions()["ffmpeg"]},
    }


def lesson_record(entry: LessonEntry, lesson: Lesson, trace: dict[str, Any], beats: list[BeatWork],
                  narrated: bool, draft: bool = False) -> LessonRecord:
    """lesson.json: what the decks and the course page need, paths relative to the lesson folder."""
    records, start = [], 0.0
    for beat, src in zip(beats, lesson.beats, strict=True):
        records.append(BeatRecord(
            name=beat.name, title=beat.title, bullets=list(src.bullets), narration=beat.text,
            source=typed_code(beat.trace["beat"]["source"], beat.trace["beat"]["values"]),
            clip=f"beats/{beat.stem}.mp4", poster=f"beats/{beat.stem}.png",
            start=round(start, 3), duration=round(beat.duration, 3), draft=draft))
        start += beat.duration
    return LessonRecord(
        id=entry.id, slug=entry.slug, module=entry.module, title=entry.title, blurb=entry.blurb,
        objectives=lesson.objectives, recap=lesson.recap, challenge=lesson.challenge, device=trace["device"],
        torch=trace["torch"], duration=round(start, 3), beats=records,
        vtt="lesson.vtt" if narrated else None, srt="lesson.srt" if narrated else None)


def decks_step(entry: LessonEntry, settings: Settings, state: StateFile) -> Step:
    """HTML and PowerPoint decks, from lesson.json and the video's clips; redone when they, the templates or
    the deck code change."""
    out = lesson_dir(settings, entry)
    video = state.get("video")
    inputs = {
        "lesson": file_digest(out / "lesson.json") if (out / "lesson.json").is_file() else None,
        "video": video.key if video else None,
        "code": tree_digest(ROOT / f for f in DECK_FILES),
    }

    def action() -> dict[str, Any]:
        from render import decks
        from render.files import relative

        record = LessonRecord.read(out / "lesson.json")
        assets = decks.copy_deck_assets(settings.build_dir)
        decks.write_html_deck(record.to_dict(), out, relative(assets, out))
        decks.write_pptx_deck(record.to_dict(), out)
        return {}

    return Step("decks", inputs, ["deck.html", "deck.pptx"], out, state, action)


def handout_step(entry: LessonEntry, settings: Settings, state: StateFile) -> Step:
    """The PDF handout, printed by Chromium from the HTML deck's print view: redone when the decks are."""
    out = lesson_dir(settings, entry)
    decks = state.get("decks")
    inputs = {"decks": decks.key if decks else None, "code": modules_digest("render.handout")}

    def action() -> dict[str, Any]:
        from render.handout import write_handout

        write_handout(out / "deck.html", out / "deck.pdf")
        return {}

    return Step("handout", inputs, ["deck.pdf"], out, state, action)


def notebook_step(entry: LessonEntry, settings: Settings, state: StateFile) -> Step:
    """The lesson's notebook, written from its trace and run by a Jupyter kernel with its outputs stored:
    keyed on the trace (the script, the project files it imports, the device, the torch version)."""
    out = lesson_dir(settings, entry)
    trace = state.get("trace")
    inputs = {
        "trace": trace.key if trace else None,
        "torch": tool_versions()["torch"],
        "code": modules_digest("render.notebook"),
    }

    def action() -> dict[str, Any]:
        from render.notebook import make_notebook

        trace = read_trace(out)
        lesson = Lesson.described(trace["lesson"], entry.script)
        timeout = max(settings.limits.beat_seconds, settings.limits.load_seconds)  # a cell is a beat; 1st imports torch
        make_notebook(entry, lesson, trace, out / "lesson.ipynb", timeout)
        return {}

    return Step("notebook", inputs, ["lesson.ipynb"], out, state, action)


def lesson_page_step(entry: LessonEntry, settings: Settings, state: StateFile) -> Step:
    """The lesson's own page: its video, beats with posters and timed narration, links to what was built."""
    out = lesson_dir(settings, entry)
    present = [name for name in ("deck.html", "deck.pptx", "lesson.ipynb", "deck.pdf", "lesson.vtt")
               if (out / name).is_file()]
    inputs = {
        "lesson": file_digest(out / "lesson.json") if (out / "lesson.json").is_file() else None,
        "timing": tree_digest(sorted((out / "beats").glob("*.timing.json"))),
        "present": present,
        "code": tree_digest([ROOT / "templates" / "lesson.html", ROOT / "render" / "lesson_page.py",
                             ROOT / "scenes" / "theme.py"]),
    }

    def action() -> dict[str, Any]:
        from render.lesson_page import write_lesson_page

        write_lesson_page(LessonRecord.read(out / "lesson.json"), out)
        return {}

    return Step("lesson page", inputs, ["index.html"], out, state, action, label="lesson page")


def page_step(course: Course, settings: Settings) -> Step:
    """The course page over every lesson built so far."""
    records: dict[str, LessonRecord | None] = {}
    for entry in course.lessons:
        path = lesson_dir(settings, entry) / "lesson.json"
        records[entry.id] = LessonRecord.read(path) if path.is_file() else None
    decks = {entry.id: [name for name in ("deck.html", "deck.pptx", "deck.pdf", "lesson.ipynb")
                        if (lesson_dir(settings, entry) / name).is_file()] for entry in course.lessons}
    inputs = {
        "lessons": {k: digest(v.to_dict()) if v else None for k, v in records.items()},
        "decks": decks,
        "code": tree_digest(ROOT / f for f in PAGE_FILES),
    }

    def action() -> dict[str, Any]:
        from render import page

        lessons = {entry.id: page.rebase(r.to_dict(), lesson_dir(settings, entry), settings.build_dir)
                   if (r := records[entry.id]) else None for entry in course.lessons}
        page.write_course_page(course, lessons, settings.build_dir)
        return {}

    state = StateFile(settings.build_dir / ".state" / "page.json")
    return Step("page", inputs, ["index.html"], settings.build_dir, state, action)
