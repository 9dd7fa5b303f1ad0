"""The `Visual` protocol shared by every beat visual, and the content area it may draw in."""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

import numpy as np
from manim import Mobject, Scene, VGroup

from scenes.errors import VisualError
from scenes.spec import VisualSpec
from scenes.trace import BeatTrace


@dataclass(frozen=True)
class Area:
    """A rectangle of the frame in Manim units (centre and size)."""

    x: float
    y: float
    width: float
    height: float

    def fit(self, mob: Mobject, max_scale: float = 1.0) -> Mobject:
        """Scale `mob` down (never up past `max_scale`) to fit, and centre it in the area."""
        scale = min(max_scale, self.width / max(mob.width, 1e-6), self.height / max(mob.height, 1e-6))
        mob.scale(scale)
        return mob.move_to(np.array([self.x, self.y, 0.0]))


def largest_arrangement(group: VGroup, area: Area, arrangements: Sequence[Callable[[VGroup], VGroup]],
                        around: Callable[[VGroup], Mobject] | None = None) -> VGroup:
    """Arrange `group` the way (row, column, grid...) that lets it, or the picture `around` builds from it,
    be drawn largest in `area`; returns the group arranged. When the group holds 3-D tensor grids, each
    arrangement is also tried with their slices standing in a column instead of side by side (the grids'
    own layout wins a tie)."""
    from scenes.mobjects.tensor_grid import TensorGrid

    def grids(g: VGroup) -> list[TensorGrid]:
        return [m for m in g.get_family() if isinstance(m, TensorGrid) and len(m.tensor.shape) == 3]

    def with_slices(arrange: Callable[[VGroup], VGroup], upright: bool) -> Callable[[VGroup], VGroup]:
        def arranged(g: VGroup) -> VGroup:
            for grid in grids(g):
                grid.arrange_slices(len(grid.body) if upright else None)
            return arrange(g)

        return arranged

    candidates = [with_slices(a, False) for a in arrangements]
    if any(len(g.body) > 1 for g in grids(group)):
        candidates += [with_slices(a, True) for a in arrangements]

    def scale(arrange: Callable[[VGroup], VGroup]) -> float:
        trial = arrange(group.copy())
        picture = around(trial) if around else trial
        return min(area.width / max(picture.width, 1e-6), area.height / max(picture.height, 1e-6))

    return max(candidates, key=scale)(group)


def grid_cells(shape: Sequence[int], max_rows: int = 6, max_cols: int = 7, max_slabs: int = 3,
               max_blocks: int = 3) -> list[tuple[int, ...]]:
    """The indices a `TensorGrid` of `shape` (with these limits) has a cell for, in row-major order,
    worked out from the shape alone: what `steps()` counts without drawing. Rows and columns of each 2-D
    slice keep `max_rows` and `max_cols`; a 3-D tensor keeps `max_slabs` slices along axis 0, a 4-D tensor
    `max_blocks` along axis 0 and `max_slabs` along axis 1 (the rows and columns of its grid of slices)."""
    from scenes.mobjects.tensor_grid import kept_indices

    def kept(n: int, limit: int) -> list[int]:
        return [i for i in kept_indices(n, limit) if i is not None]

    shape = tuple(shape)
    if len(shape) == 0:
        return [()]
    axes = [kept(shape[-1], max_cols)]
    if len(shape) >= 2:
        axes.insert(0, kept(shape[-2], max_rows))
    if len(shape) == 3:
        axes.insert(0, kept(shape[0], max_slabs))
    if len(shape) == 4:  # a grid of slices: its rows follow axis 0, its columns axis 1
        axes[:0] = [kept(shape[0], max_blocks), kept(shape[1], max_slabs)]
    return list(itertools.product(*axes))


class Visual:
    """A beat's picture. `play` is a generator: each `yield` ends a step, and the beat scene waits there
    for the next narration cue. `shown` records every value put on screen, for the truth check.
    `options` names every option the visual reads, with what it means (lesson typos are caught by it)."""

    options: ClassVar[dict[str, str]] = {}

    def __init__(self, spec: VisualSpec, beat: BeatTrace, area: Area):
        self.spec = spec
        self.beat = beat
        self.area = area
        self.shown: dict[str, Any] = {}

    def option(self, name: str, default: Any = None) -> Any:
        value = self.spec.options.get(name)
        return default if value is None else value

    def play(self, scene: Scene) -> Iterator[None]:
        raise NotImplementedError
        yield

    def steps(self) -> int:
        """How many times `play` yields for this spec and trace, from the data alone (nothing drawn):
        the number of narration segments the beat must have. Every visual says; there is no default."""
        raise NotImplementedError(f"{type(self).__name__} does not say how many steps it plays")

    def validate(self) -> None:
        """Refuse, with a `VisualError`, data this visual cannot draw (shapes that do not fit together, a rank or
        dtype it has no picture for), before anything is drawn or counted: `load_visual` and `count_steps`
        call it. The default accepts everything."""

    def refuse(self, name: str | None, reason: str) -> NoReturn:
        """Raise the `VisualError` naming this visual, the traced entry `name` and the reason."""
        raise VisualError(type(self).__name__, name, reason)


