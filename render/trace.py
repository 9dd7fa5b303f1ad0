"""The trace step: run each beat's computation with torch and record everything the scenes may show.

The JSON it writes is the contract between torch and Manim. torch is imported here, on demand, and
nowhere in `scenes`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from render.errors import DeviceMissing, LessonError, StudioError
from render.lesson import Lesson, claims_recorded, line_naming

MAX_VALUES = 4096  # beyond this, record corners and statistics only; grids elide large tensors anyway
CORNER = 8  # a summary keeps up to this many first and last indices per axis
CHUNK = 1 << 20  # elements per float64 chunk when summing a large tensor
MAX_BITS = 64


def resolve_device(name: str = "auto") -> str:
    """`auto` takes CUDA, then MPS, then the CPU; a named device that is missing is an error."""
    if name not in ("auto", "cpu", "cuda", "mps"):
        raise DeviceMissing(f"unknown device {name!r}; use auto, cpu, cuda or mps")
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceMissing("--device cuda: torch sees no CUDA device (torch.cuda.is_available() is False)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise DeviceMissing("--device mps: torch sees no MPS device")
    return name


def accelerators() -> str:
    """What `--device auto` could pick on this machine, seen without importing torch: NVIDIA and AMD GPU
    device files, Apple silicon, and the CUDA_VISIBLE_DEVICES mask. The trace is keyed on it, so a
    no-op rerun or a cached lint never pays for importing torch, and a machine that gains a GPU re-traces."""
    import glob
    import os
    import platform
    import sys

    found = [kind for kind, pattern in (("nvidia", "/dev/nvidia[0-9]*"), ("rocm", "/dev/kfd")) if glob.glob(pattern)]
    if sys.platform == "darwin" and platform.machine() == "arm64":
        found.append("apple")
    mask = os.environ.get("CUDA_VISIBLE_DEVICES")
    return ",".join(found) + (f" CUDA_VISIBLE_DEVICES={mask}" if mask is not None else "") or "none"


def _number(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def _jsonable(v: Any) -> Any:
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return _number(v)


def plain_value(v: Any, where: str) -> Any:
    """A value a compute function returned, as JSON: None, bools, numbers (nan/inf as strings), strings,
    lists and tuples (as lists), dicts with string keys (order kept), nested; torch.Size as a list, dtypes
    and devices as their names. Anything else is a TypeError naming where it sits (`where`)."""
    import torch

    if v is None or isinstance(v, bool | str):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return _number(float(v))
    if isinstance(v, torch.dtype | torch.device):
        return str(v).removeprefix("torch.")
    if isinstance(v, list | tuple):  # torch.Size is a tuple
        return [plain_value(x, f"{where}[{i}]") for i, x in enumerate(v)]
    if isinstance(v, dict):
        bad = [k for k in v if not isinstance(k, str)]
        if bad:
            raise TypeError(f"beat value {where} is a dict with a non-string key {bad[0]!r}; use string keys")
        return {k: plain_value(x, f"{where}[{k!r}]") for k, x in v.items()}
    if hasattr(v, "item") and hasattr(v, "dtype") and getattr(v, "shape", None) == ():  # numpy scalar
        return plain_value(v.item(), where)
    raise TypeError(
        f"beat value {where} is a {type(v).__name__}; return tensors, numbers, strings, None, "
        "or lists/tuples/dicts of those"
    )


def _dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def _bits(t: Any) -> list[int] | None:
    """The raw bit patterns of a small float tensor, as stored (for sign/exponent/mantissa pictures)."""
    import torch

    as_int = {torch.float32: torch.int32, torch.float16: torch.int16, torch.bfloat16: torch.int16}
    if t.dtype not in as_int or t.numel() > MAX_BITS or t.layout != torch.strided or t.is_meta:
        return None
    width = 32 if t.dtype == torch.float32 else 16
    raw = t.detach().contiguous().view(as_int[t.dtype]).flatten().cpu().tolist()
    return [r & ((1 << width) - 1) for r in raw]


def corner_indices(shape: tuple[int, ...] | list[int], budget: int = MAX_VALUES) -> list[list[int]]:
    """Per axis, the indices a summary keeps: the first and last `k` (all of a short axis), with the largest
    `k` <= CORNER that keeps the product within `budget`, so any grid's head...tail elision finds its cells."""
    for k in range(CORNER, 0, -1):
        kept = [list(range(n)) if n <= 2 * k else [*range(k), *range(n - k, n)] for n in shape]
        if math.prod(len(ix) for ix in kept) <= budget or k == 1:
            return kept
    return []  # unreachable: the loop returns at k == 1


