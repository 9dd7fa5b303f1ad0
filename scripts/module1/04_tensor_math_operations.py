"""1.2.1 Elemental Tensor Alchemy: element-wise operations, reductions, in-place operations and autograd."""

import torch

from render.lesson import Lesson, capture_error
from scenes.vocabulary import Elementwise, InPlace, Reduce, Show, Title

lesson = Lesson(
    objectives=[
        "Combine tensors cell by cell with + - * / and functions",
        "Reduce along a dim with sum, mean, max, min and std",
        "Keep the reduced axis with keepdim; find winners",
        "Mutate in place with a trailing underscore, and when not to",
    ],
    recap=[
        "Element-wise operations pair cells at the same position",
        "A reduction removes the dim you name; keepdim keeps it",
        "max(dim) gives values and indices; argmax the indices",
        "The trailing underscore mutates; it can break autograd",
    ],
    challenge="Standardise each row of a random matrix with mean and std (keepdim), "
    "then prove every row now has mean zero.",
)


@lesson.beat(
    "Elemental Tensor Alchemy",
    narration="""Welcome back to the laboratory, my apprentices! Today we brew the elemental elixirs of
    tensor math. First, operations that pair every cell with its twin. Then reductions, which boil a whole
    axis down to a single value, and the keepdim trick that keeps the shape intact. Finally, the dangerous
    in-place rituals marked by a trailing underscore, and why the autograd ghosts despise them. To the
    cauldron!""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def opening(device):
    return {}


@lesson.beat(
    "Cell by cell",
    narration="""Behold two {{ a.shape }} tensors, side by side. When we add them, each cell meets only its
    partner at the very same position. So {{ a[0][0] }} plus {{ b[0][0] }} gives {{ total[0][0] }}, and the
    last pair, {{ a[1][2] }} plus {{ b[1][2] }}, gives {{ total[1][2] }}. No cell ever peeks at its
    neighbours. That is the whole secret of element-wise alchemy, and you can check every cell by hand!""",
    visual=Elementwise("a", "b", "total", op="+"),
    slide=["`a + b` pairs cells at the same index", "Shapes must match (or broadcast: next lessons)"],
)
def add_cells(device):
    a = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    b = torch.tensor([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]], device=device)
    total = a + b
    return {"a": a, "b": b, "total": total}


@lesson.beat(
    "Multiply, divide, transform",
    narration="""The same law rules every operator. With the star, {{ a[0][1] }} times {{ b[0][1] }} makes
    {{ product[0][1] }}, cell by cell. Beware, apprentices: this star is not matrix multiplication; that
    beast gets its own lesson. Functions obey the law too: torch dot sqrt of {{ b[1][1] }} is {{ roots[1][1]
    }}, and torch dot exp, log and abs all work one cell at a time.""",
    visual=Elementwise("a", "b", "product", op="*"),
    slide=["`a * b`, `a / b`, `a ** 2`: cell by cell", "`torch.sqrt`, `torch.exp`, `torch.abs`: per cell",
           "`*` is not the matrix product"],
)
def multiply_cells(device):
    a = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    b = torch.tensor([[2.0, 4.0, 8.0], [1.0, 9.0, 16.0]], device=device)
    product = a * b
    roots = torch.sqrt(b)
    return {"a": a, "b": b, "product": product, "roots": roots}


@lesson.beat(
    "Sum along a dim",
    narration="""Now we boil things down. Summing the whole {{ x.shape }} tensor gives one number, {{
    total.item }}. But name a dim and only that axis vanishes. Summing along dim {{ dim }} collapses the
    rows: each column adds up, giving {{ col_sums.values }}. Along dim {{ other }} instead, each row adds up
    to {{ row_sums.values }}. The dim you name is the dim that disappears.""",
    visual=Reduce("x", "col_sums", op="sum", dim=0),
    slide=["`x.sum()` adds everything", "`x.sum(dim=0)` collapses rows: column totals",
           "The named dim disappears"],
)
def sum_dim(device):
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
    dim, other = 0, 1
    total = x.sum()
    col_sums = x.sum(dim=dim)
    row_sums = x.sum(dim=other)
    return {"x": x, "col_sums": col_sums, "total": total, "row_sums": row_sums, "dim": dim, "other": other}


@lesson.beat(
    "mean and keepdim",
    narration="""Here are two students and their scores. The mean along dim {{ dim }} gives each student's
    average: {{ means.values[0] }} and {{ means.values[1] }}. Without keepdim the result is a flat vector of
    shape {{ flat.shape }}. With keepdim equals True the reduced axis stays as size one, shape {{
    means.shape }}, so it lines up against the original rows for later arithmetic. Remember this trick; it
    saves lives in the broadcasting lesson.""",
    visual=Reduce("scores", "means", op="mean", dim=1, keepdim=True),
    slide=["`x.mean(dim=1)` averages each row", "`keepdim=True` keeps the axis as size 1",
           "Needs a float dtype"],
)
def mean_keepdim(device):
    scores = torch.tensor([[2.0, 4.0, 6.0, 8.0], [1.0, 2.0, 3.0, 10.0]], device=device)
    dim = 1
    means = scores.mean(dim=dim, keepdim=True)
    flat = scores.mean(dim=dim)
    return {"scores": scores, "means": means, "flat": flat, "dim": dim}


@lesson.beat(
    "min, max and std",
    narration="""More reductions from the same family. Along dim {{ dim }}, min finds {{ low.values }}, and
    std measures the spread of each row: {{ spread.values }}. Notice the wider spread in the row that holds
    {{ scores[1][3] }}. By default std divides by the count minus one, the unbiased estimate, so do not be
    shocked when a hand calculation that divides by the full count disagrees.""",
    visual=Reduce("scores", "spread", op="std", dim=1, keepdim=True),
    slide=["`x.min(dim)`, `x.max(dim)`, `x.std(dim)`", "`std` is unbiased by default (n - 1)"],
)
def min_max_std(device):
    scores = torch.tensor([[2.0, 4.0, 6.0, 8.0], [1.0, 2.0, 3.0, 10.0]], device=device)
    dim = 1
    low = scores.min(dim=dim).values
    spread = scores.std(dim=dim, keepdim=True)
    return {"scores": scores, "spread": spread, "low": low, "dim": dim}


@lesson.beat(
    "argmax picks the winner",
    narration="""Now a real model's output! A classifier emits one logit per class for each of {{ n }}
    examples. Max along dim {{ dim }} returns two things: the winning values, {{ best.values }}, and where
    they live, {{ where.values }}. Those indices are the predicted classes, exactly what argmax returns on
    its own. Do they agree? {{ agree }}. Every accuracy metric you will ever compute starts with this humble
    spell. Mwahaha!""",
    visual=Reduce("logits", "best", "where", op="max", dim=1),
    slide=["`values, indices = x.max(dim=1)`", "`x.argmax(dim=1)`: the indices alone",
           "Predicted class = argmax of the logits"],
)
def argmax_winner(device):
    logits = torch.randn(3, 4, device=device)
    dim = 1
    best, where = logits.max(dim=dim)
    agree = bool(torch.equal(where, logits.argmax(dim=dim)))
    return {"logits": logits, "best": best, "where": where, "dim": dim, "agree": agree, "n": logits.shape[0]}


@lesson.beat(
    "The trailing underscore",
    narration="""Every operation so far summoned a brand new tensor. Add an underscore to the name and the
    operation rewrites the tensor where it stands. After t dot add underscore of {{ step }}, the values {{
    before.values }} become {{ after.values }}. Same memory as before? {{ same_memory }}: the data pointer
    never moved. No fresh allocation, which is thrifty when memory is scarce.""",
    visual=InPlace("before", "after", op="add_"),
    slide=["`t.add_(x)`, `t.mul_(x)`, `t.zero_()`: in place", "Same storage, no new tensor",
           "`t += x` is in place too"],
)
def in_place(device):
    t = torch.tensor([1.0, 2.0, 3.0], device=device)
    step = 10
    before = t.clone()
    pointer = t.data_ptr()
    t.add_(step)
    same_memory = t.data_ptr() == pointer
    return {"before": before, "after": t, "step": step, "same_memory": same_memory}


@lesson.beat(
    "Why in-place angers autograd",
    narration="""But beware! Autograd saves some tensors to compute gradients later. Here exp saves its own
    output, and then we overwrite that output in place. When we call backward, PyTorch notices the tampering
    and refuses. It says: {{ message }}. Worse still, an in-place change to a leaf that requires grad is
    refused at once: {{ leaf_message }}. Inside a model, prefer the plain operations.""",
    visual=Show("a", "b", code=True),
    slide=["Autograd saves tensors for the backward pass", "Changing them in place raises an error",
           "Use out-of-place ops on tensors that need grad"],
)
def in_place_autograd(device):
    a = torch.tensor([0.0, 1.0, 2.0], device=device, requires_grad=True)
    b = a.exp()
    b.add_(1)
    error = capture_error(lambda: b.sum().backward())
    message = error.split(":")[1].strip()
    leaf_error = capture_error(lambda: a.add_(1))
    leaf_message = leaf_error.split(":", 1)[1].strip().rstrip(".")
    return {"a": a, "b": b, "message": message, "leaf_message": leaf_message}


@lesson.beat(
    "Recap and your challenge",
    narration="""What a brew! Element-wise operations pair cells at the same position. Reductions such as
    sum, mean, min, max and std collapse the dim you name, and keepdim keeps it as size one. Max along a dim
    hands back values and indices, and argmax the indices alone. The trailing underscore mutates in place,
    but keep it away from tensors autograd needs. Your challenge: standardise every row of a random matrix
    using mean and std with keepdim, then prove each row now has mean zero.""",
    visual=Title(heading="Recap", lines=[*lesson.recap, "Challenge: " + lesson.challenge]),
    slide=[*lesson.recap, "Challenge: standardise each row, check mean zero"],
)
def recap(device):
    return {}
