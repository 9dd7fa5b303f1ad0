"""1.4.2 Gradient Hoarding for Grand Spells: gradients add up, zeroing, micro-batches, pitfalls, the graph."""

import torch

from render.lesson import Lesson
from scenes.vocabulary import AutogradGraph, InPlace, Show, Split, Title

lesson = Lesson(
    objectives=[
        "See that .grad adds up across backward calls",
        "Zero gradients at the right moment",
        "Emulate a large batch with micro-batches",
        "Avoid the pitfalls: forgetting to zero or to scale",
        "Picture the graphs feeding one .grad",
    ],
    recap=[
        "backward() adds into .grad; it never overwrites",
        "Zero with optimizer.zero_grad() after each step",
        "Divide each micro-batch loss by the number of steps",
        "Step every few micro-batches: same as one large batch",
        "Each micro-batch graph is freed; only .grad remains",
    ],
    challenge="Train the same tiny model twice, once with a large batch and once with accumulated "
    "micro-batches, and show the final weights agree.",
)


def regression_data(device):
    """A small regression batch every beat below shares: inputs, targets and the starting weight."""
    X = torch.tensor([[1.0, 2.0], [2.0, 0.0], [0.0, 1.0], [1.0, 1.0],
                      [3.0, 1.0], [0.0, 2.0], [2.0, 2.0], [1.0, 0.0]], device=device)
    y = torch.tensor([5.0, 2.0, 2.0, 3.0, 5.0, 4.0, 6.0, 1.0], device=device)
    return X, y


