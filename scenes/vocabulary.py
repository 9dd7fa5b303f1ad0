"""The names lesson scripts use to pick a beat's visual: `from scenes.vocabulary import MatmulSweep`.

Every visual `Name` lives in `scenes/visuals/<snake_name>.py` as class `Name`; importing `Name` from here
gives a factory `Name(*tensor_names, **options) -> VisualSpec`. Nothing here imports Manim.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scenes.spec import VisualSpec, available_visuals


def _factory(kind: str) -> Callable[..., VisualSpec]:
    def make(*tensors: str, **options: Any) -> VisualSpec:
        return VisualSpec(kind, tuple(tensors), options)

    make.__name__ = make.__qualname__ = kind
    make.__doc__ = f"The {kind} visual over the named trace entries (scenes/visuals)."
    return make


def __getattr__(name: str) -> Callable[..., VisualSpec]:
    if name[:1].isupper() and name in available_visuals():
        return _factory(name)
    raise AttributeError(f"no visual {name!r} in the vocabulary; it has {', '.join(available_visuals())}")


def __dir__() -> list[str]:
    return available_visuals()
