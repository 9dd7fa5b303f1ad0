"""Checks a lesson must pass, for tests and `render lint`: narration numbers come from the trace, nothing in
it is misread by the voice, each narration segment starts its own visual step, and every beat's key frames
pass the layout lint (scenes run as a Manim dry run: nothing is encoded).

`lint_lessons` runs the lint as steps of the build: one per beat, keyed on what the picture depends on,
dry-run in the worker pool when stale, and read back from a render's own record when it is not.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from render.lesson import Lesson, load_lesson
from render.narrate import split_segments
from render.templating import render_narration
from scenes.trace import BeatTrace

# digits that are part of a name, not a quantity: float32, int64, bfloat16, 2D, 3-D, x86 ...
# Manim settings for a dry run: nothing drawn or encoded, and no hashing of play calls for a cache never used
DRY_RUN = {"dry_run": True, "disable_caching": True, "quality": "low_quality", "verbosity": "ERROR",
           "progress_bar": "none"}
NAME_WITH_DIGITS = re.compile(r"[A-Za-z_]+\d+[A-Za-z_\d]*|\d+-?[dD]\b")


def typed_numbers(template: str) -> list[str]:
    """Numbers written into a narration template by hand, outside `{{ ... }}` (they must come from the trace)."""
    literal = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", template, flags=re.S)
    literal = NAME_WITH_DIGITS.sub(" ", literal)
    return re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?", literal)


@dataclass
class LessonCheck:
    lesson: Lesson
    trace: dict[str, Any]
    narration: dict[str, str] = field(default_factory=dict)
    typed: dict[str, list[str]] = field(default_factory=dict)
    lint: dict[str, list[str]] = field(default_factory=dict)
    shown: dict[str, dict[str, Any]] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)
    segments: dict[str, list[str]] = field(default_factory=dict)

    def mismatches(self) -> dict[str, str]:
        """Beats whose narration segments and visual steps differ in number: segment k starts step k."""
        out = {}
        for name, steps in self.steps.items():
            segs = self.segments.get(name, [])
            if len(segs) != steps:
                listed = " ".join(f"[{i + 1}] {s}" for i, s in enumerate(segs))
                out[name] = f"{len(segs)} narration segments but the visual plays {steps} steps: {listed}"
        return out


def check_lesson(script: Path, device: str = "cpu", lint: bool = True, title: str = "") -> LessonCheck:
    """Trace a lesson on `device`, render its narration, and (with `lint`) dry-run every beat scene."""
    from render.trace import trace_lesson

    lesson = load_lesson(script)
    trace = trace_lesson(lesson, device)
    check = LessonCheck(lesson, trace)
    helpers = script_helpers(script) if lint else {}
    for beat, beat_json in zip(lesson.beats, trace["beats"], strict=True):
        view = BeatTrace.from_json(beat_json, trace["device"], trace["torch"])
        check.narration[beat.name] = render_narration(beat.narration, view)
        check.typed[beat.name] = typed_numbers(beat.narration)
        check.segments[beat.name] = split_segments(check.narration[beat.name])
        if lint:
            problems, shown, steps = dry_run(beat, beat_json, trace, title or script.stem)
            check.lint[beat.name] = problems + code_findings(beat, beat_json, helpers)
            check.shown[beat.name] = shown
            check.steps[beat.name] = steps
    return check


def dry_run(beat: Any, beat_json: dict[str, Any], trace: dict[str, Any],
            lesson_title: str) -> tuple[list[str], dict, int]:
    """Run a beat scene without encoding; return its lint problems, the values it showed and its step count."""
    found = dry_run_job({
        "title": beat.title,
        "lesson": lesson_title,
        "visual": beat.visual.to_json(),
        "trace": {"beat": beat_json, "device": trace["device"], "torch": trace["torch"]},
        "timing": None,
    })
    return found["problems"], found["shown"], found["steps"]


def dry_run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Pool-side dry run of one beat scene (plain data in and out)."""
    from manim import tempconfig

    from render.clips import _plain, frame_facts
    from scenes.beat import BeatScene

    # a media folder of its own: Manim caches Text SVGs there, and parallel runs must not share one
    with tempfile.TemporaryDirectory(prefix="dry-run-") as media, tempconfig(
        {**DRY_RUN, "media_dir": media}
    ):
        scene = BeatScene(job)
        scene.render()
    shown = _plain(dict(scene.visual.shown if scene.visual else {}))
    return {"problems": list(scene.lint_problems), "shown": shown, "steps": scene.steps_played,
            "smallest_text": scene.smallest_text, **frame_facts(scene)}


def spoken_names(template: str) -> set[str]:
    """The trace names a narration template speaks (`{{ a.shape }}` speaks `a`)."""
    from jinja2 import meta

    from render.templating import environment

    return set(meta.find_undeclared_variables(environment().parse(template)))


@dataclass
class BeatLint:
    """What `render lint` found in one beat."""

    name: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    smallest_text: float | None = None  # px at 480p
    where: str = ""
    picture_share: float | None = None  # the largest share of the content area its picture covered (cards too)
    first_content: float | None = None  # seconds from the beat's start to its first content
    kind: str = ""  # the visual  # the beat's file:line in its script


