"""The visual vocabulary gallery: one beat per visual (and its main variants), traced by torch like any
lesson, so a course author can pick visuals and a reviewer can see them all (`render gallery`)."""

import torch

from render.lesson import Lesson, capture_error
from scenes.vocabulary import (
    AutogradGraph,
    BitFields,
    Broadcast,
    BroadcastFail,
    Cat,
    DeviceMove,
    Einsum,
    Elementwise,
    Expand,
    Index,
    InPlace,
    Mask,
    MaskAssign,
    MatmulSweep,
    MemoryStrip,
    Reduce,
    Reshape,
    Show,
    Split,
    Squeeze,
    Stack,
    Title,
    Transpose,
)

lesson = Lesson(
    objectives=["See every visual of the vocabulary once"],
    recap=["Every number on screen came from torch"],
    seed=7,
)


def beat(title, visual, name=None):
    return lesson.beat(title, narration=f"The {visual.kind} visual.", visual=visual, name=name)


@beat(
    "Title card",
    Title(heading="Today's experiments", lines=["Summon tensors", "Slice them", "Multiply them"]),
)
def title(device):
    return {}


@beat("Show", Show("grid"))
def show(device):
    grid = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    return {"grid": grid}


@beat("Index: a row", Index("x", "row", index="1, :"))
def index_row(device):
    x = torch.arange(12, device=device).reshape(3, 4)
    return {"x": x, "row": x[1, :]}


@beat("Index: a column", Index("x", "col", index=":, 2"))
def index_column(device):
    x = torch.arange(12, device=device).reshape(3, 4)
    return {"x": x, "col": x[:, 2]}


@beat("Index: a block", Index("x", "block", index="0:2, 1:3"))
def index_block(device):
    x = torch.arange(12, device=device).reshape(3, 4)
    return {"x": x, "block": x[0:2, 1:3]}


@beat("Index: a step", Index("x", "every_other", index=":, ::2"))
def index_step(device):
    x = torch.arange(12, device=device).reshape(3, 4)
    return {"x": x, "every_other": x[:, ::2]}


@beat("Index: negative", Index("x", "last", index="-1"))
def index_negative(device):
    x = torch.arange(12, device=device).reshape(3, 4)
    return {"x": x, "last": x[-1]}


@beat("Boolean mask", Mask("x", "mask", "picked"))
def mask(device):
    x = torch.randn(3, 4, device=device)
    mask = x > 0
    return {"x": x, "mask": mask, "picked": x[mask]}


@beat("Assignment through a mask", MaskAssign("before", "mask", "after"))
def mask_assign(device):
    x = torch.randn(3, 4, device=device)
    before = x.clone()
    mask = x < 0
    x[mask] = 0.0
    return {"before": before, "mask": mask, "after": x}


@beat("cat along dim 1", Cat("a", "b", "joined", dim=1))
def cat(device):
    a = torch.arange(6, device=device).reshape(2, 3)
    b = torch.arange(10, 14, device=device).reshape(2, 2)
    return {"a": a, "b": b, "joined": torch.cat([a, b], dim=1)}


@beat("stack into a new axis", Stack("a", "b", "stacked", dim=0))
def stack(device):
    a = torch.arange(6, device=device).reshape(2, 3)
    b = torch.arange(10, 16, device=device).reshape(2, 3)
    return {"a": a, "b": b, "stacked": torch.stack([a, b], dim=0)}


@beat("stack along the last axis", Stack("a", "b", "stacked", dim=2))
def stack_last(device):
    a = torch.arange(6, device=device).reshape(2, 3)
    b = torch.arange(10, 16, device=device).reshape(2, 3)
    return {"a": a, "b": b, "stacked": torch.stack([a, b], dim=2)}


@beat("split", Split("x", "p0", "p1", dim=1, op="split"))
def split(device):
    x = torch.arange(10, device=device).reshape(2, 5)
    p0, p1 = torch.split(x, [3, 2], dim=1)
    return {"x": x, "p0": p0, "p1": p1}


