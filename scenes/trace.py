"""Read-only views of a beat's trace (the JSON the trace step wrote); no torch, no Manim."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

HUGE = 1e6  # floats from here on are written in scientific notation (1.00e+30)
WHOLE = 1e9  # ...unless they are whole numbers below this, written out with a point (16777216.)
INT_DTYPES = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}


def format_number(value: Any, dtype: str = "float32", digits: int = 2) -> str:
    """A cell label: integers plainly, bools as True/False, floats with `digits` decimals (zeros kept), huge
    ones (from HUGE on) in scientific notation with `digits` decimals, but whole ones below WHOLE written out."""
    if value is None:
        return "None"
    if isinstance(value, complex):
        re, im = format_number(value.real, "float", digits), format_number(abs(value.imag), "float", digits)
        sign = "-" if value.imag < 0 or (value.imag == 0 and math.copysign(1, value.imag) < 0) else "+"
        return f"{re}{sign}{im}j"
    if isinstance(value, str):  # nan / inf are stored as strings in JSON
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(value, value)
    if dtype == "bool" or isinstance(value, bool):
        return "True" if value else "False"
    if dtype in INT_DTYPES:
        return str(int(value))
    if isinstance(value, float) and not math.isfinite(value):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}[str(value)]
    if abs(float(value)) >= HUGE:  # 1e30 would be 31 digits wide: a cell keeps its width
        if float(value).is_integer() and abs(float(value)) < WHOLE:  # 16777216. as torch prints it: the digits
            return f"{int(value)}."                                  # a rounding lesson is about stay visible
        return f"{float(value):.{digits}e}"
    text = f"{float(value):.{digits}f}"
    return "0." + "0" * digits if text == "-0." + "0" * digits else text


MAX_DIGITS = 6  # decimals a grid of tiny values may grow to


def legible_digits(values: Sequence[Any], dtype: str, digits: int) -> int:
    """The decimals that keep a float tensor readable: `digits`, or more (up to MAX_DIGITS) when every value
    would read 0.00 though some are not zero (an optimiser's second moment), so its largest shows two
    significant digits."""
    if dtype in INT_DTYPES or dtype == "bool":
        return digits
    sizes = [abs(float(v)) for v in values if isinstance(v, int | float) and not isinstance(v, bool)
             and math.isfinite(v)]
    largest = max(sizes, default=0.0)
    if largest == 0.0 or largest >= 0.5 * 10.0 ** -digits:
        return digits
    return min(MAX_DIGITS, max(digits, 1 - math.floor(math.log10(largest))))


def short_name(name: str, limit: int = 16) -> str:
    """A traced name as a picture writes it: whole up to `limit` characters, else its start and end around an
    ellipsis (`scores_of_t…block`), so a long name does not shrink the picture it labels."""
    if len(name) <= limit:
        return name
    tail = (limit - 1) // 3
    return f"{name[: limit - 1 - tail]}…{name[len(name) - tail:]}"


def sum_of_products(terms: Sequence[Sequence[str]], times: str, limit: int,
                    then: str = "") -> str:
    """A worked sum as a textbook writes it: `1.00×0.50 + (-0.34)×(-0.20) + …`: every negative factor bracketed
    but the very first (so `+ -0.34` never reads as a typo), at most `limit` terms, then `then` (`+ b`)."""
    def factor(text: str, first: bool) -> str:
        return f"({text})" if text.startswith("-") and not first else text

    shown = [times.join(factor(f, i == 0 and k == 0) for k, f in enumerate(term))
             for i, term in enumerate(terms[:limit])]
    return " + ".join(shown) + (" + …" if len(terms) > limit else "") + (f" + {factor(then, False)}" if then else "")


def shape_text(shape: list[int] | tuple[int, ...]) -> str:
    """`3x4` for a shape, `scalar` for 0-D: the form captions and narration use."""
    return "x".join(str(s) for s in shape) if shape else "scalar"


def _walk(v: Any) -> Iterator[Any]:
    if isinstance(v, list):
        for item in v:
            yield from _walk(item)
    else:
        yield v


def _real(v: Any) -> float:
    return float(v)  # JSON keeps nan/inf as the strings "nan", "inf", "-inf"; float() reads them


@dataclass(frozen=True)
class TensorStats:
    """Statistics torch computed over a whole tensor: min, max, mean, std of its finite values (None when it
    has none) and how many values are nan, +inf, -inf. `imag` holds the imaginary part's, for complex."""

    count: int = 0
    nan: int = 0
    posinf: int = 0
    neginf: int = 0
    min: Any = None
    max: Any = None
    mean: Any = None
    std: Any = None
    imag: TensorStats | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> TensorStats | None:
        if data is None:
            return None
        plain = {k: v for k, v in data.items() if k != "imag"}
        return cls(**plain, imag=cls.from_json(data.get("imag")))


@dataclass(frozen=True)
class TensorEntry:
    """One named tensor as torch computed it: values, shape, dtype, device, strides, autograd state.

    The trace JSON of a tensor: `values` (nested lists, row-major; a bare number for 0-D; nan/inf as
    strings; complex tensors hold the real parts here and the imaginary parts in `imag`), `shape`, `dtype`
    ("float32", "bfloat16", "complex64", "bool", "int64"...), `device`, `layout`, `stride`,
    `storage_offset`, `is_contiguous`, `requires_grad`, `is_leaf`, `grad_fn`, `grad` (a tensor entry or
    null), `storage` (the first traced name sharing its memory), `bits` (raw bit patterns of small floats),
    `stats` (see `TensorStats`) and, for a tensor above the trace's MAX_VALUES, `truncated: true` with
    `kept`: per axis, the indices whose values `values` holds (the first and last few, all of a short
    axis), so `at()` reads any cell a grid draws and refuses the rest. `no_data` marks a meta tensor.
    """

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
    imag: Any = None
    kept: tuple[tuple[int, ...], ...] | None = None
    stats: TensorStats | None = None
    layout: str = "strided"
    no_data: bool = False

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> TensorEntry:
        grad = data.get("grad")
        kept = data.get("kept")
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
            imag=data.get("imag"),
            kept=tuple(tuple(k) for k in kept) if kept is not None else None,
            stats=TensorStats.from_json(data.get("stats")),
            layout=data.get("layout", "strided"),
            no_data=data.get("no_data", False),
        )

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def is_complex(self) -> bool:
        return self.dtype.startswith("complex")

    def flat(self) -> list[Any]:
        """Values in row-major (logical) order; only the kept corners of a summarised tensor."""
        if self.is_complex:
            return [complex(_real(r), _real(i)) for r, i in zip(_walk(self.values), _walk(self.imag), strict=True)]
        return list(_walk(self.values))

    def has(self, *index: int) -> bool:
        """Whether the trace holds the value at `index` (always, unless the tensor was summarised)."""
        if self.no_data or len(index) != self.ndim:
            return False
        if not all(-n <= i < n for i, n in zip(index, self.shape, strict=True)):
            return False
        return self.kept is None or all(i % n in k for i, n, k in zip(index, self.shape, self.kept, strict=True))

    def _position(self, index: tuple[int, ...]) -> tuple[int, ...]:
        """Where logical `index` sits in `values` (the same, unless summarised: then among the kept)."""
        if self.kept is None:
            return index
        if not self.has(*index):
            raise IndexError(
                f"{self.name}{list(index)} was not traced: {self.name} has {self.numel} values, so the trace "
                f"keeps only the first and last {len(self.kept[0]) // 2 or 1} along each axis"
            )
        return tuple(k.index(i % n) for i, n, k in zip(index, self.shape, self.kept, strict=True))

    def at(self, *index: int) -> Any:
        """The value at a logical index: a number, bool, nan/inf string, or a complex for complex dtypes."""
        if self.no_data:
            raise IndexError(f"{self.name} is a {self.device} tensor: it has no values to show")
        position = self._position(tuple(index))
        v = self.values
        for i in position:
            v = v[i]
        if not self.is_complex:
            return v
        im = self.imag
        for i in position:
            im = im[i]
        return complex(_real(v), _real(im))

    def label(self, *index: int, digits: int = 2) -> str:
        return format_number(self.at(*index), self.dtype, digits)

    def select(self, i: int) -> TensorEntry:
        """The sub-tensor `t[i]` along the first axis, as torch lays it out (a view: same storage)."""
        p = self._position((i, *[0] * (self.ndim - 1)))[0] if self.kept is not None else i
        return TensorEntry(
            name=f"{self.name}[{i}]",
            values=self.values[p],
            shape=self.shape[1:],
            dtype=self.dtype,
            device=self.device,
            stride=self.stride[1:],
            storage_offset=self.storage_offset + i * self.stride[0] if self.stride else 0,
            is_contiguous=self.is_contiguous,
            requires_grad=self.requires_grad,
            is_leaf=self.is_leaf,
            grad_fn=self.grad_fn,
            storage=self.storage or self.name,
            bits=None,
            truncated=self.truncated,
            imag=self.imag[p] if self.imag is not None else None,
            kept=self.kept[1:] if self.kept is not None else None,
            layout=self.layout,
        )

    def storage_position(self, *index: int) -> int:
        """Where element `index` lives in the flat storage: offset + sum(index * stride)."""
        return self.storage_offset + sum(i * s for i, s in zip(index, self.stride, strict=True))

    def indices(self) -> list[tuple[int, ...]]:
        """Every logical index whose value the trace holds, in row-major order."""
        axes = self.kept if self.kept is not None else tuple(tuple(range(n)) for n in self.shape)
        out: list[tuple[int, ...]] = [()]
        for kept in axes:
            out = [(*o, i) for o in out for i in kept]
        return out