@lesson.beat(
    "Gradient Hoarding",
    narration="""Apprentices, today we become hoarders! A grand spell needs an enormous batch, but our
    humble GPU cannot hold it. The secret: gradients in PyTorch pile up, call after call, until we spend
    them. We will watch them accumulate, learn when to clear them, hoard them over micro-batches to emulate
    a giant batch exactly, dodge the classic pitfalls, and picture the graphs that feed the hoard.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def opening(device):
    return {}


@lesson.beat(
    "Gradients pile up",
    narration="""Observe closely. The loss is w times x, summed, with x equal to {{ x.values }}. After the
    first backward, w dot grad holds {{ first.values }}, exactly x. Now run forward and backward a second
    time, without touching anything else. The gradient does not replace the old one; it adds to it. w dot
    grad now holds {{ w.grad.values }}. PyTorch accumulates on purpose, and today we exploit it!""",
    visual=AutogradGraph("w", "loss", backward=True, accumulate="first"),
    slide=["Each `backward()` adds into `.grad`", "It never overwrites",
           "On purpose: it enables accumulation"],
)
def pile_up(device):
    w = torch.tensor([1.0, -1.0], device=device, requires_grad=True)
    x = torch.tensor([3.0, 4.0], device=device)
    (w * x).sum().backward()
    first = w.grad.clone()
    loss = (w * x).sum()
    loss.backward()
    return {"w": w, "x": x, "first": first, "loss": loss}


@lesson.beat(
    "Clearing the hoard",
    narration="""Sometimes the hoard must be emptied. Calling w dot grad dot zero underscore wipes it in
    place: {{ before.values }} becomes {{ after.values }}. Optimizers do the same with zero grad, which by
    default goes further and sets the grad to None. Is it None afterwards? {{ is_none }}. Either way, the
    next backward starts from a clean slate. Zero once after each optimizer step, not after every
    backward.""",
    visual=InPlace("before", "after", op="zero_"),
    slide=["`w.grad.zero_()` clears in place", "`optimizer.zero_grad()` sets `.grad` to None",
           "Zero after each optimizer step"],
)
def zeroing(device):
    w = torch.tensor([1.0, -1.0], device=device, requires_grad=True)
    x = torch.tensor([3.0, 4.0], device=device)
    (w * x).sum().backward()
    (w * x).sum().backward()
    before = w.grad.clone()
    after = w.grad.zero_()
    optimizer = torch.optim.SGD([w], lr=0.1)
    optimizer.zero_grad()
    return {"before": before, "after": after, "is_none": w.grad is None}


@lesson.beat(
    "Micro-batches",
    narration="""Now the grand scheme. Our batch has {{ n }} examples, but pretend memory only fits {{ micro
    }} at a time. So we chunk the batch into {{ steps }} micro-batches along dim {{ dim }}. Each one runs
    forward and backward on its own, small enough to fit, and we let the gradients pile up. Only after the
    last micro-batch do we take one optimizer step, as if the whole batch had been seen at once.""",
    visual=Split("X", "X0", "X1", "X2", "X3", dim=0, op="chunk"),
    slide=["`X.chunk(steps)`: micro-batches", "Forward + backward each one", "One optimizer step at the end"],
)
def micro_batches(device):
    X, _ = regression_data(device)
    steps = 4
    dim = 0
    X0, X1, X2, X3 = X.chunk(steps, dim=dim)
    return {"X": X, "X0": X0, "X1": X1, "X2": X2, "X3": X3, "n": X.shape[0], "micro": X0.shape[0],
            "steps": steps, "dim": dim}


@lesson.beat(
    "Hoarding equals a big batch",
    narration="""The proof, apprentices! On the left, one backward over all {{ n }} examples with the mean
    squared error gives the gradient {{ g_big.values }}. On the right, {{ steps }} micro-batches, each loss
    divided by {{ steps }}, each with its own backward, hoarded in the same grad. The result: {{
    g_acc.values }}. Are they equal? {{ same }}. Identical, with a fraction of the memory per backward call.
    Mwahahaha!""",
    visual=Show("g_big", "g_acc", code=False, caption="large batch vs accumulated micro-batches"),
    slide=["`loss = loss_fn(model(xb), yb) / steps`", "`loss.backward()` for each micro-batch",
           "Accumulated grad equals the large batch's"],
)
def emulate(device):
    X, y = regression_data(device)
    steps = 4
    w = torch.tensor([0.5, 0.5], device=device, requires_grad=True)
    ((X @ w - y) ** 2).mean().backward()
    g_big = w.grad.clone()
    w.grad = None
    for xb, yb in zip(X.chunk(steps), y.chunk(steps), strict=True):
        loss = ((xb @ w - yb) ** 2).mean() / steps
        loss.backward()
    g_acc = w.grad.clone()
    same = bool(torch.allclose(g_big, g_acc))
    return {"g_big": g_big, "g_acc": g_acc, "n": X.shape[0], "steps": steps, "same": same}


@lesson.beat(
    "Pitfall: forgetting to scale",
    narration="""A classic blunder: hoarding without dividing each loss by the number of steps. Each
    micro-batch mean is already an average, so summing {{ steps }} of them gives a gradient {{ ratio }}
    times too large: {{ g_unscaled.values }} instead of {{ g_big.values }}. Your learning rate is secretly
    multiplied, and training may explode. Divide the loss, or divide the learning rate, but never
    forget!""",
    visual=Show("g_big", "g_unscaled", code=False, caption="large batch vs unscaled accumulation"),
    slide=["Unscaled: gradient times the number of steps", "Fix: `loss / steps` before `backward()`"],
)
def forgot_scale(device):
    X, y = regression_data(device)
    steps = 4
    w = torch.tensor([0.5, 0.5], device=device, requires_grad=True)
    ((X @ w - y) ** 2).mean().backward()
    g_big = w.grad.clone()
    w.grad = None
    for xb, yb in zip(X.chunk(steps), y.chunk(steps), strict=True):
        ((xb @ w - yb) ** 2).mean().backward()
    g_unscaled = w.grad.clone()
    ratio = (g_unscaled / g_big).mean().item()
    return {"g_big": g_big, "g_unscaled": g_unscaled, "steps": steps, "ratio": ratio}


@lesson.beat(
    "Pitfall: forgetting to zero",
    narration="""The second blunder: stepping without zeroing. After the first update, the fresh gradient
    should be {{ g_true.values }}. But the old hoard was never cleared, so grad holds {{ g_stale.values }}:
    last step's gradient, {{ g_old.values }}, plus the new one. Stale gradients push the weights in
    yesterday's direction. Zero after every optimizer step; skipping it is a silent bug that raises no
    error.""",
    visual=Show("g_old", "g_true", "g_stale", code=False),
    slide=["No `zero_grad()`: old gradients leak into new steps", "Silent: no error, just worse training"],
)
def forgot_zero(device):
    X, y = regression_data(device)
    w = torch.tensor([0.5, 0.5], device=device, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=0.05)
    ((X @ w - y) ** 2).mean().backward()
    g_old = w.grad.clone()
    optimizer.step()
    ((X @ w - y) ** 2).mean().backward()
    g_stale = w.grad.clone()
    g_true = g_stale - g_old
    return {"g_old": g_old, "g_true": g_true, "g_stale": g_stale}


@lesson.beat(
    "The full ritual",
    narration="""Now the complete training loop. For each micro-batch: forward, divide the loss by {{ steps
    }}, backward. Every {{ steps }} micro-batches: optimizer step, then zero grad. We run it beside a loop
    that takes the whole batch at once, same learning rate, same start. After the update, the large batch
    gives {{ w_big.values }} and the hoarder gives {{ w_acc.values }}. Do they agree? {{ same }}.""",
    visual=Show("w_big", "w_acc", code=False, caption="one large-batch step vs accumulated micro-batches"),
    slide=["`(loss / steps).backward()` each micro-batch", "`if (i + 1) % steps == 0:` step, then zero",
           "Same weights as the large batch"],
)
def full_loop(device):
    X, y = regression_data(device)
    steps = 4
    w_big = torch.tensor([0.5, 0.5], device=device, requires_grad=True)
    w_acc = torch.tensor([0.5, 0.5], device=device, requires_grad=True)
    opt_big = torch.optim.SGD([w_big], lr=0.05)
    opt_acc = torch.optim.SGD([w_acc], lr=0.05)
    ((X @ w_big - y) ** 2).mean().backward()
    opt_big.step()
    opt_big.zero_grad()
    for i, (xb, yb) in enumerate(zip(X.chunk(steps), y.chunk(steps), strict=True)):
        (((xb @ w_acc - yb) ** 2).mean() / steps).backward()
        if (i + 1) % steps == 0:
            opt_acc.step()
            opt_acc.zero_grad()
    same = bool(torch.allclose(w_big, w_acc))
    return {"w_big": w_big.detach(), "w_acc": w_acc.detach(), "steps": steps, "same": same}


@lesson.beat(
    "The graphs, conceptually",
    narration="""Picture it. Each micro-batch builds its own little graph during forward. Here are the
    graphs of a pair of micro-batches, their losses {{ loss_a.item }} and {{ loss_b.item }}. Each backward
    walks its own graph and then frees it, yet both end at the same accumulate grad node of w. That node is
    the hoard: it adds every gradient into w dot grad, now {{ w.grad.values }}. Only the gradient survives,
    never the graph, which is why memory stays small.""",
    visual=AutogradGraph("w", "loss_a", "loss_b", backward=True),
    slide=["Each micro-batch: its own graph, freed by backward",
           "All graphs end in the leaf's `AccumulateGrad`",
           "Only `.grad` persists between micro-batches"],
)
def graphs(device):
    X, y = regression_data(device)
    w = torch.tensor([0.5, 0.5], device=device, requires_grad=True)
    xa, xb = X[:2], X[2:4]
    loss_a = ((xa @ w - y[:2]) ** 2).mean()
    loss_b = ((xb @ w - y[2:4]) ** 2).mean()
    loss_a.backward()
    loss_b.backward()
    return {"w": w, "loss_a": loss_a, "loss_b": loss_b}


@lesson.beat(
    "Recap and your challenge",
    narration="""The hoard is complete! Backward adds into grad; it never overwrites. Zero the gradients
    after each optimizer step. Divide each micro-batch loss by the number of steps, step only after the last
    one, and the result matches the large batch exactly, with a fraction of the memory. Forget to zero, or
    forget to scale, and training quietly goes wrong. Your challenge: train the same tiny model twice, with
    a large batch and with accumulated micro-batches, and show the final weights agree.""",
    visual=Title(heading="Recap", lines=[*lesson.recap, "Challenge: " + lesson.challenge]),
    slide=[*lesson.recap, "Challenge: large batch vs accumulation, same weights"],
)
def recap(device):
    return {}
