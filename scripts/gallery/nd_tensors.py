"""Gallery beats for 3-D and 4-D tensors: a grid draws a 3-D tensor as its 2-D slices side by side, each headed
by its index (`[0]`, `[1]`), and a 4-D tensor as a grid of slices (`[i, j]`: rows follow axis 0, columns axis 1),
so every value is visible. Each beat is computed by real torch and checks what its narration claims with
`expect`; its narration has one `|`-separated segment per step of its visual."""

import torch
import torch.nn.functional as F  # noqa: N812  (the name every torch user writes)

from render.lesson import Lesson, expect
from scenes.vocabulary import Broadcast, Einsum, Elementwise, MatmulSweep, Reduce, Show, Softmax, Stack

lesson = Lesson(
    objectives=["See 3-D and 4-D tensors drawn as slices in the vocabulary's visuals"],
    recap=["A 3-D tensor is a row of 2-D slices; a 4-D tensor is a grid of them"],
    seed=13,
)


@lesson.beat(
    "A 3-D tensor as slices",
    narration="""x is made by reshaping twenty-four numbers. | Its shape is {{ x.shape }}: two slices of three
    rows by four columns, each headed by its index along the first axis, zero and one.""",
    visual=Show("x"),
)
def nd_show_3d(device):
    flat = torch.arange(24.0, device=device) / 4
    x = flat.reshape(2, 3, 4)
    expect(x[1, 0, 0] == 3.0, "slice [1] goes on where slice [0] ends: 12 quarters")
    return {"x": x}


@lesson.beat(
    "A 4-D tensor as a grid of slices",
    narration="""x has four axes. | Its shape is {{ x.shape }}: a two by two grid of three by three slices,
    the grid's rows following axis zero and its columns axis one.""",
    visual=Show("x"),
)
def nd_show_4d(device):
    x = torch.arange(36.0, device=device).reshape(2, 2, 3, 3)
    expect(x[0, 1, 0, 0] == 9.0 and x[1, 0, 0, 0] == 18.0, "axis 1 steps by one slice, axis 0 by two")
    return {"x": x}


@lesson.beat(
    "A batch of token vectors",
    narration="""{{ n }} sentences of {{ t }} tokens, each token a vector of {{ d }} features. | Sentence
    zero and sentence one stand apart, each its own slice: rows are tokens, columns are features.""",
    visual=Show("tokens", code=False, caption="rows: tokens; columns: features"),
)
def nd_show_tokens(device):
    tokens = torch.randn(2, 6, 2, device=device)
    n, t, d = tokens.shape
    expect(tokens[1].shape == (6, 2), "each sentence is a 6 x 2 slice")
    return {"tokens": tokens, "n": n, "t": t, "d": d}


@lesson.beat(
    "Batched matmul over 3-D stacks",
    narration="""A stack of two matrices meets a stack of two columns: {{ A.shape }} at {{ B.shape }}. |
    The first pair. | Its top cell is {{ C[0][0][0] }}. | Its bottom cell is {{ C[0][1][0] }}. |
    The second pair, on its own. | Its top cell is {{ C[1][0][0] }}. | Its bottom cell is {{ C[1][1][0] }}.""",
    visual=MatmulSweep("A", "B", "C", op="bmm"),
)
def nd_matmul(device):
    A = torch.arange(12.0, device=device).reshape(2, 2, 3) - 4
    B = torch.tensor([[[1.0], [0.0], [2.0]], [[0.5], [1.0], [-1.0]]], device=device)
    C = torch.bmm(A, B)
    expect(all(torch.equal(C[i], A[i] @ B[i]) for i in range(2)), "each slice is its own pair's product")
    return {"A": A, "B": B, "C": C}


@lesson.beat(
    "Broadcasting into a 3-D result",
    narration="""x is {{ x.shape }} and b is {{ b.shape }}; lined up on the right, they broadcast to {{
    y.shape }}. | Each size-one axis stretches: x across the rows, b across the slices and columns. | Then the
    sum, slice by slice.""",
    visual=Broadcast("x", "b", "y", op="+"),
)
def nd_broadcast(device):
    x = torch.arange(6.0, device=device).reshape(2, 1, 3)
    b = torch.tensor([[10.0], [20.0]], device=device)
    y = x + b
    expect(y.shape == (2, 2, 3), "(2, 1, 3) and (2, 1) broadcast to (2, 2, 3)")
    expect(torch.equal(y[1, 0], x[1, 0] + b[0, 0]), "y[1, 0] is x[1, 0] plus b[0, 0]")
    return {"x": x, "b": b, "y": y}


