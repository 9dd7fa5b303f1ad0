"""The names lesson scripts use to pick a beat's visual: `from scenes.vocabulary import MatmulSweep`.

Every visual is a class in `scenes/visuals/` named exactly as lessons write it (`ReLU`, `MLP`); importing
`Name` from here gives a factory `Name(*tensor_names, **options) -> VisualSpec` that checks the options
against those the class declares. Nothing here imports Manim (see `scenes.spec.visual_index`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scenes.errors import NotInVocabulary
from scenes.spec import VisualSpec, available_visuals, visual_info


def _factory(kind: str) -> Callable[..., VisualSpec]:
    def make(*tensors: str, **options: Any) -> VisualSpec:
        return VisualSpec(kind, tuple(tensors), options)

    info = visual_info(kind)
    listed = "".join(f"\n    {name}: {meaning}" for name, meaning in info.options.items())
    make.__name__ = make.__qualname__ = kind
    make.__module__ = __name__
    make.__doc__ = f"The {kind} visual ({info.module}) over the named trace entries.\n\nOptions:{listed or ' none'}"
    return make


def __getattr__(name: str) -> Callable[..., VisualSpec]:
    if name[:1].isupper() and name in available_visuals():
        return _factory(name)
    if name.startswith("__"):  # Python asking for module attributes (__path__, __wrapped__...)
        raise AttributeError(name)
    raise NotInVocabulary(name, available_visuals())


def __dir__() -> list[str]:
    return available_visuals()