def _as_list(t: Any) -> Any:
    """A small real tensor's values as nested lists; float16/bfloat16 (and smaller) as their exact floats."""
    if t.is_floating_point() and t.dtype.itemsize < 4:
        t = t.float()
    return _jsonable(t.tolist())


def _extremes(flat: Any) -> tuple[Any, Any]:
    """min and max of a non-empty 1-D tensor, exact in its own dtype (bool as 0/1)."""
    import torch

    if flat.dtype == torch.bool:
        flat = flat.view(torch.uint8)
    try:
        lo, hi = torch.aminmax(flat)
    except (RuntimeError, NotImplementedError):  # dtypes torch cannot reduce (uint64 on the CPU): via float64
        parts = [torch.aminmax(c.to(torch.float64)) for c in flat.split(CHUNK)]
        return min(lo.item() for lo, _ in parts), max(hi.item() for _, hi in parts)
    return lo.item(), hi.item()


def _mean_std(flat: Any) -> tuple[float, float]:
    """mean and sample std of a 1-D tensor of finite values. float32/float64 are reduced in place; other
    dtypes a chunk at a time (Chan's parallel update; float64 for wide integers, float32 for the rest, each
    chunk's mean and variance combined in Python floats), so no full-size copy is made."""
    import torch

    if flat.numel() == 1:
        return float(flat.double().item()), 0.0
    if flat.dtype in (torch.float32, torch.float64):
        var_t, mean_t = torch.var_mean(flat)
        return mean_t.item(), math.sqrt(max(var_t.item(), 0.0))
    wide = flat.dtype in (torch.int32, torch.int64, torch.uint32, torch.uint64)  # beyond float32's 24 bits
    n, mean, m2 = 0, 0.0, 0.0
    for chunk in flat.split(CHUNK):
        var_c, mean_c = torch.var_mean(chunk.to(torch.float64 if wide else torch.float32), correction=0)
        k, delta = chunk.numel(), mean_c.item() - mean
        mean += delta * k / (n + k)
        m2 += var_c.item() * k + delta * delta * n * k / (n + k)
        n += k
    return mean, math.sqrt(m2 / (n - 1))


def _stats(t: Any) -> dict[str, Any]:
    """min, max, mean and std over the finite values, with the count of nan, +inf and -inf; computed
    where the tensor lives. min and max keep the dtype's kind (int, bool, float)."""
    import torch

    flat = t.reshape(-1)
    out: dict[str, Any] = {"count": flat.numel(), "nan": 0, "posinf": 0, "neginf": 0}
    if flat.numel() == 0:
        return {**out, "min": None, "max": None, "mean": None, "std": None}
    lo, hi = _extremes(flat)
    if t.is_floating_point() and not (math.isfinite(lo) and math.isfinite(hi)):  # nan or inf somewhere
        out["nan"] = int(torch.isnan(flat).sum())
        out["posinf"] = int((flat == math.inf).sum())
        out["neginf"] = int((flat == -math.inf).sum())
        flat = flat[torch.isfinite(flat)]
        if flat.numel() == 0:
            return {**out, "min": None, "max": None, "mean": None, "std": None}
        lo, hi = _extremes(flat)
    mean, std = _mean_std(flat)
    kind = bool if t.dtype == torch.bool else (float if t.is_floating_point() else int)
    return {**out, "min": kind(lo), "max": kind(hi), "mean": _number(mean), "std": _number(std)}