def text_findings(beat: Any, spoken: str, traced: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Problems and warnings found in a beat's narration alone: typed numbers, words the voice misreads."""
    from render import narrate

    problems = [f"narration types the number {n} instead of quoting the trace" for n in typed_numbers(beat.narration)]
    if hasattr(narrate, "misreadings"):
        problems += [f"the voice would misread: {m}" for m in narrate.misreadings(narrate.speakable(spoken))]
    problems += [f"the voice reads the name {name} as the article 'uh' in \"{said}\": write `{name}` (in backticks) "
                 "to hear the letter" for name, said in article_names(spoken, traced)]
    warnings: list[str] = []
    return problems, warnings


# words that follow a tensor's name, not an article's noun ("a is", "A at A", "a and b"); a name at the end of a
# clause ("times A,") is a name too
NAME_FOLLOWERS = {"is", "has", "holds", "at", "times", "plus", "minus", "and", "or", "gives", "becomes", "was",
                  "keeps", "stays", "transposed", "itself", "sits", "meets", "equals", "by", "dot", "still", "now",
                  "again", "against", "versus", "into", "to", "from", "with", "its", "alone", "but"}


def article_names(spoken: str, traced: dict[str, Any]) -> list[tuple[str, str]]:
    """Where a beat's one-letter name that is also an article (a, A) is spoken bare as a name: (name, the words
    around it). Written in backticks it is read as the letter (narrate.LETTER_A)."""
    names = {n for kind in ("tensors", "values", "modules", "state_dicts") for n in traced.get(kind, {})}
    found: list[tuple[str, str]] = []
    for name in sorted(names & {"a", "A"}):
        for m in re.finditer(rf"(?<![\w`.'\"]){name}(?![\w`'\"])(\s*)(\S*)", spoken):
            following = m.group(2).lower().strip(".,;:!?")
            at_end = not m.group(2) or m.group(2)[0] in ".,;:!?)|"
            if at_end or following in NAME_FOLLOWERS:
                said = " ".join(spoken[max(0, m.start() - 20):m.end()].split()[-4:])
                found.append((name, said))
    return found


def cue_mismatch(segments: list[str], steps: int) -> str:
    """Segments and steps side by side: segment k starts step k, so the author sees where they part."""
    pairs = [f"[{i + 1}] {segment} -> {f'step {i + 1}' if i < steps else 'no step left'}"
             for i, segment in enumerate(segments)]
    pairs += [f"step {k + 1} has no segment to start it" for k in range(len(segments), steps)]
    return (f"{len(segments)} narration segment{'s' if len(segments) != 1 else ''} but the visual plays {steps} "
            f"step{'s' if steps != 1 else ''} (segment k starts step k; add or remove a | cue): " + "; ".join(pairs))


def picture_findings(beat: Any, spoken: str, traced: dict[str, Any], found: dict[str, Any]) -> tuple[list, list]:
    """Problems and warnings from the beat's dry run: layout, cue/step counts, tensors spoken but not drawn."""
    problems = list(found["problems"])
    segments = split_segments(spoken)
    if len(segments) != found["steps"]:
        problems.append(cue_mismatch(segments, found["steps"]))
    drawn = set(beat.visual.tensors) | set(found["shown"])
    if found.get("screen") is not None:
        problems += unshown(beat.narration, traced, found["screen"], drawn)
    undrawn = sorted(n for n in spoken_names(beat.narration) & set(traced.get("tensors", {})) if n not in drawn)
    warnings = [f"narration speaks {n}, which the visual never draws" for n in undrawn]
    warnings += frames_used(beat.visual.kind, found)  # reported for the author to weigh: a scalar is small
    return problems, warnings


# --- code panels ------------------------------------------------------------------------------------------


def script_helpers(script: Path) -> dict[str, int]:
    """The script's own functions and classes that are not beats (a beat's code may call them): name -> line."""
    import ast

    from render.notebook import _is_beat, _names_lesson

    tree = ast.parse(script.read_text(encoding="utf-8"))
    return {node.name: node.lineno for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and not _is_beat(node) and not _names_lesson(node)}


BEAT_CODE_VISUALS = ("Show", "Loader")  # visuals that draw the beat's own code unless told `code=False`


def shows_code(beat: Any) -> bool:
    """Whether the beat's video draws its code in a panel."""
    options = getattr(beat.visual, "options", {}) or {}
    return beat.visual.kind in BEAT_CODE_VISUALS and bool(options.get("code", True))


def code_findings(beat: Any, traced: dict[str, Any], helpers: dict[str, int]) -> list[str]:
    """A code panel that calls one of the script's helpers without showing it: the learner cannot type it."""
    import ast

    from scenes.typed_code import typed_code

    if not helpers or not shows_code(beat):
        return []
    try:
        tree = ast.parse(typed_code(traced.get("source", ""), traced.get("values", {})))
    except SyntaxError:
        return []
    defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    called = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return [f"the code panel calls `{name}` (the script's helper at line {helpers[name]}) without showing it: the "
            "learner cannot type it; write its torch code in the beat, or define it there"
            for name in sorted((called & set(helpers)) - defined)]


# --- frames used ------------------------------------------------------------------------------------------

CARDS = ("Title", "CourseMap", "Terminal")  # a card or a console is its own picture
MIN_PICTURE_SHARE = 0.3  # of the content area under the title, at the step that draws the most
MAX_FIRST_CONTENT = 0.3  # seconds from the beat's start to the visual's first animation


def frames_used(kind: str, found: dict[str, Any]) -> list[str]:
    """A picture that leaves most of the frame empty, or a beat that starts on an empty screen."""
    problems = []
    share, first = found.get("picture_share"), found.get("first_content")
    if share is not None and kind not in CARDS and share < MIN_PICTURE_SHARE:
        problems.append(f"the picture covers {share:.0%} of the frame under the title (at least "
                        f"{MIN_PICTURE_SHARE:.0%}): draw it larger, or give the beat more to show")
    if first is not None and first > MAX_FIRST_CONTENT:
        problems.append(f"the screen stays empty for {first:.1f} s before the first content (at most "
                        f"{MAX_FIRST_CONTENT} s)")
    return problems


# --- spoken means shown -----------------------------------------------------------------------------------

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


COUNTED = re.compile(r"(\w+)\.(numel|ndim)")  # what a viewer counts in a drawn grid: its cells, its axes


def unshown(template: str, traced: dict[str, Any], screen: list[list[str]],
            drawn: Collection[str] = frozenset()) -> list[str]:
    """What a narration segment speaks (`{{ name }}`: a value, a shape, an error text) that the screen does not
    show once that segment's step has played: segment k starts step k, and `screen[k]` is every text visible when
    step k's animations end. Each problem names the segment, the value and where the screen does show it. A
    drawn tensor's element or axis count (`{{ x.numel }}`) is seen by counting, not read."""
    view = BeatTrace.from_json(traced)
    found: list[str] = []
    for k, segment in enumerate(split_segments(template)):
        if k >= len(screen):
            break  # more segments than steps: the cue mismatch says so
        for expr in dict.fromkeys(re.findall(r"{{\s*(.*?)\s*}}", segment, flags=re.S)):
            counted = COUNTED.fullmatch(expr)
            if counted and counted[1] in drawn:
                continue
            try:
                said = render_narration("{{ " + expr + " }}", view)
            except Exception:  # noqa: BLE001 (the narration's own check reports a template that fails)
                continue
            if on_screen(said, screen[k]):
                continue
            steps = [j for j, texts in enumerate(screen) if on_screen(said, texts)]
            later = [j for j in steps if j > k]
            where = (f"it appears only at step {later[0] + 1}" if later else
                     f"it was shown at step {steps[-1] + 1} and is gone by then" if steps else
                     "the screen never shows it")
            found.append(f"segment {k + 1} speaks {{{{ {expr} }}}} ({_clip(said)}), but {where}: draw it in that "
                         "step (a caption, a grid, the visual's note), or say it where it is drawn")
    return found


def on_screen(said: str, texts: list[str]) -> bool:
    """Whether a spoken value is readable among a frame's texts: a shape as 2x3, (2, 3) or [2, 3]; numbers by
    value to the decimals shown (2 is 2.00); text by its words (spaces aside, its first 40 characters)."""
    said = said.strip()
    if not said or said.lower() in ("true", "false", "none"):
        return True  # a yes/no or nothing: said in words, not drawn as a value
    screen = "".join(texts).replace(" ", "").replace("×", "x").lower()
    if re.fullmatch(r"\d+(?:x\d+)+", said):
        digits = said.split("x")
        return any(form in screen for form in ("x".join(digits), f"({','.join(digits)})", f"[{','.join(digits)}]",
                                                 f"({','.join(digits)},)"))
    plain = re.sub(r"[\s,]|and", "", said)
    if plain and re.fullmatch(r"(-?\d+(\.\d+)?(e[-+]?\d+)?)+", plain.replace("-", " -").replace(" ", "")):
        shown = [(float(n), _decimals(n)) for text in texts for n in NUMBER.findall(text.lower())]
        return all(any(_same(float(v), _decimals(v), s, d) for s, d in shown) for v in NUMBER.findall(said))
    words = re.sub(r"\s+", "", said).lower()
    return words[:40] in screen


def _decimals(number: str) -> int:
    mantissa = number.lower().split("e")[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def _same(spoken: float, spoken_digits: int, shown: float, shown_digits: int) -> bool:
    """A spoken and a shown number agree to the coarser of their roundings; a spoken decimal needs a shown one
    (1.73 is not the index label 2)."""
    if spoken_digits and not shown_digits:
        return False
    digits = min(spoken_digits, shown_digits) if shown_digits else 0
    return abs(spoken - shown) <= 0.5 * 10 ** -digits + 1e-9 * max(1.0, abs(spoken))


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."
