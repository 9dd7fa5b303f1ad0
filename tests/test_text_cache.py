"""Texts kept on disk between render processes: read back exactly as built, a damaged file built again."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scenes.mobjects import text


def points(mobject: object) -> list[np.ndarray]:
    return [m.points for m in mobject.get_family()]  # type: ignore[attr-defined]


def test_a_kept_text_is_read_back_as_built_and_a_damaged_one_is_replaced(tmp_path: Path) -> None:
    args = ("Kept between processes 7", 30.0, "#ffffff", "DejaVu Sans", "NORMAL")
    text.keep_texts_in(tmp_path)
    try:
        text._master.cache_clear()
        built = text._master(*args)
        (kept,) = tmp_path.glob("*.pickle")
        text._master.cache_clear()  # as a fresh process would: only the folder knows the text
        read = text._master(*args)
        assert read is not built
        assert all(np.array_equal(a, b) for a, b in zip(points(read), points(built), strict=True))
        assert read.get_color() == built.get_color()
        kept.write_bytes(b"not a pickle")
        text._master.cache_clear()
        again = text._master(*args)
        assert all(np.array_equal(a, b) for a, b in zip(points(again), points(built), strict=True))
        assert kept.read_bytes() != b"not a pickle"
    finally:
        text.keep_texts_in(None)
        text._master.cache_clear()
