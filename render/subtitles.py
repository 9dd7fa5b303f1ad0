"""Subtitles (`lesson.vtt`, `lesson.srt`) from the narration's real segment times, and where a human
recording for a beat lives.

A cue holds at most two lines of at most 42 characters; a longer segment becomes several cues of about
equal length that share its time in proportion to their text. No cue is shorter than 0.7 s where time allows:
a short one is merged into a neighbour, or stretched into the silence beside it.
"""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

from render.files import write_if_changed

MAX_CHARS = 42
MAX_LINES = 2
MIN_SECONDS = 0.7  # the shortest cue a viewer can read; shorter ones are merged into a neighbour
RECORDING_SUFFIXES = (".wav", ".mp3")
Cue = tuple[float, float, str]  # (start, end, text) in seconds of lesson time


def _chunks(text: str) -> list[str]:
    """`text` as cue bodies of at most MAX_LINES lines of at most MAX_CHARS characters each."""
    lines = textwrap.wrap(" ".join(text.split()), MAX_CHARS, break_long_words=True, break_on_hyphens=False)
    return ["\n".join(lines[i: i + MAX_LINES]) for i in range(0, len(lines), MAX_LINES)]


def _fits(text: str) -> bool:
    return len(_chunks(text)) <= 1


def _even_groups(words: list[str], count: int) -> list[list[str]]:
    """`words` cut into `count` runs of about equal length in characters."""
    ends = list(itertools.accumulate(len(w) + 1 for w in words))
    cuts = [0]
    for k in range(1, count):
        target = ends[-1] * k / count
        cut = min(range(cuts[-1] + 1, len(words) - (count - k) + 1), key=lambda i: abs(ends[i - 1] - target))
        cuts.append(cut)
    cuts.append(len(words))
    return [words[a:b] for a, b in itertools.pairwise(cuts)]


def _bodies(text: str) -> list[str]:
    """`text` as the fewest cue bodies that fit, its words shared out evenly so that no body is a stub
    (a greedy wrap leaves orphans such as "0." that flash by in a tenth of a second)."""
    text = text.replace("`", "")  # a name written `a` for the voice reads a on screen
    greedy = _chunks(text)
    words = text.split()
    for count in range(len(greedy), len(words) + 1):
        groups = [" ".join(g) for g in _even_groups(words, count)] if count > 1 else [" ".join(words)]
        if all(_fits(g) for g in groups):
            return [_chunks(g)[0] for g in groups]
    return greedy


def _share(start: float, stop: float, bodies: list[str]) -> list[Cue]:
    """Cues for `bodies` that share [start, stop] in proportion to their text."""
    total = sum(len(b) for b in bodies)
    out: list[Cue] = []
    t = start
    for body in bodies:
        t_next = t + (stop - start) * len(body) / total
        out.append((t, t_next, body))
        t = t_next
    return out


def layout_cues(cues: list[Cue], end: float | None = None) -> list[Cue]:
    """Cues in time order, none overlapping the next, none past `end`, long text split by time proportion,
    and none shorter than MIN_SECONDS where a neighbour or free time can lend it some."""
    out: list[Cue] = []
    for start, stop, text in sorted(cues, key=lambda c: c[0]):
        bodies = _bodies(text)
        if bodies:
            out += _share(start, stop, bodies)
    fixed: list[Cue] = []
    for k, (start, stop, body) in enumerate(out):
        start = max(start, fixed[-1][1] if fixed else 0.0)
        if k + 1 < len(out):
            stop = min(stop, out[k + 1][0])
        if end is not None:
            start, stop = min(start, end), min(stop, end)
        if stop - start >= 0.001:
            fixed.append((start, stop, body))
    return [(round(a, 3), round(b, 3), body) for a, b, body in _lengthen(fixed, end)]


def _lengthen(cues: list[Cue], end: float | None) -> list[Cue]:
    """Give every cue shorter than MIN_SECONDS time to be read: merge it into the neighbour it fits with,
    else stretch it into the silence around it, else share a neighbour's time with it."""
    cues = list(cues)
    k = 0
    while k < len(cues):
        start, stop, body = cues[k]
        if stop - start >= MIN_SECONDS:
            k += 1
            continue
        joined = _merge(cues, k)
        if joined is not None:
            k = joined
            continue
        cues[k] = _stretch(cues, k, end)
        if cues[k][1] - cues[k][0] < MIN_SECONDS:
            _rebalance(cues, k)
        k += 1
    return cues


def _merge(cues: list[Cue], k: int) -> int | None:
    """Join cue k with the nearer neighbour whose text fits one cue with it; the joined cue's index."""
    options = []
    for j in (k - 1, k + 1):
        if 0 <= j < len(cues):
            a, b = sorted((j, k))
            text = f"{cues[a][2]} {cues[b][2]}"
            if _fits(text):
                options.append((cues[b][0] - cues[a][1], a, b, text))
    if not options:
        return None
    _, a, b, text = min(options)
    cues[a: b + 1] = [(cues[a][0], cues[b][1], _chunks(text)[0])]
    return a


def _stretch(cues: list[Cue], k: int, end: float | None) -> Cue:
    """Cue k lengthened into the free time after it, then before it."""
    start, stop, body = cues[k]
    after = cues[k + 1][0] if k + 1 < len(cues) else (end if end is not None else start + MIN_SECONDS)
    stop = max(stop, min(start + MIN_SECONDS, after))
    before = cues[k - 1][1] if k else 0.0
    start = min(start, max(stop - MIN_SECONDS, before))
    return (start, stop, body)


def _rebalance(cues: list[Cue], k: int) -> None:
    """Share the time of cue k and a neighbour between their texts evenly, when both then last long enough."""
    for a in (k - 1, k):
        b = a + 1
        if a < 0 or b >= len(cues):
            continue
        words = f"{cues[a][2]} {cues[b][2]}".split()
        groups = [" ".join(g) for g in _even_groups(words, 2)] if len(words) > 1 else []
        if len(groups) != 2 or not all(_fits(g) for g in groups):
            continue
        shared = _share(cues[a][0], cues[b][1], [_chunks(g)[0] for g in groups])
        if all(stop - start >= MIN_SECONDS for start, stop, _ in shared):
            cues[a: b + 1] = shared
            return


def _stamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _vtt_text(body: str) -> str:
    """WebVTT reads `<` and `&` as markup: escape them so a cue shows its text literally."""
    return body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_subtitles(cues: list[Cue], vtt: Path, srt: Path, end: float | None = None) -> None:
    """Write WebVTT and SubRip files from (start, end, text) cues in lesson time; `end` (the video's
    length) clamps every cue inside the video."""
    laid = layout_cues(cues, end)
    vtt_text = "WEBVTT\n\n" + "".join(
        f"{_stamp(a, '.')} --> {_stamp(b, '.')}\n{_vtt_text(body)}\n\n" for a, b, body in laid)
    srt_text = "".join(
        f"{k}\n{_stamp(a, ',')} --> {_stamp(b, ',')}\n{body}\n\n" for k, (a, b, body) in enumerate(laid, 1))
    write_if_changed(Path(vtt), vtt_text)
    write_if_changed(Path(srt), srt_text)


def recording_path(recordings_dir: Path | str, lesson_slug: str, beat_name: str) -> Path | None:
    """A human recording for a beat: `<recordings_dir>/<lesson_slug>/<beat_name>.wav` (or `.mp3`; the WAV
    wins when both exist), or None to use the synthetic voice."""
    for suffix in RECORDING_SUFFIXES:
        path = Path(recordings_dir) / lesson_slug / f"{beat_name}{suffix}"
        if path.is_file():
            return path
    return None
