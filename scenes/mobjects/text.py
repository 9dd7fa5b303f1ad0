"""Text built once per distinct (string, size, colour, font) and copied after: Pango layout and parsing its
SVG are the cost (about 0.2 s a line). A process keeps its texts in memory; given a folder (`keep_texts_in`),
texts are also kept there, pickled, so a fresh render process reads in 10 ms what another one built."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import tempfile
from pathlib import Path

from manim import Text

from scenes import theme

FORMAT = 1  # bump when what a kept text holds changes
_folder: Path | None = None


def keep_texts_in(folder: Path | None) -> None:
    """Keep built texts in `folder` too (None: in memory only). The folder should be the user's own (the build
    folder): its files are unpickled."""
    global _folder
    _folder = folder


def _build(text: str, size: float, color: str, font: str, weight: str) -> Text:
    master = Text(text, font_size=size, color=color, font=font, weight=weight)
    for glyph in master.get_family():
        # the parsed SVG path a glyph's points were made from is never read again, and deep-copying it
        # was 3/4 of the cost of every copy
        if hasattr(glyph, "path_obj"):
            glyph.path_obj = None  # type: ignore[attr-defined]
    return master


def _kept(key: tuple[object, ...]) -> Path | None:
    if _folder is None:
        return None
    import manim
    import manimpango

    name = repr((FORMAT, manim.__version__, manimpango.__version__, *key)).encode()
    return _folder / f"{hashlib.sha256(name).hexdigest()[:32]}.pickle"


@functools.lru_cache(maxsize=4096)
def _master(text: str, size: float, color: str, font: str, weight: str) -> Text:
    path = _kept((text, size, color, font, weight))
    if path is not None and path.is_file():
        with contextlib.suppress(Exception):  # unreadable or from other code: built again and replaced
            kept = pickle.loads(path.read_bytes())
            if isinstance(kept, Text):
                return kept
    master = _build(text, size, color, font, weight)
    if path is not None:
        with contextlib.suppress(OSError):  # a cache: a read-only or full disk only costs time
            _write(path, pickle.dumps(master, protocol=pickle.HIGHEST_PROTOCOL))
    return master


def _write(path: Path, data: bytes) -> None:
    """Written under a temporary name and renamed, so a process reading it never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".text-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def label(
    text: str,
    size: float = theme.BODY_SIZE,
    color: str = theme.TEXT,
    font: str = theme.FONT,
    weight: str = "NORMAL",
) -> Text:
    """A fresh copy of a cached Text; safe to move and recolour."""
    return _master(text, float(size), color, font, weight).copy()


def mono(text: str, size: float = theme.CODE_SIZE, color: str = theme.TEXT) -> Text:
    return label(text, size, color, theme.MONO)