def _values(t: Any) -> dict[str, Any]:
    """The values a scene may show: all of them for a small tensor; for a large one, the corners
    (`kept` indices per axis) and statistics. Complex tensors give real and imaginary parts."""
    import torch

    if t.is_meta:
        return {"values": None, "truncated": True, "kept": None, "stats": None, "no_data": True}
    if t.layout != torch.strided:
        t = t.to_dense()
    truncated = t.numel() > MAX_VALUES
    kept = corner_indices(tuple(t.shape)) if truncated else None
    part = t
    if kept is not None:
        for axis, ix in enumerate(kept):
            part = part.index_select(axis, torch.tensor(ix, device=t.device))
    part = part.cpu()
    out: dict[str, Any] = {"truncated": truncated, "kept": kept}
    if t.is_complex():
        out["values"] = _as_list(part.real)
        out["imag"] = _as_list(part.imag)
        out["stats"] = {**_stats(t.real), "imag": _stats(t.imag)}
    else:
        out["values"] = _as_list(part)
        out["stats"] = _stats(t)
    return out


def _storage_key(t: Any) -> int | None:
    try:
        return int(t.untyped_storage().data_ptr())
    except (RuntimeError, NotImplementedError):  # sparse, meta and other storage-less layouts
        return None


def describe_tensor(t: Any, storages: dict[int, str], name: str) -> dict[str, Any]:
    """Everything about a tensor a scene may show, from torch itself. Small tensors give all their values;
    above MAX_VALUES only corners and statistics are read, so a huge tensor traces fast in little memory."""
    import torch

    detached = t.detach()
    ptr = _storage_key(detached)
    storage = storages.setdefault(ptr, name) if ptr else name
    grad = t.grad if t.is_leaf and t.requires_grad else None
    strided = t.layout == torch.strided
    return {
        **_values(detached),
        "shape": list(t.shape),
        "dtype": _dtype_name(t.dtype),
        "device": str(t.device),
        "layout": str(t.layout).removeprefix("torch."),
        "stride": list(t.stride()) if strided else [],
        "storage_offset": t.storage_offset() if strided else 0,
        "is_contiguous": t.is_contiguous() if strided else False,
        "requires_grad": t.requires_grad,
        "is_leaf": t.is_leaf,
        "grad_fn": type(t.grad_fn).__name__ if t.grad_fn is not None else None,
        "grad": describe_tensor(grad, storages, f"{name}.grad") if grad is not None else None,
        "storage": storage,
        "bits": _bits(t),
    }


def autograd_graph(named: dict[str, Any]) -> dict[str, Any] | None:
    """grad_fn nodes reachable from the named tensors, with edges and the named tensor each node made."""
    by_fn: dict[int, str] = {}
    leaves: dict[int, str] = {}
    for name, t in named.items():
        if t.grad_fn is not None:
            by_fn.setdefault(id(t.grad_fn), name)
        elif t.requires_grad:
            leaves[id(t)] = name
    nodes: list[dict[str, Any]] = []
    edges: list[list[str]] = []
    ids: dict[int, str] = {}
    stack = [t.grad_fn for t in named.values() if t.grad_fn is not None]
    keep: list[Any] = []  # hold references so id() stays unique during the walk
    while stack:
        fn = stack.pop()
        if id(fn) in ids:
            continue
        keep.append(fn)
        node_id = f"n{len(ids)}"
        ids[id(fn)] = node_id
        tensor = by_fn.get(id(fn))
        if tensor is None and hasattr(fn, "variable"):
            tensor = leaves.get(id(fn.variable))
        nodes.append({"id": node_id, "name": type(fn).__name__, "tensor": tensor})
        for child, _ in fn.next_functions:
            if child is not None:
                stack.append(child)
    for fn in keep:
        for child, _ in fn.next_functions:
            if child is not None:
                edges.append([ids[id(fn)], ids[id(child)]])
    return {"nodes": nodes, "edges": edges} if nodes else None


MAX_CALLS = 256  # forward calls kept per module; a training loop repeats the same path


@dataclass
class ForwardCall:
    """One call of a module's forward, seen by the global forward hooks while a beat computed."""

    module: Any
    inputs: list[list[int]]
    output: Any = None


def _shapes(value: Any) -> Any:
    """Tensor shapes in a forward's inputs or output (nested like the value); None for non-tensors."""
    import torch

    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, list | tuple):
        return [_shapes(v) for v in value]
    return None


