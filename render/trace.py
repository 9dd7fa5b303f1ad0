"""The trace step: run each beat's computation with torch and record everything the scenes may show.

The JSON it writes is the contract between torch and Manim. torch is imported here, on demand, and
nowhere in `scenes`.
"""

from __future__ import annotations

import math
from typing import Any

from render.errors import LessonError
from render.lesson import Lesson, claims_recorded

MAX_VALUES = 4096  # beyond this, record only the first values; grids elide large tensors anyway
MAX_BITS = 64


def resolve_device(name: str = "auto") -> str:
    """`auto` takes CUDA, then MPS, then the CPU; a named device that is missing is an error."""
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda: torch sees no CUDA device (torch.cuda.is_available() is False)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError("--device mps: torch sees no MPS device")
    if name not in ("cpu", "cuda", "mps"):
        raise RuntimeError(f"unknown device {name!r}; use auto, cpu, cuda or mps")
    return name


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
    if t.dtype not in as_int or t.numel() > MAX_BITS:
        return None
    width = 32 if t.dtype == torch.float32 else 16
    raw = t.detach().contiguous().view(as_int[t.dtype]).flatten().cpu().tolist()
    return [r & ((1 << width) - 1) for r in raw]


def describe_tensor(t: Any, storages: dict[int, str], name: str) -> dict[str, Any]:
    """Everything about a tensor a scene may show, from torch itself."""
    detached = t.detach()
    values_src = detached.cpu()
    truncated = detached.numel() > MAX_VALUES
    if truncated:
        flat = values_src.flatten()[:MAX_VALUES]
        values = _jsonable(flat.float().tolist() if flat.is_floating_point() else flat.tolist())
    elif values_src.is_floating_point() and values_src.dtype.itemsize < 4:
        values = _jsonable(values_src.float().tolist())  # float16/bfloat16: the exact stored value
    else:
        values = _jsonable(values_src.tolist())
    ptr = detached.untyped_storage().data_ptr()
    storage = storages.setdefault(ptr, name)
    grad = t.grad if t.is_leaf and t.requires_grad else None
    return {
        "values": values,
        "shape": list(t.shape),
        "dtype": _dtype_name(t.dtype),
        "device": str(t.device),
        "stride": list(t.stride()),
        "storage_offset": t.storage_offset(),
        "is_contiguous": t.is_contiguous(),
        "requires_grad": t.requires_grad,
        "is_leaf": t.is_leaf,
        "grad_fn": type(t.grad_fn).__name__ if t.grad_fn is not None else None,
        "grad": describe_tensor(grad, storages, f"{name}.grad") if grad is not None else None,
        "storage": storage,
        "bits": _bits(t),
        "truncated": truncated,
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


def trace_beat(beat: Any, device: str, seed: int) -> dict[str, Any]:
    """Run one beat's computation, seeded on its own so beats never depend on each other's order."""
    import torch

    torch.manual_seed(seed)
    with claims_recorded() as claims:
        result = beat.compute(device)
    if not isinstance(result, dict):
        raise TypeError(f"compute function must return a dict of named tensors, got {type(result).__name__}")
    tensors = {k: v for k, v in result.items() if isinstance(v, torch.Tensor)}
    values = {k: plain_value(v, repr(k)) for k, v in result.items() if k not in tensors}
    storages: dict[int, str] = {}
    return {
        "name": beat.name,
        "source": beat.source,
        "tensors": {k: describe_tensor(t, storages, k) for k, t in tensors.items()},
        "values": values,
        "graph": autograd_graph(tensors),
        "claims": claims,
    }


def trace_lesson(lesson: Lesson, device: str) -> dict[str, Any]:
    """The whole lesson's trace; a beat that raises becomes a LessonError at its line."""
    import torch

    torch.use_deterministic_algorithms(True, warn_only=True)
    beats = []
    for i, beat in enumerate(lesson.beats):
        try:
            beats.append(trace_beat(beat, device, lesson.seed + i))
        except Exception as exc:
            assert lesson.script is not None
            raise LessonError.from_exception(lesson.script, exc, beat=beat.name) from exc
    return {"device": device, "torch": torch.__version__, "seed": lesson.seed, "beats": beats}

