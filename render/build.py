"""The build: lesson script -> trace -> narration -> beat clips -> lesson video -> decks -> course page.

Every step is keyed by the content hash of its real inputs and records them, so a rerun redoes only what
an edit touched and `render status` can say why. The lesson-level check runs first and needs neither
torch nor Manim: a rerun with no change reads a few files and stops.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from render.course import ROOT, Course, LessonEntry, load_course
from render.hashing import code_digest, digest, file_digest, tool_versions, tree_digest
from render.lesson import Lesson, LessonError, load_lesson
from render.settings import PARTS, Settings
from render.state import StateFile, StepRecord, build_lock, explain, write_bytes, write_if_changed, write_text

# What the lesson video depends on besides the script: the pipeline code (not the deck/page builders,
# which have their own steps), the vocabulary, the assets.
VIDEO_CODE_EXCLUDE = {"render/decks.py", "render/page.py", "render/gallery.py", "render/cli.py"}


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


@dataclass
class BeatReport:
    name: str
    status: str = "pending"  # done | cached | failed
    reason: str = ""
    seconds: float = 0.0
    error: str = ""


@dataclass
class LessonReport:
    entry: LessonEntry
    status: str = "pending"  # done | cached | failed
    reason: str = ""
    error: str = ""
    beats: list[BeatReport] = field(default_factory=list)
    steps: dict[str, str] = field(default_factory=dict)  # step -> done/cached/skipped/failed
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for b in self.beats if b.status == status)


@dataclass
class BuildReport:
    lessons: list[LessonReport] = field(default_factory=list)
    page: str = "skipped"
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(lesson.status != "failed" for lesson in self.lessons) and not self.page.startswith("failed")


class Observer:
    """Progress callbacks; the CLI passes a Rich implementation, tests the default no-op."""

    def planned(self, lesson: LessonReport, beats_to_render: int) -> None: ...

    def beat_done(self, lesson: LessonReport, beat: BeatReport) -> None: ...

    def lesson_done(self, lesson: LessonReport) -> None: ...


def lesson_dir(settings: Settings, entry: LessonEntry) -> Path:
    return settings.build_dir / f"module{entry.module}" / entry.slug


def state_file(settings: Settings, entry: LessonEntry) -> StateFile:
    return StateFile(settings.build_dir / ".state" / f"module{entry.module}" / f"{entry.slug}.json")


def video_code_digest() -> dict[str, str]:
    files = tree_digest([ROOT / "render", ROOT / "scenes", ROOT / "assets"])
    return {k: v for k, v in files.items() if k not in VIDEO_CODE_EXCLUDE and not k.startswith("assets/deck")}


def lesson_inputs(entry: LessonEntry, settings: Settings) -> dict[str, Any]:
    """The whole-lesson inputs, hashed without importing torch or Manim."""
    return {
        "script": file_digest(entry.script),
        "lesson": {"id": entry.id, "title": entry.title},
        "code": video_code_digest(),
        "settings": {**settings.render_inputs(), "device": settings.device, "voice": settings.voice},
        "tools": tool_versions(),
    }


@dataclass
class BeatPlan:
    """One beat's work in a run: its inputs, keys and outputs."""

    index: int
    name: str
    title: str
    narration_text: str
    visual: dict[str, Any]
    trace: dict[str, Any]
    stem: str
    narration_inputs: dict[str, Any] | None = None
    clip_inputs: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, Any] | None = None
    wav: Path | None = None
    segments: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0


@dataclass
class LessonPlan:
    entry: LessonEntry
    lesson: Lesson
    trace: dict[str, Any]
    out: Path
    state: StateFile
    beats: list[BeatPlan]
    report: LessonReport