@lesson.beat(
    "Summing a 3-D tensor over its rows",
    narration="""Summing x of shape {{ x.shape }} over its rows leaves {{ s.shape }}. | The first column of
    slice zero adds up to {{ s[0][0] }}. | The next column, {{ s[0][1] }}. | And the next, {{ s[0][2] }}. | Every other
    cell the same way, slice by slice.""",
    visual=Reduce("x", "s", dim=1, op="sum"),
)
def nd_reduce(device):
    x = torch.arange(24.0, device=device).reshape(2, 3, 4)
    s = x.sum(dim=1)
    expect(torch.equal(s[1], x[1, 0] + x[1, 1] + x[1, 2]), "each sum adds one column of one slice")
    return {"x": x, "s": s}


@lesson.beat(
    "A mean over a 4-D tensor's last axis",
    narration="""x has shape {{ x.shape }}; the mean over its last axis, kept with size one, is {{ m.shape }}. |
    The first row of slice zero, zero averages to {{ m[0][0][0][0] }}. | The next row, {{ m[0][0][1][0] }}. |
    The first row of slice zero, one: {{ m[0][1][0][0] }}. | The rest at once.""",
    visual=Reduce("x", "m", dim=-1, op="mean", keepdim=True),
)
def nd_reduce_4d(device):
    x = torch.arange(24.0, device=device).reshape(2, 2, 2, 3)
    m = x.mean(dim=-1, keepdim=True)
    expect(m.shape == (2, 2, 2, 1), "keepdim keeps the last axis with size 1")
    return {"x": x, "m": m}


@lesson.beat(
    "Softmax over one row of 3-D scores",
    narration="""The scores have shape {{ scores.shape }}; softmax works along the last axis, one row at a
    time. Here is the last row of sentence one. | Exponentiate. | Add the exponentials up. | Divide: the
    probabilities add to one.""",
    visual=Softmax("scores", "probs", exp="e", total="s", check="probs_sum", row=[1, 2]),
)
def nd_softmax(device):
    scores = torch.randn(2, 3, 4, device=device)
    e = scores.exp()
    s = e.sum(dim=-1)
    probs = F.softmax(scores, dim=-1)
    expect(torch.allclose(probs, e / s[..., None]), "softmax is exp divided by its row's sum")
    return {"scores": scores, "e": e, "s": s, "probs": probs, "probs_sum": probs.sum(dim=-1)}


@lesson.beat(
    "Batched einsum on 3-D stacks",
    narration="""The equation b i j, b j k to b i k: a matrix product per batch. | Two stacks of two slices. |
    j is summed away; b, i and k stay. | One cell worked out from the traced values.""",
    visual=Einsum("a", "b", "c", equation="bij,bjk->bik"),
)
def nd_einsum(device):
    a = torch.arange(12.0, device=device).reshape(2, 2, 3)
    b = torch.arange(12.0, device=device).reshape(2, 3, 2) - 5
    c = torch.einsum("bij,bjk->bik", a, b)
    expect(torch.equal(c, torch.bmm(a, b)), "the same as bmm")
    return {"a": a, "b": b, "c": c}


@lesson.beat(
    "Attention scores on 4-D tensors",
    narration="""b h q d, b h k d to b h q k: every query meets every key, per batch and head. | Queries and
    keys, each a grid of slices: batch by head. | d is summed away. | One score worked out.""",
    visual=Einsum("q", "k", "scores", equation="bhqd,bhkd->bhqk", digits=1),
)
def nd_einsum_4d(device):
    q = torch.randn(2, 2, 2, 2, device=device)
    k = torch.randn(2, 2, 2, 2, device=device)
    scores = torch.einsum("bhqd,bhkd->bhqk", q, k)
    expect(torch.allclose(scores, q @ k.transpose(-2, -1), atol=1e-6), "the same as q @ k transposed")
    return {"q": q, "k": k, "scores": scores}


@lesson.beat(
    "Element-wise on 3-D tensors",
    narration="""a and b, both {{ a.shape }}. | The first cell: {{ y[0][0][0] }}. | The next: {{
    y[0][0][1] }}. | The first of the next row: {{ y[0][1][0] }}. | Every other cell, in every slice.""",
    visual=Elementwise("a", "b", "y", op="*"),
)
def nd_elementwise(device):
    a = torch.arange(8.0, device=device).reshape(2, 2, 2)
    b = torch.full((2, 2, 2), 0.5, device=device)
    y = a * b
    expect(torch.equal(y, a / 2), "times one half is half")
    return {"a": a, "b": b, "y": y}


@lesson.beat(
    "Stacking matrices into a 3-D tensor",
    narration="""Two matrices of shape {{ a.shape }}. | torch dot stack makes them slices zero and one of a
    new first axis: {{ s.shape }}.""",
    visual=Stack("a", "b", "s", dim=0),
)
def nd_stack(device):
    a = torch.arange(6.0, device=device).reshape(2, 3)
    b = -a
    s = torch.stack([a, b])
    expect(torch.equal(s[1], b), "slice [1] is the second input")
    return {"a": a, "b": b, "s": s}