@beat("chunk returns fewer", Split("x", "c0", "c1", "c2", dim=1, op="chunk", asked="asked"))
def chunk(device):
    x = torch.arange(10, device=device).reshape(2, 5)
    asked = 4
    c0, c1, c2 = torch.chunk(x, asked, dim=1)
    return {"x": x, "c0": c0, "c1": c1, "c2": c2, "asked": asked}


@beat("unbind", Split("x", "u0", "u1", "u2", dim=0, op="unbind"))
def unbind(device):
    x = torch.arange(12, device=device).reshape(3, 4)
    u0, u1, u2 = torch.unbind(x, dim=0)
    return {"x": x, "u0": u0, "u1": u1, "u2": u2}


@beat("view", Reshape("x", "y", op="view"))
def view(device):
    x = torch.arange(6, device=device).reshape(2, 3)
    return {"x": x, "y": x.view(3, 2)}


@beat("flatten", Reshape("x", "flat", op="flatten"))
def flatten(device):
    x = torch.arange(12, device=device).reshape(2, 2, 3)
    return {"x": x, "flat": x.flatten()}


@beat("transpose, then view fails", Transpose("x", "t", op="transpose", error="error"))
def transpose(device):
    x = torch.arange(6, device=device).reshape(2, 3)
    t = x.transpose(0, 1)
    return {"x": x, "t": t, "error": capture_error(lambda: t.view(6))}


@beat("permute", Transpose("x", "p", op="permute"))
def permute(device):
    x = torch.arange(12, device=device).reshape(2, 3, 2)
    return {"x": x, "p": x.permute(2, 0, 1)}


@beat("squeeze", Squeeze("x", "s", op="squeeze"))
def squeeze(device):
    x = torch.arange(6, device=device).reshape(2, 1, 3)
    return {"x": x, "s": x.squeeze(1)}


@beat("unsqueeze", Squeeze("x", "u", op="unsqueeze"))
def unsqueeze(device):
    x = torch.arange(3, device=device)
    return {"x": x, "u": x.unsqueeze(0)}


@beat("expand against repeat", Expand("x", "expanded", "repeated"))
def expand(device):
    x = torch.tensor([[1.0], [2.0]], device=device)
    return {"x": x, "expanded": x.expand(2, 3), "repeated": x.repeat(1, 3)}


@beat("memory strip", MemoryStrip("x", "row", "col"))
def memory(device):
    x = torch.arange(6, device=device).reshape(2, 3)
    return {"x": x, "row": x[1], "col": x[:, 2]}


@beat("element-wise", Elementwise("a", "b", "total", op="+"))
def elementwise(device):
    a = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    b = torch.tensor([[0.5, 0.5, 0.5], [1.0, 2.0, 3.0]], device=device)
    return {"a": a, "b": b, "total": a + b}


@beat("element-wise function", Elementwise("x", "y", op="exp"))
def elementwise_fn(device):
    x = torch.tensor([0.0, 1.0, 2.0], device=device)
    return {"x": x, "y": torch.exp(x)}


@beat("sum along a dim", Reduce("x", "total", dim=0, op="sum"))
def reduce_sum(device):
    x = torch.arange(6, device=device).reshape(2, 3).float()
    return {"x": x, "total": x.sum(dim=0)}


@beat("max with its index", Reduce("x", "values", "indices", dim=1, op="max"))
def reduce_max(device):
    x = torch.randn(3, 4, device=device)
    values, indices = x.max(dim=1)
    return {"x": x, "values": values, "indices": indices}


@beat("mean with keepdim", Reduce("x", "m", dim=1, op="mean", keepdim=True))
def reduce_mean(device):
    x = torch.arange(6, device=device).reshape(2, 3).float()
    return {"x": x, "m": x.mean(dim=1, keepdim=True)}


@beat("std of everything", Reduce("x", "s", op="std"))
def reduce_std(device):
    x = torch.arange(6, device=device).reshape(2, 3).float()
    return {"x": x, "s": x.std()}


