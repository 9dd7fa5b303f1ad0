"""1.2.3 Broadcasting: When Dimensions Bow to You.

The rules on tiny data, a bias, an outer product, a failure.
"""

import torch

from render.lesson import Lesson, capture_error, expect, expect_each
from scenes.vocabulary import Broadcast, BroadcastFail, Show, Title

lesson = Lesson(
    objectives=[
        "Line shapes up from the right",
        "Stretch size-one axes; add missing axes on the left",
        "Build an outer product, add a bias to a whole batch",
        "Read a broadcasting error, fix it, check the shape first",
    ],
    recap=[
        "Align shapes on the right",
        "Sizes must be equal, or one of them must be one",
        "Missing axes count as size one, added on the left",
        "Stretching is free: no data is copied",
        "keepdim keeps reduced axes aligned for broadcasting",
    ],
    challenge="Invent a few pairs of shapes, predict each broadcast result on paper, "
    "then check your answers with torch.broadcast_shapes.",
)


def by_the_rules(left, right):
    """The broadcast shape by the lesson's three rules (right-align, pad with ones on the left, sizes equal or one
    stretching), or None where they say it fails."""
    n = max(len(left), len(right))
    left, right = (1,) * (n - len(left)) + tuple(left), (1,) * (n - len(right)) + tuple(right)
    if any(a != b and 1 not in (a, b) for a, b in zip(left, right, strict=True)):
        return None
    return tuple(max(a, b) if 1 not in (a, b) else a * b for a, b in zip(left, right, strict=True))


def linear_agrees(seed, n, k, m):
    """x @ W.T + b against torch.nn.functional.linear on seeded (n, k) inputs and m outputs, up to rounding."""
    gen = torch.Generator().manual_seed(seed)
    x, W, b = torch.randn(n, k, generator=gen), torch.randn(m, k, generator=gen), torch.randn(m, generator=gen)
    return torch.allclose(x @ W.T + b, torch.nn.functional.linear(x, W, b), atol=1e-5)


def stretched_without_copy(left, right):
    """Whether broadcasting tensors of these shapes against each other reads their own memory (no copy)."""
    pair = torch.randn(left), torch.randn(right)
    return all(big.data_ptr() == small.data_ptr() for small, big in zip(pair, torch.broadcast_tensors(*pair),
                                                                          strict=True))


def outer_agrees(n, m, dtype):
    """Whether broadcasting a column against a row gives torch.outer's table, bit for bit, on random vectors."""
    u, v = torch.randn(n).to(dtype), torch.randn(m).to(dtype)
    return torch.equal(u[:, None] * v[None, :], torch.outer(u, v))


def torch_says(left, right):
    """torch's own broadcast shape, or None where it refuses."""
    try:
        return tuple(torch.broadcast_shapes(left, right))
    except RuntimeError:
        return None


