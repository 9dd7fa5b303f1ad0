"""`ColumnGrid`: a 1-D tensor drawn as a column, so entry t sits beside row t of the tensors around it
(indices beside embedding rows, targets beside logits, per-sample losses beside their samples)."""

from __future__ import annotations

from typing import Any

from manim import Scene, VGroup

from scenes.mobjects.tensor_grid import TensorGrid
from scenes.trace import TensorEntry, shape_text


def as_column(t: TensorEntry) -> TensorEntry:
    """The same values laid out T x 1 (the trace entry itself is untouched)."""
    return TensorEntry(name=t.name, values=[[v] for v in t.values], shape=(t.shape[0], 1), dtype=t.dtype,
                       device=t.device, stride=(1, 1))


class ColumnGrid(TensorGrid):
    """A `TensorGrid` of a 1-D tensor standing upright; `shown_values` and `at(t)` use the 1-D index."""

    def __init__(self, tensor: TensorEntry, **kwargs: Any):
        if tensor.ndim != 1:
            raise ValueError(f"ColumnGrid draws 1-D tensors; {tensor.name} is {tensor.ndim}-D")
        kwargs.setdefault("tag", f"{tensor.name}  {shape_text(tensor.shape)}")
        super().__init__(as_column(tensor), **kwargs)

    def at(self, t: int) -> VGroup:
        return self.cells[(t, 0)]

    def holds(self, t: int) -> bool:
        return (t, 0) in self.cells

    def shown_values(self) -> dict[str, str]:
        return {str(t): text for (t, _), text in self.shown.items()}


def settle(scene: Scene, *grids: TensorGrid | None) -> None:
    """After `appear` (which adds a grid's body, tag and badge one by one), keep each grid on screen as one
    mobject, so the layout lint knows its index labels and badge for what they are."""
    for grid in grids:
        if grid is not None:
            scene.remove(grid.body, grid.tag, grid.badge)
            scene.add(grid)