class Builder:
    """Runs the build for some lessons with explicit settings and an executor for beat work."""

    def __init__(self, settings: Settings, executor: Executor | None = None, observer: Observer | None = None,
                 course: Course | None = None):
        self.settings = settings
        self._executor = executor
        self._own_executor = executor is None
        self.observer = observer or Observer()
        self.course = course or load_course()
        self._device: str | None = None
        self._voice: Any = None

    # -- helpers --------------------------------------------------------------------------------------
    @property
    def executor(self) -> Executor:
        if self._executor is None:
            import multiprocessing

            # spawn: workers start clean and import Manim only, never torch from the parent
            self._executor = ProcessPoolExecutor(max_workers=max(1, self.settings.jobs),
                                                 mp_context=multiprocessing.get_context("spawn"))
        return self._executor

    def close(self) -> None:
        if self._own_executor and self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None

    @property
    def device(self) -> str:
        if self._device is None:
            from render.trace import resolve_device

            self._device = resolve_device(self.settings.device)
        return self._device

    @property
    def voice(self) -> Any:
        if self._voice is None and self.narrating:
            from render.narrate import check_voice, voice_from_option

            self._voice = voice_from_option(self.settings.voice)
            check_voice(self._voice)
        return self._voice

    @property
    def narrating(self) -> bool:
        return self.settings.voice != "none" and has_module("render.narrate")

    # -- planning -------------------------------------------------------------------------------------
    def up_to_date(self, entry: LessonEntry, state: StateFile) -> str:
        """'' if the lesson's video outputs are current (no torch needed), else why not."""
        if self.settings.force:
            return "forced (--force)"
        record = state.get("lesson")
        return explain(record, lesson_inputs(entry, self.settings), lesson_dir(self.settings, entry),
                       record.outputs if record else [])

    def plan(self, entry: LessonEntry, report: LessonReport, write: bool = True) -> LessonPlan:
        """Load the script, trace it (or reuse the trace), and work out each beat's inputs.
        With `write` False (for `render status`) a new trace stays in memory."""
        lesson = load_lesson(entry.script)
        out = lesson_dir(self.settings, entry)
        state = state_file(self.settings, entry)
        trace = self.trace(entry, lesson, out, state, report, write)
        beats: list[BeatPlan] = []
        from render.templating import render_narration
        from scenes.trace import BeatTrace

        for i, (beat, beat_trace) in enumerate(zip(lesson.beats, trace["beats"], strict=True)):
            view = BeatTrace.from_json(beat_trace, trace["device"], trace["torch"])
            try:
                text = render_narration(beat.narration, view)
            except Exception as exc:
                message = f"narration: {type(exc).__name__}: {exc}"
                raise LessonError(entry.script, beat.line, message, beat.name) from exc
            beats.append(BeatPlan(
                index=i, name=beat.name, title=beat.title, narration_text=text, visual=beat.visual.to_json(),
                trace={"beat": beat_trace, "device": trace["device"], "torch": trace["torch"]},
                stem=f"{i + 1:02d}-{beat.name}",
            ))
        return LessonPlan(entry, lesson, trace, out, state, beats, report)

    def trace(self, entry: LessonEntry, lesson: Lesson, out: Path, state: StateFile,
              report: LessonReport, write: bool = True) -> dict[str, Any]:
        inputs = {
            "script": file_digest(entry.script),
            "code": tree_digest([ROOT / "render" / "trace.py", ROOT / "render" / "lesson.py"]),
            "device": self.device,
            "torch": tool_versions()["torch"],
            "seed": lesson.seed,
        }
        path = out / "trace.json"
        why = "forced" if self.settings.force else explain(state.get("trace"), inputs, out, ["trace.json"])
        if not why:
            report.steps["trace"] = "cached"
            return dict(json.loads(path.read_text()))
        from render.trace import trace_lesson

        trace = trace_lesson(lesson, self.device)
        if write:
            write_if_changed(path, json.dumps(trace, indent=1))
        state.record("trace", StepRecord(digest(inputs), inputs, ["trace.json"]))
        report.steps["trace"] = "done"
        return trace

    def narration_inputs(self, plan: LessonPlan, beat: BeatPlan) -> dict[str, Any]:
        from render.narrate import recording_path

        recording = recording_path(ROOT / "assets" / "recordings", plan.entry.slug, beat.name)
        return {
            "text": beat.narration_text,
            "voice": self.voice.describe(),
            "recording": file_digest(recording) if recording else None,
            "code": tree_digest([ROOT / "render" / "narrate.py", ROOT / "assets" / "pronunciation.toml"]),
        }

    def clip_inputs(self, plan: LessonPlan, beat: BeatPlan) -> dict[str, Any]:
        visual_module = f"scenes.visuals.{beat.visual['kind']}"
        from scenes.spec import VisualSpec

        spec = VisualSpec.from_json(beat.visual)
        return {
            "trace": digest(beat.trace),
            "visual": beat.visual,
            "title": beat.title,
            "lesson": f"{plan.entry.id} {plan.entry.title}",
            "timing": digest(beat.timing),
            "scene_code": code_digest(spec.module) | code_digest("scenes.beat") | code_digest("render.clips"),
            "assets": tree_digest([ROOT / "assets" / "theme"]) if (ROOT / "assets" / "theme").exists() else {},
            "settings": self.settings.render_inputs(),
            "tools": {k: tool_versions()[k] for k in ("manim", "av", "manimpango", "ffmpeg")},
            "visual_module": visual_module,
        }

    # -- running --------------------------------------------------------------------------------------
    def build(self, entries: list[LessonEntry]) -> BuildReport:
        """Build lessons (video, decks) and the course page, as `settings.only` says."""
        started = time.perf_counter()
        report = BuildReport()
        with build_lock(self.settings.build_dir, wait=self.settings.wait):
            try:
                plans: list[LessonPlan] = []
                for entry in entries:
                    lesson_report = LessonReport(entry)
                    report.lessons.append(lesson_report)
                    if not entry.scripted:
                        lesson_report.status = "planned"
                        lesson_report.reason = f"no script yet ({entry.script.relative_to(ROOT)})"
                        continue
                    if "video" in self.settings.only:
                        state = state_file(self.settings, entry)
                        why = self.up_to_date(entry, state)
                        if not why:
                            lesson_report.status = "cached"
                            lesson_report.steps["video"] = "cached"
                            self.observer.lesson_done(lesson_report)
                            continue
                        lesson_report.reason = why
                        if not plans:
                            self.warm_workers()
                        try:
                            plans.append(self.plan(entry, lesson_report))
                        except LessonError as exc:
                            self.fail(lesson_report, str(exc))
                self.run_beats(plans)
                for entry_report in report.lessons:
                    if entry_report.status in ("failed", "planned"):
                        continue
                    if "decks" in self.settings.only:
                        self.decks(entry_report)
                    if entry_report.status == "pending":
                        entry_report.status = "done"
                if "page" in self.settings.only:
                    try:
                        report.page = self.page()
                    except Exception as exc:
                        report.page = f"failed: {type(exc).__name__}: {exc}"
            finally:
                self.close()
        report.seconds = time.perf_counter() - started
        return report

    def warm_workers(self) -> None:
        """Start the render processes (each imports Manim) while this one imports torch and traces."""
        if isinstance(self.executor, ProcessPoolExecutor):
            from render.clips import warm_worker

            for _ in range(max(1, self.settings.jobs)):
                self.executor.submit(warm_worker)

    def fail(self, report: LessonReport, error: str) -> None:
        report.status = "failed"
        report.error = error
        self.observer.lesson_done(report)

    def run_beats(self, plans: list[LessonPlan]) -> None:
        """Narration then clip for every beat of every lesson, as one pool of work; each lesson's video is
        joined on a thread of this process while the pool goes on with the other lessons' beats."""
        assembler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assemble")
        joins: list[Future[None]] = []

        def finish(plan: LessonPlan) -> None:
            joins.append(assembler.submit(self.finish_lesson, plan))

        try:
            self.feed_beats(plans, finish)
        finally:
            assembler.shutdown(wait=True)
        for join in joins:
            join.result()

    def feed_beats(self, plans: list[LessonPlan], finish: Callable[[LessonPlan], None]) -> None:
        """Submit each beat's narration, then its clip when the narration is back; `finish` a lesson
        once all its beats are done."""
        pending: dict[Future[Any], tuple[str, LessonPlan, BeatPlan]] = {}
        remaining: dict[str, int] = {}
        for plan in plans:
            t0 = time.perf_counter()
            plan.report.beats = [BeatReport(b.name) for b in plan.beats]
            remaining[plan.entry.id] = len(plan.beats)
            to_render = 0
            for beat in plan.beats:
                try:
                    if self.narrating:
                        job = self.narration_job(plan, beat)
                        if job is not None:
                            pending[self.executor.submit(*job)] = ("narrate", plan, beat)
                            to_render += 1
                            continue
                    if self.clip_job(plan, beat, pending):
                        to_render += 1
                    else:
                        remaining[plan.entry.id] -= 1
                except Exception as exc:
                    self.beat_failed(plan, beat, exc)
                    remaining[plan.entry.id] -= 1
            plan.report.seconds += time.perf_counter() - t0
            self.observer.planned(plan.report, to_render)
            if remaining[plan.entry.id] == 0:
                finish(plan)
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in done:
                kind, plan, beat = pending.pop(future)
                beat_report = plan.report.beats[beat.index]
                try:
                    result = future.result()
                    if kind == "narrate":
                        self.narration_done(plan, beat, result)
                        if self.clip_job(plan, beat, pending):
                            continue
                    else:
                        self.clip_done(plan, beat, result)
                except Exception as exc:
                    self.beat_failed(plan, beat, exc)
                if beat_report.status != "pending":
                    remaining[plan.entry.id] -= 1
                    if remaining[plan.entry.id] == 0:
                        finish(plan)

    def beat_failed(self, plan: LessonPlan, beat: BeatPlan, exc: BaseException) -> None:
        report = plan.report.beats[beat.index]
        report.status = "failed"
        script = plan.entry.script.relative_to(ROOT)
        line = plan.lesson.beats[beat.index].line
        report.error = f"{script}:{line}: beat {beat.name!r}: {type(exc).__name__}: {exc}"
        self.observer.beat_done(plan.report, report)

    def narration_job(self, plan: LessonPlan, beat: BeatPlan) -> tuple[Any, ...] | None:
        """Submit-able narration work for a beat, or None when its recorded narration is current."""
        from render.narrate import recording_path

        inputs = self.narration_inputs(plan, beat)
        beat.narration_inputs = inputs
        outputs = [f"beats/{beat.stem}.wav", f"beats/{beat.stem}.timing.json"]
        step = f"narrate:{beat.name}"
        why = "forced" if self.settings.force else explain(plan.state.get(step), inputs, plan.out, outputs)
        if not why:
            self.narration_done(plan, beat, None)
            return None
        plan.report.beats[beat.index].reason = f"narration {why}"
        recording = recording_path(ROOT / "assets" / "recordings", plan.entry.slug, beat.name)
        return (narrate_beat_job, beat.narration_text, self.voice, str(self.settings.build_dir / ".cache" / "tts"),
                str(plan.out / "beats" / f"{beat.stem}.wav"), str(recording) if recording else None)

    def narration_done(self, plan: LessonPlan, beat: BeatPlan, result: dict[str, Any] | None) -> None:
        timing_path = plan.out / "beats" / f"{beat.stem}.timing.json"
        if result is not None:
            write_text(timing_path, json.dumps(result, indent=1))
            assert beat.narration_inputs is not None
            plan.state.record(f"narrate:{beat.name}", StepRecord(
                digest(beat.narration_inputs), beat.narration_inputs,
                [f"beats/{beat.stem}.wav", f"beats/{beat.stem}.timing.json"]))
        timing = json.loads(timing_path.read_text())
        beat.timing = {"cues": [s["start"] for s in timing["segments"]], "duration": timing["duration"]}
        beat.wav = plan.out / "beats" / f"{beat.stem}.wav"
        beat.segments = timing["segments"]

    def clip_job(self, plan: LessonPlan, beat: BeatPlan, pending: dict[Future[Any], Any]) -> bool:
        """Submit the beat's clip render if its inputs changed; record it cached otherwise."""
        from render.clips import ClipJob, render_clip

        inputs = self.clip_inputs(plan, beat)
        if beat.wav is not None:
            inputs["audio"] = digest(beat.narration_inputs) if beat.narration_inputs else None
        beat.clip_inputs = inputs
        key = digest(inputs)
        outputs = [f"beats/{beat.stem}.mp4", f"beats/{beat.stem}.png"]
        outputs += [f"beats/{beat.stem}.f32"] if beat.wav is not None else []
        step = f"clip:{beat.name}"
        record = plan.state.get(step)
        why = "forced" if self.settings.force else explain(record, inputs, plan.out, outputs)
        report = plan.report.beats[beat.index]
        if not why and record is not None:
            beat.duration = float(record.inputs.get("_duration", 0.0)) or 0.0
            if report.status == "pending" and not report.reason:
                report.status = "cached"
            else:
                report.status = "done"  # narration redone but the clip's inputs did not change
            self.observer.beat_done(plan.report, report)
            return False
        report.reason = report.reason or f"clip {why}"
        job = ClipJob(
            key=key, output=str(plan.out / "beats" / f"{beat.stem}.mp4"), title=beat.title,
            lesson=f"{plan.entry.id}  {plan.entry.title}", visual=beat.visual, trace=beat.trace,
            timing=beat.timing, quality=self.settings.quality,
            work_dir=str(self.settings.build_dir / ".work"),
            audio=str(beat.wav) if beat.wav is not None else None,
        )
        write_text(plan.out / "beats" / f"{beat.stem}.job.json", json.dumps(job.__dict__, indent=1))
        pending[self.executor.submit(render_clip, job)] = ("clip", plan, beat)
        return True

    def clip_done(self, plan: LessonPlan, beat: BeatPlan, result: Any) -> None:
        beat.duration = result.duration
        inputs = dict(beat.clip_inputs)
        record_inputs = {**inputs, "_duration": result.duration}
        outputs = [f"beats/{beat.stem}.mp4", f"beats/{beat.stem}.png"]
        outputs += [f"beats/{beat.stem}.f32"] if beat.wav is not None else []
        record = StepRecord(digest(inputs), record_inputs, outputs)
        plan.state.record(f"clip:{beat.name}", record)
        write_text(plan.out / "beats" / f"{beat.stem}.shown.json",
                   json.dumps({"shown": result.shown, "lint": result.lint}, indent=1))
        report = plan.report.beats[beat.index]
        report.status = "done"
        report.seconds = result.seconds
        self.observer.beat_done(plan.report, report)
        plan.state.save()

    def finish_lesson(self, plan: LessonPlan) -> None:
        """Join the clips into the lesson video, write subtitles, posters and lesson.json."""
        t0 = time.perf_counter()
        report = plan.report
        failed = [b for b in report.beats if b.status == "failed"]
        if failed:
            report.steps["video"] = "skipped"
            plan.state.save()
            self.fail(report, "\n".join(b.error for b in failed))
            return
        try:
            self.assemble(plan)
        except Exception as exc:
            plan.state.save()
            self.fail(report, f"{plan.entry.script.relative_to(ROOT)}: lesson video: {type(exc).__name__}: {exc}")
            return
        plan.state.record("lesson", StepRecord(
            digest(lesson_inputs(plan.entry, self.settings)), lesson_inputs(plan.entry, self.settings),
            ["lesson.mp4", "lesson.json", "poster.png"]))
        plan.state.save()
        report.seconds += time.perf_counter() - t0
        self.observer.lesson_done(report)

    def assemble(self, plan: LessonPlan) -> None:
        from render import video

        out = plan.out
        clips = [out / "beats" / f"{b.stem}.mp4" for b in plan.beats]
        durations = []
        for beat, clip in zip(plan.beats, clips, strict=True):
            if not beat.duration:
                beat.duration = video.video_duration(clip)
            durations.append(beat.duration)
        titles = [b.title for b in plan.beats]
        inputs = {
            "clips": [plan.state.steps[f"clip:{b.name}"].key for b in plan.beats],
            "narration": [digest(b.narration_inputs) for b in plan.beats],
            "code": tree_digest([ROOT / "render" / "video.py", ROOT / "render" / "audio.py",
                                 ROOT / "render" / "subtitles.py"]),
            "titles": titles,
            "tools": {"ffmpeg": tool_versions()["ffmpeg"]},
            "meta": {"objectives": plan.lesson.objectives, "recap": plan.lesson.recap,
                     "challenge": plan.lesson.challenge, "bullets": [list(b.bullets) for b in plan.lesson.beats]},
        }
        outputs = ["lesson.mp4", "poster.png", "lesson.json"]
        narrated = all(b.wav is not None for b in plan.beats)
        if narrated:
            outputs += ["lesson.vtt", "lesson.srt"]
        why = "forced" if self.settings.force else explain(plan.state.get("video"), inputs, out, outputs)
        if not why:
            plan.report.steps["video"] = "cached"
            return
        audio_path = None
        if narrated:
            from render.audio import lesson_audio
            from render.subtitles import write_subtitles

            audio_path = out / ".lesson-audio.m4a"
            lesson_audio([out / "beats" / f"{b.stem}.f32" for b in plan.beats], durations, audio_path)
            cues = []
            start = 0.0
            for beat, duration in zip(plan.beats, durations, strict=True):
                for seg in beat.segments:
                    cues.append((start + seg["start"], start + seg["end"], seg["text"]))
                start += duration
            write_subtitles(cues, out / "lesson.vtt", out / "lesson.srt", end=sum(durations))
        video.join_clips(clips, titles, durations, out / "lesson.mp4", audio_path)
        if audio_path is not None:
            audio_path.unlink(missing_ok=True)
        key_beat = clips[1] if len(clips) > 1 else clips[0]  # each clip's last frame was saved beside it
        write_bytes(out / "poster.png", key_beat.with_suffix(".png").read_bytes())
        write_text(out / "lesson.json", json.dumps(self.lesson_record(plan, durations, narrated), indent=1,
                                                   ensure_ascii=False))
        plan.state.record("video", StepRecord(digest(inputs), inputs, outputs))
        plan.report.steps["video"] = "done"

    def lesson_record(self, plan: LessonPlan, durations: list[float], narrated: bool) -> dict[str, Any]:
        """lesson.json: everything the decks and the course page need, paths relative to the lesson folder."""
        entry, lesson = plan.entry, plan.lesson
        beats = []
        start = 0.0
        for beat, src, duration in zip(plan.beats, lesson.beats, durations, strict=True):
            beats.append({
                "name": beat.name, "title": beat.title, "bullets": list(src.bullets),
                "narration": beat.narration_text, "source": beat.trace["beat"]["source"],
                "clip": f"beats/{beat.stem}.mp4", "poster": f"beats/{beat.stem}.png",
                "start": round(start, 3), "duration": round(duration, 3),
            })
            start += duration
        return {
            "id": entry.id, "slug": entry.slug, "module": entry.module, "title": entry.title,
            "blurb": entry.blurb, "objectives": lesson.objectives, "recap": lesson.recap,
            "challenge": lesson.challenge, "device": plan.trace["device"], "torch": plan.trace["torch"],
            "video": "lesson.mp4", "poster": "poster.png",
            "vtt": "lesson.vtt" if narrated else None, "srt": "lesson.srt" if narrated else None,
            "duration": round(start, 3), "beats": beats,
        }

    def decks(self, report: LessonReport) -> None:
        """HTML and PowerPoint decks from lesson.json; redone when it, the templates or the deck code change."""
        if not has_module("render.decks"):
            report.steps["decks"] = "skipped"
            return
        entry = report.entry
        out = lesson_dir(self.settings, entry)
        record_path = out / "lesson.json"
        if not record_path.is_file():
            report.steps["decks"] = "skipped"
            return
        from render import decks

        state = state_file(self.settings, entry)
        assets = decks.copy_deck_assets(self.settings.build_dir)
        inputs = {
            "lesson": file_digest(record_path),
            "clips": {b["clip"]: file_digest(out / b["clip"]) for b in json.loads(record_path.read_text())["beats"]},
            "code": tree_digest([ROOT / "templates", ROOT / "render" / "decks.py", ROOT / "scenes" / "theme.py",
                                 ROOT / "assets" / "deck", ROOT / "package-lock.json"]),
        }
        outputs = ["deck.html", "deck.pptx"]
        why = "forced" if self.settings.force else explain(state.get("decks"), inputs, out, outputs)
        if not why:
            report.steps["decks"] = "cached"
            return
        lesson = json.loads(record_path.read_text())
        try:
            decks.write_html_deck(lesson, out, _relative(assets, out))
            decks.write_pptx_deck(lesson, out)
        except Exception as exc:
            report.steps["decks"] = "failed"
            self.fail(report, f"{entry.script.relative_to(ROOT)}: decks: {type(exc).__name__}: {exc}")
            return
        state.record("decks", StepRecord(digest(inputs), inputs, outputs))
        state.save()
        report.steps["decks"] = "done"
        if report.status == "cached":
            report.status = "done"

    def page(self) -> str:
        """The course page over every lesson built so far."""
        if not has_module("render.page"):
            return "skipped"
        from render import page

        lessons: dict[str, dict[str, Any] | None] = {}
        for entry in self.course.lessons:
            path = lesson_dir(self.settings, entry) / "lesson.json"
            lessons[entry.id] = json.loads(path.read_text()) if path.is_file() else None
        decks = {
            entry.id: [name for name in ("deck.html", "deck.pptx")
                       if (lesson_dir(self.settings, entry) / name).is_file()]
            for entry in self.course.lessons
        }
        inputs = {
            "lessons": {k: digest(v) for k, v in lessons.items()},
            "decks": decks,
            "code": tree_digest([ROOT / "templates", ROOT / "render" / "page.py", ROOT / "scenes" / "theme.py",
                                 ROOT / "scripts" / "course.toml"]),
        }
        state = StateFile(self.settings.build_dir / ".state" / "page.json")
        if not self.settings.force and not explain(state.get("page"), inputs, self.settings.build_dir, ["index.html"]):
            return "cached"
        page.write_course_page(self.course, lessons, self.settings.build_dir)
        state.record("page", StepRecord(digest(inputs), inputs, ["index.html"]))
        state.save()
        return "done"

    # -- status ---------------------------------------------------------------------------------------
    def status(self, entries: list[LessonEntry]) -> Iterator[tuple[LessonEntry, str, list[str]]]:
        """For each lesson: '' if up to date else why, and the beats that would be redone with their reasons."""
        for entry in entries:
            if not entry.scripted:
                yield entry, "planned: no script yet", []
                continue
            state = state_file(self.settings, entry)
            why = self.up_to_date(entry, state)
            if not why:
                yield entry, "", []
                continue
            report = LessonReport(entry)
            try:
                plan = self.plan(entry, report, write=False)
            except LessonError as exc:
                yield entry, f"fails: {exc}", []
                continue
            beats = []
            for beat in plan.beats:
                if self.narrating:
                    inputs = self.narration_inputs(plan, beat)
                    step = f"narrate:{beat.name}"
                    outputs = [f"beats/{beat.stem}.wav", f"beats/{beat.stem}.timing.json"]
                    n_why = explain(state.get(step), inputs, plan.out, outputs)
                    if n_why:
                        beats.append(f"{beat.stem}: narration {n_why}")
                        continue
                    beat.narration_inputs = inputs
                    timing = json.loads((plan.out / "beats" / f"{beat.stem}.timing.json").read_text())
                    beat.timing = {"cues": [s["start"] for s in timing["segments"]], "duration": timing["duration"]}
                    beat.wav = plan.out / "beats" / f"{beat.stem}.wav"
                inputs = self.clip_inputs(plan, beat)
                if beat.wav is not None:
                    inputs["audio"] = digest(beat.narration_inputs) if beat.narration_inputs else None
                c_why = explain(state.get(f"clip:{beat.name}"), inputs, plan.out, [f"beats/{beat.stem}.mp4"])
                if c_why:
                    beats.append(f"{beat.stem}: clip {c_why}")
            yield entry, why, beats


def narrate_beat_job(text: str, voice: Any, cache_dir: str, out_wav: str, recording: str | None) -> dict[str, Any]:
    """Pool-side narration of one beat; returns its timing as plain data."""
    from render.narrate import narrate_beat

    narration = narrate_beat(text, voice, Path(cache_dir), Path(out_wav), Path(recording) if recording else None)
    return {
        "segments": [{"text": s.text, "start": s.start, "end": s.end} for s in narration.segments],
        "duration": narration.duration,
    }


def _relative(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target, start)


def build(entries: list[LessonEntry], settings: Settings, executor: Executor | None = None,
          observer: Observer | None = None) -> BuildReport:
    """Build the given lessons with `settings`; the plain entry point the CLI and tests call."""
    return Builder(settings, executor, observer).build(entries)


__all__ = ["PARTS", "BuildReport", "Builder", "LessonReport", "build"]