@dataclass(frozen=True)
class ModuleNode:
    """One module in a module's tree: `path` is its dotted name from the root ("" for the root itself),
    `parameters`/`buffers` its own (local names), `shared` local parameter names tied to an earlier path,
    `parameter_count` its parameters and its descendants' (each tensor counted once)."""

    name: str
    path: str
    cls: str
    repr: str
    training: bool
    parameters: tuple[str, ...]
    buffers: tuple[str, ...]
    parameter_count: int
    children: tuple[ModuleNode, ...] = ()
    shared: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModuleNode:
        return cls(
            name=data["name"], path=data["path"], cls=data["class"], repr=data["repr"],
            training=data["training"], parameters=tuple(data["parameters"]), buffers=tuple(data["buffers"]),
            parameter_count=data["parameter_count"],
            children=tuple(cls.from_json(c) for c in data["children"]), shared=dict(data.get("shared", {})),
        )

    def full(self, local: str) -> str:
        """The dotted path of one of this module's own parameters or buffers."""
        return f"{self.path}.{local}" if self.path else local

    def walk(self) -> Iterator[ModuleNode]:
        """This node and its descendants, parents first (torch's `named_modules` order)."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class ForwardCall:
    """One forward call seen by the trace's hooks: the submodule's path, class, input and output shapes."""

    path: str
    cls: str
    inputs: tuple[Any, ...] = ()
    output: Any = None


@dataclass(frozen=True)
class ModuleEntry:
    """An nn.Module a beat returned. JSON (the trace's `modules[name]`):

        {"class": "Sequential", "repr": "Sequential()", "training": true,
         "parameter_count": 59, "trainable_count": 59,
         "tree": {"name": "model", "path": "", "class": ..., "repr": ..., "training": ..., "parameters": [local
                  names], "buffers": [local names], "shared": {local: first path}, "parameter_count": ...,
                  "children": [nodes]},
         "parameters": {"0.weight": <tensor JSON>, ...},     # named_parameters() order, tied ones once
         "buffers": {"1.running_mean": {<tensor JSON>, "persistent": true}, ...},
         "state_dict_keys": ["0.weight", ...],                # module.state_dict() order
         "forward": [{"path": "", "class": "Sequential", "inputs": [[2, 4]], "output": [2, 3]}, ...]}

    `forward` lists the calls of the module and its submodules in the order they started, from global
    forward hooks the trace held while the beat computed (empty when the beat never called it); a
    compute function can also read that order itself with `render.trace.record_forward(model)`.
    """

    name: str
    cls: str
    repr: str
    training: bool
    parameter_count: int
    trainable_count: int
    tree: ModuleNode
    parameters: dict[str, TensorEntry]
    buffers: dict[str, TensorEntry]
    persistent: dict[str, bool]
    state_dict_keys: tuple[str, ...]
    forward: tuple[ForwardCall, ...] = ()

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> ModuleEntry:
        return cls(
            name=name, cls=data["class"], repr=data["repr"], training=data["training"],
            parameter_count=data["parameter_count"], trainable_count=data["trainable_count"],
            tree=ModuleNode.from_json(data["tree"]),
            parameters={k: TensorEntry.from_json(f"{name}.{k}", v) for k, v in data["parameters"].items()},
            buffers={k: TensorEntry.from_json(f"{name}.{k}", v) for k, v in data["buffers"].items()},
            persistent={k: v.get("persistent", True) for k, v in data["buffers"].items()},
            state_dict_keys=tuple(data["state_dict_keys"]),
            forward=tuple(
                ForwardCall(c["path"], c["class"], tuple(c.get("inputs", ())), c.get("output"))
                for c in data.get("forward", ())
            ),
        )

    def tensor(self, path: str) -> TensorEntry:
        """A parameter or buffer by dotted path (a tied parameter by any of its paths)."""
        if path in self.parameters:
            return self.parameters[path]
        if path in self.buffers:
            return self.buffers[path]
        for node in self.tree.walk():
            for local, first in node.shared.items():
                if node.full(local) == path:
                    return self.parameters[first]
        raise KeyError(f"module {self.name!r} has no parameter or buffer {path!r}")

    def kind(self, path: str) -> str:
        """"parameter", "buffer" or "non-persistent buffer" for a dotted path of this module."""
        if path in self.buffers:
            return "buffer" if self.persistent[path] else "non-persistent buffer"
        self.tensor(path)
        return "parameter"

    def node(self, path: str) -> ModuleNode:
        for n in self.tree.walk():
            if n.path == path:
                return n
        raise KeyError(f"module {self.name!r} has no submodule {path!r}")

    def forward_order(self) -> list[str]:
        """The submodule paths in the order their forward first ran (each once)."""
        return list(dict.fromkeys(c.path for c in self.forward))


@dataclass(frozen=True)
class StateDictEntry:
    """A mapping of names to tensors a beat returned (a `state_dict`), keys in torch's order. JSON (the
    trace's `state_dicts[name]`): {"entries": {"0.weight": <tensor JSON>, ...}}."""

    name: str
    entries: dict[str, TensorEntry]

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> StateDictEntry:
        return cls(name, {k: TensorEntry.from_json(f"{name}[{k!r}]", v) for k, v in data["entries"].items()})

    @property
    def keys(self) -> list[str]:
        return list(self.entries)


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
    """What one beat's computation produced, as recorded in the trace: `tensors` (TensorEntry), `modules`
    (ModuleEntry), `state_dicts` (StateDictEntry) and plain `values`.

    `values[name]` holds every non-tensor value the compute function returned, as plain JSON: None, bools,
    numbers (nan/inf/-inf as those strings), strings, lists (tuples and torch.Size become lists), dicts with
    string keys (order kept), nested to any depth; dtypes and devices as their names ("float16", "cpu")."""

    name: str
    source: str
    tensors: dict[str, TensorEntry] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, ModuleEntry] = field(default_factory=dict)
    state_dicts: dict[str, StateDictEntry] = field(default_factory=dict)
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
            modules={k: ModuleEntry.from_json(k, v) for k, v in data.get("modules", {}).items()},
            state_dicts={k: StateDictEntry.from_json(k, v) for k, v in data.get("state_dicts", {}).items()},
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

    def module(self, name: str) -> ModuleEntry:
        """A returned nn.Module by name."""
        try:
            return self.modules[name]
        except KeyError:
            raise KeyError(
                f"beat {self.name!r} returned no nn.Module {name!r}; it has {sorted(self.modules)}"
            ) from None

    def state_dict(self, name: str) -> StateDictEntry:
        """A returned state_dict (a mapping of names to tensors) by name."""
        try:
            return self.state_dicts[name]
        except KeyError:
            raise KeyError(
                f"beat {self.name!r} returned no state_dict {name!r}; it has {sorted(self.state_dicts)}"
            ) from None


def broadcast_index(index: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The element of a tensor of `shape` that broadcasting reads for result `index` (shapes aligned on
    the right; size-1 axes always read index 0)."""
    tail = index[len(index) - len(shape) :] if shape else ()
    return tuple(0 if n == 1 else i for i, n in zip(tail, shape, strict=True))