class TensorVisual(Visual):
    """A visual over traced tensors: builds grids and records every value it draws in `shown`."""

    options: ClassVar[dict[str, str]] = {"digits": "decimals shown for floats (default 2)"}

    @property
    def digits(self) -> int:
        return int(self.option("digits", 2))

    def drawn(self, name: str, **limits: int) -> list[tuple[int, ...]]:
        """The indices of trace entry `name` that `self.grid(name, **limits)` draws, in row-major order."""
        from scenes.mobjects.tensor_grid import fitted_cols

        entry = self.beat[name]
        limits["max_cols"] = fitted_cols(entry, limits.get("max_cols", 7), self.digits)
        return grid_cells(entry.shape, **limits)

    def tensor_names(self) -> list[str]:
        return list(self.spec.tensors)

    def grid(self, name: str, role: str = "input", **kwargs: Any) -> Any:
        """A `TensorGrid` of trace entry `name`; its values go into `shown[name]`."""
        from scenes.mobjects.tensor_grid import TensorGrid

        grid = TensorGrid(self.beat[name], role=role, digits=self.digits, **kwargs)
        self.shown.setdefault(name, {}).update(grid.shown_values())
        return grid

    def moved(self, src: str, src_index: tuple[int, ...], dst: str, dst_index: tuple[int, ...]) -> None:
        """Record that the value at `src[src_index]` is drawn travelling to `dst[dst_index]`."""
        self.shown.setdefault("moves", []).append([src, list(src_index), dst, list(dst_index)])

    def fit(self, mob: Mobject, area: Area | None = None, max_scale: float = 1.3) -> Mobject:
        return (area or self.area).fit(mob, max_scale)

    def split_area(self, note_height: float = 1.0) -> tuple[Area, Area]:
        """The content area cut into the picture (top) and a strip for notes (bottom)."""
        a = self.area
        top_h = a.height - note_height - 0.2  # a gap between the picture and its notes
        main = Area(a.x, a.y + a.height / 2 - top_h / 2, a.width, top_h)
        bottom = Area(a.x, a.y - a.height / 2 + note_height / 2, a.width, note_height)
        return main, bottom

    def pairs(
        self, links: list[tuple[str, Any, tuple[int, ...], str, Any, tuple[int, ...]]]
    ) -> list[tuple[Any, Any]]:
        """Cell pairs to `flow`, for links (src name, src grid, src index, dst name, dst grid, dst index);
        links whose cells are elided are skipped, the rest are recorded in `shown["moves"]`."""
        out = []
        for src, sgrid, sidx, dst, dgrid, didx in links:
            if sgrid.has(sidx) and dgrid.has(didx):
                self.moved(src, sidx, dst, didx)
                out.append((sgrid.cell(*sidx), dgrid.cell(*didx)))
        return out

    def text_value(self, name: str) -> Any:
        """A non-tensor value the beat returned (an error string, a count), named by an option."""
        try:
            return self.beat.values[name]
        except KeyError:
            raise KeyError(
                f"beat {self.beat.name!r} returned no value {name!r}; it has {sorted(self.beat.values)}"
            ) from None


@contextmanager
def speaking_for(kind: str) -> Iterator[None]:
    """A `VisualError` raised inside by a shared piece (a `TensorGrid` refusing a 6-D tensor) is raised again
    naming visual `kind`, the one the lesson called, with the same entry and reason."""
    try:
        yield
    except VisualError as error:
        if error.visual == kind:
            raise
        raise VisualError(kind, error.tensor, error.reason) from error


NO_AREA = Area(0.0, 0.0, 1.0, 1.0)  # steps() never draws, so any area will do


def count_steps(visual_json: dict[str, Any], beat_trace_json: dict[str, Any], device: str,
                torch_version: str) -> int:
    """How many steps a beat's visual plays (its `steps()`), from the same JSON a clip worker receives,
    without rendering: what `render lint` compares with the narration's segments."""
    spec = VisualSpec.from_json(visual_json)
    beat = BeatTrace.from_json(beat_trace_json, device, torch_version)
    module, name = spec.implementation.split(":")
    with speaking_for(spec.kind):
        visual: Visual = getattr(importlib.import_module(module), name)(spec, beat, NO_AREA)
        visual.validate()
        return visual.steps()