@contextmanager
def forward_calls() -> Iterator[list[ForwardCall]]:
    """Every `nn.Module` forward that runs inside the block, in the order they start, from real global
    forward hooks (pre-hook: the call and its input shapes; hook: its output shape)."""
    from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

    calls: list[ForwardCall] = []
    open_calls: list[ForwardCall] = []

    import torch

    def before(module: Any, args: Any) -> None:
        if torch.compiler.is_compiling():  # dynamo traces global hooks; a compiled forward is not recorded
            return
        call = ForwardCall(module, [s for s in _shapes(list(args)) if s is not None])
        calls.append(call)
        open_calls.append(call)

    def after(module: Any, args: Any, output: Any) -> None:
        if torch.compiler.is_compiling():
            return
        for call in reversed(open_calls):
            if call.module is module:
                call.output = _shapes(output)
                open_calls.remove(call)
                break

    handles = [register_module_forward_pre_hook(before), register_module_forward_hook(after)]
    try:
        yield calls
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def record_forward(model: Any) -> Iterator[list[str]]:
    """The dotted paths of `model`'s submodules in the order their forward ran inside the block ("" is
    `model` itself), from forward pre-hooks on each of them; for a compute function that wants the order.

        with record_forward(model) as order:
            model(x)
        # order == ["", "0", "1", "2"] for an nn.Sequential of three layers

    Every module a beat returns gets this order in the trace anyway (`ModuleEntry.forward`)."""
    order: list[str] = []
    handles = [
        m.register_forward_pre_hook(lambda _m, _args, path=path: order.append(path))
        for path, m in model.named_modules()
    ]
    try:
        yield order
    finally:
        for handle in handles:
            handle.remove()


def _one_line_repr(module: Any) -> str:
    extra = " ".join(module.extra_repr().split())
    return f"{type(module).__name__}({extra})"


def _module_node(module: Any, name: str, path: str, first_path: dict[int, str]) -> dict[str, Any]:
    """One module of the tree: its class, repr, flag, own parameters and buffers, and children."""
    own_params, shared = [], {}
    for local, param in module._parameters.items():
        if param is None:
            continue
        full = f"{path}.{local}" if path else local
        first = first_path.setdefault(id(param), full)
        own_params.append(local)
        if first != full:
            shared[local] = first
    return {
        "name": name,
        "path": path,
        "class": type(module).__name__,
        "repr": _one_line_repr(module),
        "training": module.training,
        "parameters": own_params,
        "shared": shared,
        "buffers": [b for b, v in module._buffers.items() if v is not None],
        "parameter_count": sum(p.numel() for p in module.parameters()),
        "children": [
            _module_node(child, child_name, f"{path}.{child_name}" if path else child_name, first_path)
            for child_name, child in module.named_children()
        ],
    }


def describe_module(module: Any, storages: dict[int, str], name: str,
                    calls: list[ForwardCall] | None = None) -> dict[str, Any]:
    """An nn.Module as torch holds it: class, one-line repr, training flag, the children tree, named
    parameters and buffers (values summarised like any tensor), the state_dict keys in torch's order,
    parameter counts, and the forward calls of its submodules seen by the trace's hooks."""
    paths = {id(m): p for p, m in module.named_modules()}
    persistent = {
        f"{p}.{b}" if p else b: b not in m._non_persistent_buffers_set
        for p, m in module.named_modules() for b, v in m._buffers.items() if v is not None
    }
    forward = [
        {"path": paths[id(c.module)], "class": type(c.module).__name__, "inputs": c.inputs, "output": c.output}
        for c in (calls or []) if id(c.module) in paths
    ][:MAX_CALLS]
    return {
        "class": type(module).__name__,
        "repr": _one_line_repr(module),
        "training": module.training,
        "parameter_count": sum(p.numel() for p in module.parameters()),
        "trainable_count": sum(p.numel() for p in module.parameters() if p.requires_grad),
        "tree": _module_node(module, name, "", {}),
        "parameters": {p: describe_tensor(t, storages, f"{name}.{p}") for p, t in module.named_parameters()},
        "buffers": {
            p: {**describe_tensor(t, storages, f"{name}.{p}"), "persistent": persistent[p]}
            for p, t in module.named_buffers()
        },
        "state_dict_keys": list(module.state_dict().keys()),
        "forward": forward,
    }


