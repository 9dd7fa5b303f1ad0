"""Read-only views of a beat's trace (the JSON the trace step wrote); no torch, no Manim."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

INT_DTYPES = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}


def format_number(value: Any, dtype: str = "float32", digits: int = 2) -> str:
    """A cell label: integers plainly, bools as True/False, floats with `digits` decimals (zeros kept)."""
    if value is None:
        return "None"
    if isinstance(value, str):  # nan / inf are stored as strings in JSON
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(value, value)
    if dtype == "bool" or isinstance(value, bool):
        return "True" if value else "False"
    if dtype in INT_DTYPES:
        return str(int(value))
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = f"{float(value):.{digits}f}"
    return "0." + "0" * digits if text == "-0." + "0" * digits else text


def shape_text(shape: list[int] | tuple[int, ...]) -> str:
    """`3x4` for a shape, `scalar` for 0-D: the form captions and narration use."""
    return "x".join(str(s) for s in shape) if shape else "scalar"


@dataclass(frozen=True)
class TensorEntry:
    """One named tensor as torch computed it: values, shape, dtype, device, strides, autograd state."""

    name: str
    values: Any
    shape: tuple[int, ...]
    dtype: str
    device: str
    stride: tuple[int, ...]
    storage_offset: int = 0
    is_contiguous: bool = True
    requires_grad: bool = False
    is_leaf: bool = True
    grad_fn: str | None = None
    grad: TensorEntry | None = None
    storage: str | None = None
    bits: list[int] | None = None
    truncated: bool = False

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> TensorEntry:
        grad = data.get("grad")
        return cls(
            name=name,
            values=data["values"],
            shape=tuple(data["shape"]),
            dtype=data["dtype"],
            device=data["device"],
            stride=tuple(data["stride"]),
            storage_offset=data.get("storage_offset", 0),
            is_contiguous=data.get("is_contiguous", True),
            requires_grad=data.get("requires_grad", False),
            is_leaf=data.get("is_leaf", True),
            grad_fn=data.get("grad_fn"),
            grad=cls.from_json(f"{name}.grad", grad) if grad else None,
            storage=data.get("storage"),
            bits=data.get("bits"),
            truncated=data.get("truncated", False),
        )

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    def flat(self) -> list[Any]:
        """Values in row-major (logical) order."""

        def walk(v: Any) -> Iterator[Any]:
            if isinstance(v, list):
                for item in v:
                    yield from walk(item)
            else:
                yield v

        return list(walk(self.values))

    def at(self, *index: int) -> Any:
        v = self.values
        for i in index:
            v = v[i]
        return v

    def label(self, *index: int, digits: int = 2) -> str:
        return format_number(self.at(*index), self.dtype, digits)

    def select(self, i: int) -> TensorEntry:
        """The sub-tensor `t[i]` along the first axis, as torch lays it out (a view: same storage)."""
        return TensorEntry(
            name=f"{self.name}[{i}]",
            values=self.values[i],
            shape=self.shape[1:],
            dtype=self.dtype,
            device=self.device,
            stride=self.stride[1:],
            storage_offset=self.storage_offset + i * self.stride[0],
            is_contiguous=self.is_contiguous,
            requires_grad=self.requires_grad,
            is_leaf=self.is_leaf,
            grad_fn=self.grad_fn,
            storage=self.storage or self.name,
            bits=None,
            truncated=self.truncated,
        )

    def storage_position(self, *index: int) -> int:
        """Where element `index` lives in the flat storage: offset + sum(index * stride)."""
        return self.storage_offset + sum(i * s for i, s in zip(index, self.stride, strict=True))

    def indices(self) -> list[tuple[int, ...]]:
        """Every logical index, in row-major order."""
        out: list[tuple[int, ...]] = [()]
        for n in self.shape:
            out = [(*o, i) for o in out for i in range(n)]
        return out


@dataclass(frozen=True)
class GraphNode:
    id: str
    name: str
    tensor: str | None = None


@dataclass(frozen=True)
class AutogradGraph:
    """grad_fn nodes and the edges between them (from a node to the nodes it sends gradients to)."""

    nodes: tuple[GraphNode, ...] = ()
    edges: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> AutogradGraph:
        if not data:
            return cls()
        nodes = tuple(GraphNode(n["id"], n["name"], n.get("tensor")) for n in data["nodes"])
        return cls(nodes, tuple((a, b) for a, b in data["edges"]))


@dataclass(frozen=True)
class BeatTrace:
    """What one beat's computation produced, as recorded in the trace.

    `values[name]` holds every non-tensor value the compute function returned, as plain JSON: None, bools,
    numbers (nan/inf/-inf as those strings), strings, lists (tuples and torch.Size become lists), dicts with
    string keys (order kept), nested to any depth; dtypes and devices as their names ("float16", "cpu")."""

    name: str
    source: str
    tensors: dict[str, TensorEntry] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    graph: AutogradGraph = field(default_factory=AutogradGraph)
    device: str = "cpu"
    torch_version: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any], device: str = "cpu", torch_version: str = "") -> BeatTrace:
        return cls(
            name=data["name"],
            source=data["source"],
            tensors={k: TensorEntry.from_json(k, v) for k, v in data["tensors"].items()},
            values=dict(data.get("values", {})),
            graph=AutogradGraph.from_json(data.get("graph")),
            device=device,
            torch_version=torch_version,
        )

    def __getitem__(self, name: str) -> TensorEntry:
        try:
            return self.tensors[name]
        except KeyError:
            raise KeyError(
                f"beat {self.name!r} has no traced tensor {name!r}; it has {sorted(self.tensors)}"
            ) from None


def broadcast_index(index: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The element of a tensor of `shape` that broadcasting reads for result `index` (shapes aligned on
    the right; size-1 axes always read index 0)."""
    tail = index[len(index) - len(shape) :] if shape else ()
    return tuple(0 if n == 1 else i for i, n in zip(tail, shape, strict=True))