@beat("in-place add", InPlace("before", "x", op="add_"))
def inplace(device):
    x = torch.ones(2, 3, device=device)
    before = x.clone()
    x.add_(torch.arange(6, device=device).reshape(2, 3))
    return {"before": before, "x": x}


@beat("matmul sweep", MatmulSweep("a", "b", "c", op="@"))
def matmul(device):
    a = torch.arange(6, device=device).reshape(2, 3).float()
    b = torch.arange(6, device=device).reshape(3, 2).float()
    return {"a": a, "b": b, "c": a @ b}


@beat("batched matmul", MatmulSweep("a", "b", "c", op="bmm"))
def bmm(device):
    a = torch.arange(8, device=device).reshape(2, 2, 2).float()
    b = torch.ones(2, 2, 2, device=device)
    return {"a": a, "b": b, "c": torch.bmm(a, b)}


@beat("broadcasting", Broadcast("col", "row", "table", op="+"))
def broadcast(device):
    col = torch.arange(3, device=device).reshape(3, 1)
    row = torch.arange(4, device=device).reshape(1, 4) * 10
    return {"col": col, "row": row, "table": col + row}


@beat("a failing broadcast", BroadcastFail("a", "b", error="error"))
def broadcast_fail(device):
    a = torch.ones(2, 3, device=device)
    b = torch.ones(2, 2, device=device)
    return {"a": a, "b": b, "error": capture_error(lambda: a + b)}


@beat("einsum matmul", Einsum("a", "b", "c", equation="ik,kj->ij"))
def einsum(device):
    a = torch.arange(6, device=device).reshape(2, 3).float()
    b = torch.arange(6, device=device).reshape(3, 2).float()
    return {"a": a, "b": b, "c": torch.einsum("ik,kj->ij", a, b)}


@beat("einsum chain", Einsum("a", "b", "c", "d", equation="ij,jk,kl->il"))
def einsum_chain(device):
    a = torch.arange(4, device=device).reshape(2, 2).float()
    b = torch.ones(2, 2, device=device)
    c = torch.arange(4, device=device).reshape(2, 2).float()
    return {"a": a, "b": b, "c": c, "d": torch.einsum("ij,jk,kl->il", a, b, c)}


@beat("attention scores", Einsum("q", "k", "scores", equation="bhqd,bhkd->bhqk", digits=1))
def attention(device):
    q = torch.randn(1, 2, 2, 3, device=device)
    k = torch.randn(1, 2, 2, 3, device=device)
    return {"q": q, "k": k, "scores": torch.einsum("bhqd,bhkd->bhqk", q, k)}


@beat("autograd", AutogradGraph("x", "w", "y", "loss", backward=True))
def autograd(device):
    x = torch.tensor([1.0, 2.0], device=device, requires_grad=True)
    w = torch.tensor([3.0, -1.0], device=device, requires_grad=True)
    y = x * w
    loss = y.sum()
    loss.backward()
    return {"x": x, "w": w, "y": y, "loss": loss}


@beat("gradients accumulate", AutogradGraph("x", "loss", "first", backward=True, accumulate="first"))
def accumulate(device):
    x = torch.tensor([1.0, 2.0], device=device, requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    first = x.grad.clone()
    loss.backward()
    return {"x": x, "loss": loss, "first": first}


@beat("detach cuts the graph", AutogradGraph("x", "y", "z", "cut"))
def detach(device):
    x = torch.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 2
    z = y.sum()
    cut = y.detach()
    return {"x": x, "y": y, "z": z, "cut": cut}


@beat("bits of a float", BitFields("f32", "f16", "bf16"))
def bits(device):
    value = torch.tensor([70000.0, 0.1], device=device)
    return {"f32": value, "f16": value.half(), "bf16": value.bfloat16()}


@beat("moving to a device", DeviceMove("x", "moved"))
def device_move(device):
    x = torch.arange(4, device="cpu").reshape(2, 2)
    return {"x": x, "moved": x.to(device)}
