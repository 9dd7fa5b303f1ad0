"""1.2.3 Broadcasting: When Dimensions Bow to You.

The rules on tiny data, a bias, an outer product, a failure.
"""

import torch

from render.lesson import Lesson, capture_error
from scenes.vocabulary import Broadcast, BroadcastFail, Title

lesson = Lesson(
    objectives=[
        "Line shapes up from the right",
        "Stretch size-one axes; add missing axes on the left",
        "Add a bias to a whole batch, build an outer product",
        "Read a broadcasting error and fix it",
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


@lesson.beat(
    "When Dimensions Bow to You",
    narration="""Apprentices, today mismatched shapes shall kneel before us! Broadcasting lets PyTorch
    combine tensors of different shapes without copying a single number. We will learn its rules on data so
    tiny you can verify every cell: align from the right, stretch the size-one axes, add missing axes on the
    left. Then we add a bias to a batch, forge an outer product, and read a failure aloud.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def opening(device):
    return {}


@lesson.beat(
    "A scalar bows first",
    narration="""The simplest broadcast of all. A {{ x.shape }} tensor plus a lone scalar holding {{ s.item
    }}. The scalar has no axes at all, so PyTorch pretends it has the same shape as x and lends that one
    value to every cell. {{ x[0][0] }} becomes {{ y[0][0] }}, and {{ x[1][2] }} becomes {{ y[1][2] }}. You
    have been broadcasting since your very first tensor, without knowing it!""",
    visual=Broadcast("x", "s", "y", op="+"),
    slide=["`x + s`: the scalar meets every cell", "A scalar has shape `()`: no axes"],
)
def scalar(device):
    x = torch.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    s = torch.tensor(10, device=device)
    y = x + s
    return {"x": x, "s": s, "y": y}


@lesson.beat(
    "Align from the right",
    narration="""The first rule: write the shapes one above the other, aligned on the right. Here a is {{
    a.shape }} and b is just {{ b.shape }}. Their last axes match. The second rule: a missing axis is added
    on the left with size one, so b behaves like a row of shape {{ b_as_row.shape }}. The third rule: a
    size-one axis stretches to match, so that row repeats down every row of a. The result is {{ c.shape }}:
    its bottom row is {{ c.values[1] }}.""",
    visual=Broadcast("a", "b", "c", op="+"),
    slide=["Align shapes on the right", "Missing axes are added on the left, size 1",
           "Size-1 axes stretch to match"],
)
def align_right(device):
    a = torch.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    b = torch.tensor([10, 20, 30], device=device)
    c = a + b
    b_as_row = b.unsqueeze(0)
    return {"a": a, "b": b, "c": c, "b_as_row": b_as_row}


@lesson.beat(
    "Size one stretches",
    narration="""Now a column instead. Here col has shape {{ col.shape }}: {{ col.values[0] }} for the first
    row, {{ col.values[1] }} for the second. Aligned on the right, its last axis has size one, so it
    stretches across every column of a. Each row of a gets its own offset: the top row becomes {{
    c.values[0] }}. The stretch is an illusion, apprentices: no data is copied, PyTorch simply reads the
    same value again.""",
    visual=Broadcast("a", "col", "c", op="+"),
    slide=["`(n, k) + (n, 1)` gives `(n, k)`", "The column stretches across columns", "No copy is made"],
)
def size_one(device):
    a = torch.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    col = torch.tensor([[100], [200]], device=device)
    c = a + col
    return {"a": a, "col": col, "c": c}


@lesson.beat(
    "An outer product for free",
    narration="""Combine both tricks and witness a marvel! A column of shape {{ u.shape }} times a row of
    shape {{ v.shape }}. The column stretches right, the row stretches down, and every pair meets: a {{
    table.shape }} multiplication table. Cell by cell, {{ u.values[2] }} times {{ v.values[0][3] }} gives {{
    table[2][3] }}. Does it equal torch dot outer? {{ same }}. Mwahaha, a whole table from two tiny
    vectors!""",
    visual=Broadcast("u", "v", "table", op="*"),
    slide=["`u[:, None] * v[None, :]`", "`(n, 1) * (1, m)` gives `(n, m)`", "Same as `torch.outer(u, v)`"],
)
def outer_product(device):
    u = torch.tensor([1, 2, 3], device=device).unsqueeze(1)
    v = torch.tensor([1, 2, 3, 4], device=device).unsqueeze(0)
    table = u * v
    same = bool(torch.equal(table, torch.outer(u.flatten(), v.flatten())))
    return {"u": u, "v": v, "table": table, "same": same}


@lesson.beat(
    "A bias for the whole batch",
    narration="""Now a real model. A linear layer computes a batch of {{ h.shape }} activations, one row per
    example, and then adds one bias vector of shape {{ bias.shape }}. Broadcasting adds that same bias to
    every example in the batch, with no loop at all. The first feature of every row grows by {{
    bias.values[0] }}. Same as the built-in linear layer? {{ matches_linear }}. Every nn dot Linear you ever
    call does exactly this.""",
    visual=Broadcast("h", "bias", "out", op="+"),
    slide=["`x @ W.T + b`: `(batch, out) + (out,)`", "One bias row, added to every example",
           "What `nn.Linear` does inside"],
)
def batch_bias(device):
    x = torch.randn(4, 2, device=device)
    W = torch.randn(3, 2, device=device)
    bias = torch.tensor([0.5, -1.0, 2.0], device=device)
    h = x @ W.T
    out = h + bias
    matches_linear = bool(torch.allclose(out, torch.nn.functional.linear(x, W, bias)))
    return {"h": h, "bias": bias, "out": out, "matches_linear": matches_linear}


@lesson.beat(
    "When broadcasting fails",
    narration="""Not every shape will bow. Here a is {{ a.shape }} and b is {{ b.shape }}. Aligned on the
    right, the last axes hold {{ last_a }} and {{ last_b }}. They differ, and neither is one, so the ritual
    fails. PyTorch says: {{ error }}. Read it slowly: it names both sizes and the dimension where they
    clash. The fix is to decide what you meant, for instance reshape b into a column of shape {{ fixed.shape
    }}.""",
    visual=BroadcastFail("a", "b", error="error"),
    slide=["`(n, k) + (m,)` fails when k and m differ", "Sizes must be equal or one",
           "Fix: `b[:, None]` makes a column"],
)
def broadcast_fails(device):
    a = torch.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    b = torch.tensor([10, 20], device=device)
    error = capture_error(lambda: a + b).removeprefix("RuntimeError: ")
    last_a, last_b = a.shape[-1], b.shape[-1]
    fixed = b[:, None]
    return {"a": a, "b": b, "error": error, "last_a": last_a, "last_b": last_b, "fixed": fixed}


@lesson.beat(
    "The silent trap",
    narration="""The most dangerous broadcast raises no error at all. We want to subtract each row's mean
    from a square {{ x.shape }} matrix. Without keepdim the means have shape {{ flat_means.shape }}; aligned
    on the right they pair with columns, not rows, and the result is silently wrong. With keepdim the means
    have shape {{ means.shape }}, a column, and every row is centred. Now each row sums to {{
    row_sums.values }}. Did the wrong version agree? {{ wrong_agrees }}.""",
    visual=Broadcast("x", "means", "centred", op="-"),
    slide=["`x - x.mean(dim=1)`: wrong on square inputs", "`x - x.mean(dim=1, keepdim=True)`: right",
           "Check shapes: `torch.broadcast_shapes`"],
)
def silent_trap(device):
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 6.0, 8.0], [0.0, 0.0, 9.0]], device=device)
    means = x.mean(dim=1, keepdim=True)
    flat_means = x.mean(dim=1)
    centred = x - means
    wrong = x - flat_means
    row_sums = centred.sum(dim=1)
    wrong_agrees = bool(torch.allclose(wrong, centred))
    return {"x": x, "means": means, "centred": centred, "flat_means": flat_means, "row_sums": row_sums,
            "wrong_agrees": wrong_agrees}


@lesson.beat(
    "Recap and your challenge",
    narration="""The dimensions bowed, apprentices! Align the shapes on the right. Each pair of sizes must
    be equal, or one of them must be one, and that one stretches without copying. Missing axes are added on
    the left. When sizes clash, PyTorch tells you where; when they align by accident, nobody tells you, so
    use keepdim. Your challenge: invent a few pairs of shapes, for instance {{ left.shape }} against {{
    right.shape }}, predict each result on paper, then check your answers with torch dot broadcast
    shapes.""",
    visual=Title(heading="Recap", lines=[*lesson.recap, "Challenge: " + lesson.challenge]),
    slide=[*lesson.recap, "Challenge: predict a broadcast shape, then check"],
)
def recap(device):
    left = torch.zeros(4, 1, 3, device=device)
    right = torch.zeros(2, 1, device=device)
    return {"left": left, "right": right}