@lesson.beat(
    "When Dimensions Bow to You",
    narration="""Apprentices, today mismatched shapes shall kneel before us! Broadcasting combines tensors
    of different shapes without copying a single number. | We learn its rules on data so tiny you can check
    every cell: align from the right, | stretch the size-one axes, add missing axes on
    the left. | Then we forge an outer product and add a bias to a batch. | Finally we read a failure aloud,
    fix it, and unmask a silent one.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def opening(device):
    return {}


@lesson.beat(
    "A scalar bows first",
    narration="""The simplest broadcast of all: a {{ x.shape }} tensor plus a lone scalar holding {{ s.item
    }}. | The scalar has no axes, so every axis is missing: PyTorch treats it as size one along each of them
    and stretches its single value over every cell. | {{ x[0][0] }} becomes {{ y[0][0] }}, and the far
    corner, {{ x[1][2] }}, becomes {{ y[1][2] }}. You have been broadcasting since your very first
    tensor, without knowing it!""",
    visual=Broadcast("x", "s", "y", op="+"),
    slide=["`x + s`: the scalar meets every cell", "A scalar has shape `()`: no axes"],
)
def scalar(device):
    x = torch.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    s = torch.tensor(10, device=device)
    y = x + s
    expect(s.dim() == 0 and torch.equal(y, x + s.expand(x.shape)), "the scalar meets every cell of x")
    return {"x": x, "s": s, "y": y}


@lesson.beat(
    "Align from the right",
    narration="""The first rule: align the shapes on the right. Here `a` is {{
    a.shape }} and `b` is just {{ b.shape }}: their last axes match. | The second rule: a missing axis is added
    on the left with size one, so `b` behaves like a single row. The third rule: a size-one axis stretches to
    match, so that row repeats down every row of `a`. | The result is {{ c.shape }}. Its far corner:
    {{ a[1][2] }} plus {{ b[2] }} gives {{ c[1][2] }}.""",
    visual=Broadcast("a", "b", "c", op="+"),
    slide=["Align shapes on the right", "Missing axes are added on the left, size 1",
           "Size-1 axes stretch to match"],
)
def align_right(device):
    a = torch.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    b = torch.tensor([10, 20, 30], device=device)
    c = a + b
    b_as_row = b.unsqueeze(0)
    expect(torch.equal(c, a + b_as_row.expand(2, 3)), "b acts as a 1x3 row repeated down every row of a")
    expect_each([((2, 3), (3,)), ((4, 1, 3), (2, 1)), ((5,), (2, 1, 5)), ((2, 3), (2,)), ((3, 1), (1, 4)),
                 ((), (2, 2)), ((6, 1, 2), (6, 2)), ((1,), (0,))],
                lambda c: by_the_rules(*c) == torch_says(*c),
                "the three rules give torch's broadcast shape, or its refusal")
    return {"a": a, "b": b, "c": c}


@lesson.beat(
    "Size one stretches",
    narration="""Now a column: col has shape {{ col.shape }}, {{ col[0][0] }} for the first
    row, {{ col[1][0] }} for the second. | Right-aligned, its last axis has size one, so it stretches
    across every column of `a`. | Each row of `a` gets its own offset: the far corner is {{ a[1][2] }} plus {{
    col[1][0] }}, which gives {{ c[1][2] }}. The stretch is an illusion, apprentices: nothing is copied,
    PyTorch reads the same value again.""",
    visual=Broadcast("a", "col", "c", op="+"),
    slide=["`(n, k) + (n, 1)` gives `(n, k)`", "The column stretches across columns", "No copy is made"],
)
def size_one(device):
    a = torch.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    col = torch.tensor([[100], [200]], device=device)
    c = a + col
    stretched = col.expand(2, 3)
    expect(stretched.stride(1) == 0 and stretched.data_ptr() == col.data_ptr(),
           "a stretched column reads the same memory again: stride zero, nothing copied")
    expect(torch.equal(c, a + stretched), "each row of a gets its own offset")
    return {"a": a, "col": col, "c": c}


@lesson.beat(
    "An outer product for free",
    narration="""Combine both tricks and witness a marvel! Two vectors become a column of shape {{ col.shape
    }} times a row of shape {{ row.shape }}. | The column stretches right, the row stretches down, | and every
    pair meets: a {{ table.shape }} multiplication table. In the far corner, {{ col[2][0] }} times {{ row[0][3]
    }} gives {{ table[2][3] }}. Mwahaha, a whole table from two tiny vectors!""",
    visual=Broadcast("col", "row", "table", op="*"),
    slide=["`u[:, None] * v[None, :]`", "`(n, 1) * (1, m)` gives `(n, m)`", "Same as `torch.outer(u, v)`"],
)
def outer_product(device):
    u = torch.tensor([1, 2, 3], device=device)
    v = torch.tensor([1, 2, 3, 4], device=device)
    col = u[:, None]
    row = v[None, :]
    table = col * row
    expect(torch.equal(table, torch.outer(u, v)), "u[:, None] * v[None, :] equals torch.outer(u, v)")
    expect_each([(n, m, dt) for n, m in [(3, 4), (1, 5), (7, 2)] for dt in (torch.float32, torch.float16,
                 torch.bfloat16)], lambda c: outer_agrees(*c), "the same as torch.outer, for floats too")
    return {"col": col, "row": row, "table": table}


@lesson.beat(
    "A bias for the whole batch",
    narration="""Now a real model. A linear layer first multiplies its inputs by its weights, giving h: a
    batch of {{ h.shape }} activations, one row per example. Then it adds a bias of shape {{ bias.shape }}. |
    Broadcasting stretches that bias down the whole batch, with no loop. | Every row's first feature grows by
    {{ bias[0] }}: the bias step of every nn dot Linear layer, one addition for the whole batch.""",
    visual=Broadcast("h", "bias", "out", op="+"),
    slide=["`x @ W.T + b`: `(batch, out) + (out,)`", "One bias row, added to every example",
           "What `nn.Linear` computes"],
)
def batch_bias(device):
    x = torch.randn(4, 2, device=device)
    W = torch.randn(3, 2, device=device)
    bias = torch.tensor([0.5, -1.0, 2.0], device=device)
    h = x @ W.T
    out = h + bias
    expect(torch.allclose(out, torch.nn.functional.linear(x, W, bias)), "x @ W.T + b is what nn.Linear computes")
    expect_each([(seed, n, k, m) for seed in range(10) for n, k, m in [(4, 2, 3), (64, 300, 20)]],
                lambda c: linear_agrees(*c), "F.linear agrees up to rounding at a larger size too")
    return {"h": h, "bias": bias, "out": out}


@lesson.beat(
    "When broadcasting fails",
    narration="""Not every shape will bow. Here are the shapes of `a` and `b`. | Aligned
    on the right, the last axes hold {{ last_a }} and {{ last_b }}. They differ, and neither is one, so the
    ritual fails. | PyTorch says the size of tensor `a`, {{ last_a }}, must match the size of tensor `b`,
    {{ last_b }}, at dimension {{ bad_dim }}. Do not force the shapes: decide what you meant.""",
    visual=BroadcastFail("a", "b", error="error"),
    slide=["`(n, k) + (m,)` fails if k != m and neither is 1", "Sizes must be equal or one",
           "Fix: `b[:, None]` makes a column"],
)
def broadcast_fails(device):
    a = torch.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    b = torch.tensor([10, 20], device=device)
    error = capture_error(lambda: a + b).removeprefix("RuntimeError: ")
    last_a, last_b, bad_dim = a.shape[-1], b.shape[-1], a.dim() - 1
    fixed = b[:, None]
    expect(error == f"The size of tensor a ({last_a}) must match the size of tensor b ({last_b}) "
           f"at non-singleton dimension {bad_dim}", "the error names both sizes and the dimension")
    expect(torch.broadcast_shapes((2, 3), (1,)) == (2, 3), "a size of one broadcasts even when k != m")
    expect((a + fixed).shape == (2, 3), "b as a column broadcasts")
    return {"a": a, "b": b, "error": error, "last_a": last_a, "last_b": last_b, "bad_dim": bad_dim,
            "fixed": fixed}


@lesson.beat(
    "Fix it, check the shape",
    narration="""Say each value of `b` belongs to a row of `a`. Indexing with None adds an axis, and torch dot
    broadcast shapes predicts the result's shape before any sum is computed. | `b` is now a column of shape
    {{ col.shape }}. | It stretches across, and the sum has the predicted shape, {{ c.shape }}, with {{
    c[1][2] }} in the far corner.""",
    visual=Show("col", "c"),
    slide=["`b[:, None]`: a new axis, `(m,)` becomes `(m, 1)`", "`torch.broadcast_shapes`: the shape, no compute",
           "`(2, 3) + (2, 1)` gives `(2, 3)`"],
)
def fix_shape(device):
    a = torch.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    b = torch.tensor([10, 20], device=device)
    col = b[:, None]
    shape = torch.broadcast_shapes(a.shape, col.shape)
    c = a + col
    expect(col.shape == (b.shape[0], 1), "indexing with None makes b a column")
    expect(c.shape == shape, "broadcast_shapes predicted the sum's shape")
    expect(torch.equal(c, a + torch.stack([b, b, b], dim=1)), "each row of a gets its own value of b")
    return {"col": col, "c": c}


@lesson.beat(
    "The silent trap",
    narration="""The most dangerous broadcast raises no error at all. We want to subtract each row's mean
    from a square {{ x.shape }} matrix, but we forgot keepdim: the means have shape {{ flat_means.shape }}. |
    Aligned on the right, that vector becomes a row and stretches down, so each mean meets a column, not
    its own row. | The first row should be centred on zero; instead it reads {{ wrong.values[0] }}.
    Wrong numbers, and not a whisper of an error.""",
    visual=Broadcast("x", "flat_means", "wrong", op="-"),
    slide=["`x - x.mean(dim=1)`: wrong on square inputs", "The means line up with columns",
           "No error is raised"],
)
def silent_trap(device):
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 6.0, 8.0], [0.0, 0.0, 9.0]], device=device)
    flat_means = x.mean(dim=1)
    wrong = x - flat_means
    expect(capture_error(lambda: x - flat_means) == "", "subtracting the flat means raises no error")
    expect(torch.equal(wrong, x - flat_means[None, :]), "the flat means line up with the columns")
    expect(not torch.allclose(wrong.sum(dim=1), torch.zeros(3, device=device)), "the rows are not centred")
    return {"x": x, "flat_means": flat_means, "wrong": wrong}


@lesson.beat(
    "keepdim to the rescue",
    narration="""Now with keepdim. The means keep their reduced axis: shape {{ means.shape }}, a column. |
    Its size-one axis stretches across, so every row meets its own mean. | Every row is centred: the first
    reads {{ centred.values[0] }}, and each row now sums to zero. Before you trust a broadcast, check its
    shapes, as we did for the fix.""",
    visual=Broadcast("x", "means", "centred", op="-"),
    slide=["`x - x.mean(dim=1, keepdim=True)`: right", "`(n, n) - (n, 1)`: each row its own mean",
           "Check shapes: `torch.broadcast_shapes`"],
)
def keepdim_rescue(device):
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 6.0, 8.0], [0.0, 0.0, 9.0]], device=device)
    means = x.mean(dim=1, keepdim=True)
    centred = x - means
    expect(torch.allclose(centred.sum(dim=1), torch.zeros(3, device=device)), "each row now sums to zero")
    expect(torch.broadcast_shapes(x.shape, means.shape) == centred.shape, "broadcast_shapes predicts the shape")
    return {"x": x, "means": means, "centred": centred}


@lesson.beat(
    "Recap and your challenge",
    narration="""The dimensions bowed, apprentices! | Align the shapes on the right. | Each pair of sizes
    must be equal, or one of them must be one. | Missing axes count as size one, added on the left. | A
    size-one axis stretches without copying. | When sizes clash, PyTorch tells you where; when they align by
    accident, nobody tells you, so use keepdim. | Your challenge: invent pairs of shapes, predict each
    result, then check them with torch dot broadcast shapes.""",
    visual=Title(heading="Recap", lines=[*lesson.recap, "Challenge: " + lesson.challenge]),
    slide=[*lesson.recap, "Challenge: predict a broadcast shape, then check"],
)
def recap(device):
    expect_each([((2, 3), (3,)), ((4, 1, 3), (2, 1)), ((3, 1), (1, 4)), ((), (2, 5))],
                lambda c: stretched_without_copy(*c), "stretching copies nothing")
    expect(torch.broadcast_shapes((4, 1, 3), (2, 1)) == (4, 2, 3), "the challenge can be checked")
    return {}
