"""Upload-ready files: chapters as video sites read them, the description, the thumbnail."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from render.publish import MIN_CHAPTER, MIN_CHAPTERS, chapters, description, stamp, write_thumbnail


def test_short_beats_join_the_chapter_before_and_the_first_starts_at_zero() -> None:
    beats = [("Objectives", 6.0), ("Rows", 14.0), ("Cols", 3.0), ("Shapes", 20.0), ("Recap", 4.0)]
    assert chapters(beats) == []  # Objectives+Rows+Cols (23 s), Shapes+Recap (24 s): two chapters, too few
    beats.insert(4, ("Views", 15.0))
    assert chapters(beats) == [(0.0, "Objectives"), (23.0, "Shapes"), (43.0, "Views")]
    assert chapters([("A", 12.0), ("B", 11.0), ("C", 15.0), ("D", 2.0)]) == [(0.0, "A"), (12.0, "B"), (23.0, "C")]
    assert chapters([("A", 30.0), ("B", 30.0)]) == []  # two chapters: a site would ignore the list


@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), st.floats(0.5, 90.0)), max_size=30))
def test_chapters_keep_the_rules_video_sites_read(beats: list[tuple[str, float]]) -> None:
    listed = chapters(beats)
    if not listed:
        return
    total = sum(d for _, d in beats)
    starts = [s for s, _ in listed] + [total]
    assert listed[0][0] == 0.0 and len(listed) >= MIN_CHAPTERS
    assert all(b - a >= MIN_CHAPTER - 1e-9 for a, b in zip(starts, starts[1:], strict=False))
    assert {t for _, t in listed} <= {t for t, _ in beats}


def test_description_lists_objectives_and_chapters(tmp_path: Path) -> None:
    beats = [SimpleNamespace(title=t, duration=d) for t, d in [("Opening", 12.0), ("`view`", 65.0), ("Recap", 15.0)]]
    record = SimpleNamespace(id="1.1.3", title="Tensor `Metamorphosis`", blurb="Reshape at will.",
                             objectives=["Use `view`"], beats=beats, vtt="lesson.vtt", srt="lesson.srt")
    text = description(record)
    assert text.startswith("1.1.3 · Tensor Metamorphosis\n\nReshape at will.\n\nYou will learn:\n- Use view")
    assert "Chapters:\n0:00 Opening\n0:12 view\n1:17 Recap" in text
    assert stamp(3723) == "1:02:03"


def test_thumbnail_is_1280_by_720(tmp_path: Path) -> None:
    from PIL import Image

    poster = tmp_path / "poster.png"
    Image.new("RGB", (854, 480), "white").save(poster)
    write_thumbnail(poster, tmp_path / "thumbnail.png")
    with Image.open(tmp_path / "thumbnail.png") as thumb:
        assert thumb.size == (1280, 720)
