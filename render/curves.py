"""Curves sampled by torch, for lesson compute functions: the x grid and f(x) both come back as tensors,
so the trace records every point and a scene draws torch's output, never its own re-computation.

    from render.curves import sample
    x, y = sample(F.gelu, -4, 4, 161, device)
    return {"x": x, "gelu": y}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_POINTS = 2048  # every point is traced in full (the trace summarises larger tensors)


def sample(fn: Callable[[Any], Any], lo: float, hi: float, n: int = 161, device: Any = "cpu") -> tuple[Any, Any]:
    """`n` evenly spaced points from `lo` to `hi` (torch.linspace on `device`) and `fn` applied to them.

    `fn` is any callable on a tensor: `torch.tanh`, `F.gelu`, `nn.LeakyReLU(0.1)`, a lambda. It runs under
    `torch.no_grad()` (a curve is a picture of the function, not part of a graph) and must return one value
    per point; a bad range or result raises ValueError, which the trace reports at the lesson's line.
    """
    import torch

    if not callable(fn):
        raise TypeError(f"sample() needs a function of a tensor, got {type(fn).__name__}")
    if not 2 <= int(n) <= MAX_POINTS:
        raise ValueError(f"sample() takes 2 to {MAX_POINTS} points, got n={n}")
    if not float(lo) < float(hi):
        raise ValueError(f"sample() needs lo < hi, got lo={lo}, hi={hi}")
    x = torch.linspace(float(lo), float(hi), int(n), device=device)
    with torch.no_grad():
        y = fn(x)
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"sample(): the function must return one value per point, shape {tuple(x.shape)}; got {got}")
    if y.is_complex():
        raise ValueError("sample(): the function returned complex values; sample .real or .abs() instead")
    return x, y