def is_state_dict(value: Any) -> bool:
    """A mapping of string names to tensors (what `module.state_dict()` and optimisers' tensors give)."""
    import torch

    return (isinstance(value, Mapping) and bool(value)
            and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items()))


def describe_state_dict(value: Mapping[str, Any], storages: dict[int, str], name: str) -> dict[str, Any]:
    """A state_dict: its keys in order, each a tensor entry."""
    return {"entries": {k: describe_tensor(t, storages, f"{name}[{k!r}]") for k, t in value.items()}}


def _namedtuples(v: Any) -> Any:
    """Named tuples (load_state_dict's `_IncompatibleKeys`, torch.return_types...) as dicts of their
    fields, so a value keeps its meaning in JSON; other values as they are."""
    if isinstance(v, tuple) and hasattr(v, "_fields"):
        return {f: _namedtuples(x) for f, x in zip(v._fields, v, strict=True)}
    if isinstance(v, list | tuple):
        return [_namedtuples(x) for x in v]
    if isinstance(v, dict):
        return {k: _namedtuples(x) for k, x in v.items()}
    return v


def trace_beat(beat: Any, device: str, seed: int) -> dict[str, Any]:
    """Run one beat's computation, seeded on its own so beats never depend on each other's order.

    Returned tensors go to `tensors`, nn.Modules to `modules`, mappings of names to tensors (state_dicts)
    to `state_dicts`, and every other value to `values` (see scenes/trace.py for the JSON)."""
    import torch

    torch.manual_seed(seed)
    with claims_recorded() as claims, forward_calls() as calls:
        result = beat.compute(device)
    if not isinstance(result, dict):
        got = "nothing" if result is None else f"a {type(result).__name__}"
        raise StudioError(
            f"{beat.name}() returns {got}: end it with a dict of what the narration and the visual name, like "
            f"return {{\"x\": x}} (or return {{}} for a card)")
    tensors = {k: v for k, v in result.items() if isinstance(v, torch.Tensor)}
    modules = {k: v for k, v in result.items() if isinstance(v, torch.nn.Module)}
    state_dicts = {k: v for k, v in result.items() if k not in tensors and is_state_dict(v)}
    values = {
        k: plain_value(_namedtuples(v), repr(k))
        for k, v in result.items() if k not in tensors and k not in modules and k not in state_dicts
    }
    storages: dict[int, str] = {}
    return {
        "name": beat.name,
        "source": beat.source,
        "tensors": {k: describe_tensor(t, storages, k) for k, t in tensors.items()},
        "modules": {k: describe_module(m, storages, k, calls) for k, m in modules.items()},
        "state_dicts": {k: describe_state_dict(sd, storages, k) for k, sd in state_dicts.items()},
        "values": values,
        "graph": autograd_graph(tensors),
        "claims": claims,
    }


def check_wiring(script: Path, beat: Any, traced: dict[str, Any]) -> None:
    """Every name a beat's visual is given is one its compute returned: else a LessonError at the `visual=` line
    with the closest name and the names there are (before any picture is drawn)."""
    import difflib

    known = [*traced["tensors"], *traced["modules"], *traced["state_dicts"], *traced["values"]]
    for name in beat.visual.tensors:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            returned = ", ".join(repr(k) for k in known) or "nothing"
            raise LessonError(script, line_naming(script, beat.line, "visual"),
                              f"{beat.visual.kind} is given {name!r}, which {beat.name}() does not return: {hint}"
                              f"it returns {returned}", beat.name)


def trace_lesson(lesson: Lesson, device: str) -> dict[str, Any]:
    """The whole lesson's trace; a beat that raises becomes a LessonError at its line."""
    import torch

    # torch.use_deterministic_algorithms would also import Inductor (seconds) only to set its config, which
    # no lesson compiles with; the switch itself is this one call
    torch._C._set_deterministic_algorithms(True, warn_only=True)
    beats = []
    for i, beat in enumerate(lesson.beats):
        assert lesson.script is not None
        try:
            beats.append(trace_beat(beat, device, lesson.seed + i))
        except Exception as exc:
            raise LessonError.from_exception(lesson.script, exc, beat=beat.name, line=beat.line) from exc
        check_wiring(lesson.script, beat, beats[-1])
    return {"device": device, "torch": torch.__version__, "seed": lesson.seed, "beats": beats}

