"""Subtitles: cues from real segment times, in order, inside the video, two lines of 42 characters at most."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from render.narrate import Voice, narrate_beat
from render.subtitles import MIN_SECONDS, layout_cues, write_subtitles

STAMP = r"(\d\d):(\d\d):(\d\d)[.,](\d\d\d)"


def seconds(match: tuple[str, ...]) -> float:
    h, m, s, ms = (int(x) for x in match)
    return h * 3600 + m * 60 + s + ms / 1000


def parse(path: Path) -> list[tuple[float, float, list[str]]]:
    """(start, end, lines) of every cue in a VTT or SRT file."""
    cues = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        lines = block.splitlines()
        for i, line in enumerate(lines):
            m = re.fullmatch(f"{STAMP} --> {STAMP}", line)
            if m:
                groups = m.groups()
                cues.append((seconds(groups[:4]), seconds(groups[4:]), lines[i + 1:]))
    return cues


def check(cues: list[tuple[float, float, list[str]]], video_length: float) -> None:
    assert cues
    previous = 0.0
    for start, end, lines in cues:
        assert previous <= start < end <= video_length + 1e-9
        assert end - start >= MIN_SECONDS - 1e-3, (start, end, lines)
        assert 1 <= len(lines) <= 2 and all(0 < len(line) <= 42 for line in lines)
        previous = end


def test_subtitles_of_a_narrated_lesson_lie_within_the_video(tmp_path: Path) -> None:
    texts = ["Behold, apprentices! We hand torch.tensor a humble nested list, and it returns a 2x3 tensor of "
             "float32, the default floating point type of every tensor you will summon today.",
             "No data? No matter! | torch.zeros and torch.arange conjure tensors from the void."]
    cues, offset = [], 0.0
    for k, text in enumerate(texts):
        n = narrate_beat(text, Voice("espeak"), tmp_path / "cache", tmp_path / f"b{k}.wav")
        cues += [(offset + s.start, offset + s.end, s.text) for s in n.segments]
        offset += n.duration
    write_subtitles(cues, tmp_path / "lesson.vtt", tmp_path / "lesson.srt", end=offset)
    assert (tmp_path / "lesson.vtt").read_text().startswith("WEBVTT\n\n")
    vtt, srt = parse(tmp_path / "lesson.vtt"), parse(tmp_path / "lesson.srt")
    assert vtt == srt
    check(vtt, offset)
    assert len(vtt) > len(cues)  # the long first sentence became several cues
    spoken = " ".join(" ".join(lines) for _, _, lines in vtt)
    assert spoken == " ".join(" ".join(t.split()) for _, _, t in cues)  # every word, once, in order
    assert srt[0][0] == pytest.approx(cues[0][0], abs=1e-3)
    assert (tmp_path / "lesson.srt").read_text().startswith("1\n00:00:00,")


def test_long_text_splits_by_time_proportion() -> None:
    text = " ".join(["word"] * 60)  # 299 characters: several cues of two lines
    laid = layout_cues([(10.0, 40.0, text)])
    assert len(laid) >= 4
    assert laid[0][0] == 10.0 and laid[-1][1] == pytest.approx(40.0, abs=1e-3)
    for (a, b, body), (c, _, _) in zip(laid, laid[1:], strict=False):
        assert b == pytest.approx(c, abs=1e-3)
        assert (b - a) / 30.0 == pytest.approx(len(body) / sum(len(x[2]) for x in laid), abs=0.01)


def test_cues_are_ordered_and_clamped_to_the_video() -> None:
    laid = layout_cues([(5.0, 9.0, "late"), (0.5, 6.0, "overlapping the next"), (9.2, 12.0, "past the end")],
                       end=10.0)
    assert [c[2] for c in laid] == ["overlapping the next", "late", "past the end"]
    assert laid[0][1] <= laid[1][0] and laid[-1][1] == 10.0
    assert layout_cues([(11.0, 12.0, "after the video")], end=10.0) == []


def words_of(laid: list[tuple[float, float, str]]) -> list[str]:
    return " ".join(body for _, _, body in laid).split()


def assert_readable(laid: list[tuple[float, float, str]]) -> None:
    """In order, no overlap, every cue on screen long enough to read, two lines of 42 at most."""
    for (a, b, body), nxt in zip(laid, [*laid[1:], None], strict=True):
        assert b - a >= MIN_SECONDS - 1e-3, (a, b, body)
        assert nxt is None or b <= nxt[0]
        assert len(body.splitlines()) <= 2 and all(len(line) <= 42 for line in body.splitlines())


def test_a_long_segment_leaves_no_orphan_cue() -> None:
    """A greedy wrap of this segment leaves "0." alone for 0.07 s; the cues share its words evenly."""
    text = "wordy " * 14 + "0."
    laid = layout_cues([(1.0, 4.0, text)])
    assert_readable(laid)
    assert words_of(laid) == text.split()
    assert len(laid) == 2 and all(len(body) > 30 for _, _, body in laid)
    assert laid[0][0] == 1.0 and laid[-1][1] == 4.0


def test_a_short_cue_merges_into_the_nearer_neighbour() -> None:
    cues = [(0.0, 2.0, "A first sentence."), (2.35, 2.6, "Zero."), (3.5, 5.0, "Then another one.")]
    laid = layout_cues(cues)
    assert laid == [(0.0, 2.6, "A first sentence. Zero."), (3.5, 5.0, "Then another one.")]


def test_a_short_cue_between_full_ones_stretches_into_the_silence() -> None:
    full = "word " * 16  # two full lines: nothing more fits beside it
    cues = [(0.0, 4.5, full), (5.0, 5.4, "Behold!"), (6.5, 10.0, full)]
    laid = layout_cues(cues)
    assert_readable(laid)
    assert [body for _, _, body in laid][1] == "Behold!"
    assert laid[1][0] >= 4.5 and laid[1][1] <= 6.5


def test_a_short_cue_with_no_room_shares_a_neighbours_time() -> None:
    full = "word " * 16
    cues = [(0.0, 3.0, full), (3.0, 3.3, "Yes!"), (3.3, 6.0, full)]
    laid = layout_cues(cues)
    assert_readable(laid)
    assert words_of(laid) == " ".join(c[2] for c in cues).split()
    assert laid[0][0] == 0.0 and laid[-1][1] == 6.0
