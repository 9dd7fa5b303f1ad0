"""1.4.2 Gradient Hoarding for Grand Spells: gradients add up, zeroing, micro-batches, pitfalls, the graph."""

import torch

from render.lesson import Lesson, capture_error, expect, expect_each
from scenes.vocabulary import AutogradGraph, Show, Split, Title

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
        "Equal micro-batches, no BatchNorm: the big batch's gradient",
        "Each micro-batch graph is freed; only .grad remains",
    ],
    challenge="Train the same tiny model twice, once with a large batch and once with accumulated "
    "micro-batches, and show the final weights agree.",
)


def regression_data(device):
    """A small regression batch for the learning-rate checks: inputs and targets."""
    X = torch.tensor([[1.0, 2.0], [2.0, 0.0], [0.0, 1.0], [1.0, 1.0],
                      [3.0, 1.0], [0.0, 2.0], [2.0, 2.0], [1.0, 0.0]], device=device)
    y = torch.tensor([5.0, 2.0, 2.0, 3.0, 5.0, 4.0, 6.0, 1.0], device=device)
    return X, y


def mse(X, y, w):
    """The mean squared error of the linear model `X @ w` against `y`."""
    return ((X @ w - y) ** 2).mean()


def gradient(X, y, w, scale=1.0):
    """The gradient of `mse / scale` at a fresh copy of `w` (the copy's own backward)."""
    w = w.detach().clone().requires_grad_()
    (mse(X, y, w) / scale).backward()
    return w.grad


def uneven_gradient(X, y, w, size=3):
    """Micro-batches of `size` rows (the last one shorter), each mean loss divided by their count, summed."""
    pieces = list(zip(X.split(size), y.split(size), strict=True))
    return sum(gradient(xb, yb, w, scale=len(pieces)) for xb, yb in pieces)


def batchnorm_agrees(X, y, w, steps, device):
    """Whether accumulation still equals the large batch when a BatchNorm normalises the inputs first."""
    norm = torch.nn.BatchNorm1d(X.shape[1]).to(device)
    pieces = zip(X.chunk(steps), y.chunk(steps), strict=True)
    accumulated = sum(gradient(norm(xb), yb, w, scale=steps) for xb, yb in pieces)
    return torch.allclose(gradient(norm(X), y, w), accumulated)


def trained(device, scale, lr, optimizer, steps=5, **options):
    """Weights after `steps` updates of `optimizer` on the batch's loss multiplied by `scale`."""
    X, y = regression_data(device)
    w = torch.tensor([0.5, 0.5], device=device, requires_grad=True)
    opt = optimizer([w], lr=lr, **options)
    for _ in range(steps):
        opt.zero_grad()
        (mse(X, y, w) * scale).backward()
        opt.step()
    return w.detach()


def lr_division_works(device, optimizer, steps=4, **options):
    """Gradients `steps` times too large with the learning rate divided by `steps`, against the right gradients."""
    return torch.allclose(trained(device, steps, 0.01 / steps, optimizer, **options),
                          trained(device, 1, 0.01, optimizer, **options), atol=1e-6)


@lesson.beat(
    "Gradient Hoarding",
    narration="""Apprentices, today we become hoarders! A grand spell needs an enormous batch, but our humble
    GPU cannot hold it. The secret: gradients in PyTorch pile up, call after call, until we spend them. |
    We will watch them accumulate, | learn when to clear them, | hoard them over micro-batches to emulate a
    giant batch, | dodge the classic pitfalls, | and picture the graphs that feed the hoard.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def opening(device):
    return {}


@lesson.beat(
    "Gradients pile up",
    narration="""Observe closely. The loss is w times x, summed, and one backward call has already run. Now
    we run forward a second time, without touching anything else. | And backward again. After the first
    call, w dot grad held {{ first.values }}, which is x. The new gradient does not replace it; it adds to
    it: w dot grad now holds {{ w.grad.values }}. PyTorch accumulates on purpose, and today we exploit
    it!""",
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
    expect(torch.equal(first, x), "after the first backward, w.grad is x")
    expect(torch.equal(w.grad, first + x), "the second backward adds x to it")
    return {"w": w, "first": first, "loss": loss}


@lesson.beat(
    "Clearing the hoard",
    narration="""Sometimes the hoard must be emptied. Two backward calls, then two ways to clear what they
    left. | After both calls, w dot grad holds {{ before.values }}. | Calling w dot grad dot zero underscore
    wipes it in place: {{ after.values }}. | Optimizers clear it with zero grad, which by default goes further
    and sets the grad to None. Either way, the next backward starts from a clean slate. Zero once after each
    optimizer step, not after every backward.""",
    visual=Show("before", "after", caption="after optimizer.zero_grad(): w.grad is None"),
    slide=["`w.grad.zero_()` clears in place", "`optimizer.zero_grad()`: `.grad` None by default",
           "Zero after each optimizer step"],
)
def zeroing(device):
    w = torch.tensor([1.0, -1.0], device=device, requires_grad=True)
    x = torch.tensor([3.0, 4.0], device=device)
    (w * x).sum().backward()
    (w * x).sum().backward()
    before = w.grad.clone()
    after = w.grad.zero_()
    expect(after is w.grad and not after.any(), "zero_ clears the same .grad tensor in place")
    optimizer = torch.optim.SGD([w], lr=0.1)
    optimizer.zero_grad()
    expect(w.grad is None, "optimizer.zero_grad() sets .grad to None by default")
    return {"before": before, "after": after}


@lesson.beat(
    "Micro-batches",
    narration="""Now the grand scheme. Our batch has {{ n }} examples, but pretend memory only fits {{ micro
    }} at a time. | So we chunk the batch along dim {{ dim }} into micro-batches of {{ micro }}. Each one runs
    forward and backward on its own, small enough to fit, and we let the gradients pile up. Only after the
    last micro-batch do we take one optimizer step, as if the whole batch had been seen at once.""",
    visual=Split("X", "X0", "X1", "X2", "X3", dim=0, op="chunk"),
    slide=["`X.chunk(steps)`: micro-batches", "Forward + backward each one", "One optimizer step at the end"],
)
def micro_batches(device):
    torch.manual_seed(0)
    X = torch.randn(8, 2, device=device)
    steps = 4
    dim = 0
    X0, X1, X2, X3 = X.chunk(steps, dim=dim)
    expect(torch.equal(torch.cat([X0, X1, X2, X3]), X), "the micro-batches together are the batch")
    return {"X": X, "X0": X0, "X1": X1, "X2": X2, "X3": X3, "n": X.shape[0], "micro": X0.shape[0],
            "steps": steps, "dim": dim}


@lesson.beat(
    "Hoarding equals a big batch",
    narration="""The proof, apprentices! Two recipes: one backward over the whole batch, and {{ steps }}
    micro-batches, each loss divided by {{ steps }}, each with its own backward, hoarded in the same grad. |
    The whole batch's mean squared error gives the gradient {{ g_big.values }}. | The hoard gives
    {{ g_acc.values }}. | The same gradient, up to rounding, with a fraction of the memory per backward call.
    It holds because the micro-batches are equal in size and the model keeps no batch statistics, as
    BatchNorm does. Mwahahaha!""",
    visual=Show("g_big", "g_acc", caption="large batch vs accumulated micro-batches"),
    slide=["`loss = loss_fn(model(xb), yb) / steps`", "`loss.backward()` for each micro-batch",
           "Equal only for equal-sized micro-batches, no BatchNorm"],
)
def emulate(device):
    torch.manual_seed(0)
    X = torch.randn(8, 2, device=device)
    y = torch.randn(8, device=device)
    w = torch.tensor([0.5, 0.5], device=device, requires_grad=True)
    loss_fn = torch.nn.MSELoss()
    steps = 4
    loss_fn(X @ w, y).backward()
    g_big = w.grad.clone()
    w.grad = None
    for xb, yb in zip(X.chunk(steps), y.chunk(steps), strict=True):
        (loss_fn(xb @ w, yb) / steps).backward()
    g_acc = w.grad.clone()
    expect(torch.allclose(g_big, gradient(X, y, w)), "g_big is the whole batch's gradient")
    expect(torch.allclose(g_big, g_acc), "the accumulated gradient equals the large batch's")
    expect(not torch.allclose(g_big, uneven_gradient(X, y, w)), "micro-batches of unequal size break the equality")
    expect(not batchnorm_agrees(X, y, w, steps, device), "batch statistics break the equality")
    return {"g_big": g_big, "g_acc": g_acc, "steps": steps}


@lesson.beat(
    "Pitfall: forgetting to scale",
    narration="""A classic blunder: hoarding without dividing each loss by the number of steps, as this loop
    does. | The large batch's gradient is {{ g_big.values }}. | Each micro-batch mean is already an average,
    so summing {{ steps }} of them gives a gradient {{ steps }} times too large: {{ g_unscaled.values }}. |
    Your learning rate is secretly multiplied, and training may explode. Divide the loss before backward.
    Dividing the learning rate instead works for SGD, momentum included, but not with weight decay, and not
    for Adam, which all but ignores the gradient's scale.""",
    visual=Show("g_big", "g_unscaled", caption="large batch vs unscaled accumulation"),
    slide=["Unscaled: gradient times the number of steps", "Fix: `loss / steps` before `backward()`",
           "Dividing the lr instead: SGD without weight decay"],
)
def forgot_scale(device):
    torch.manual_seed(0)
    X = torch.randn(8, 2, device=device)
    y = torch.randn(8, device=device)
    w = torch.tensor([0.5, 0.5], device=device, requires_grad=True)
    loss_fn = torch.nn.MSELoss()
    steps = 4
    loss_fn(X @ w, y).backward()
    g_big = w.grad.clone()
    w.grad = None
    for xb, yb in zip(X.chunk(steps), y.chunk(steps), strict=True):
        loss_fn(xb @ w, yb).backward()
    g_unscaled = w.grad.clone()
    expect(torch.allclose(g_unscaled, steps * g_big), "unscaled accumulation is steps times too large")
    expect_each([0.0, 0.5, 0.9], lambda momentum: lr_division_works(device, torch.optim.SGD, momentum=momentum),
                "dividing the learning rate repairs SGD, with or without momentum")
    expect(not lr_division_works(device, torch.optim.SGD, weight_decay=0.5), "but not SGD with weight decay")
    expect(not lr_division_works(device, torch.optim.Adam), "nor Adam")
    expect(torch.allclose(trained(device, steps, 0.01, torch.optim.Adam), trained(device, 1, 0.01, torch.optim.Adam),
                          atol=1e-4), "Adam all but ignores the gradient's scale")
    return {"g_big": g_big, "g_unscaled": g_unscaled, "steps": steps}


@lesson.beat(
    "Pitfall: forgetting to zero",
    narration="""The second blunder: stepping without zeroing, as this code does. | The first step's gradient
    was {{ g_old.values }}. | After the update, a fresh copy of w shows the right gradient: {{ g_true.values
    }}. | But the
    old hoard was never cleared, so grad holds their sum, {{ g_stale.values }}. Stale gradients push the
    weights in yesterday's direction. Zero after every optimizer step; skipping it is a silent bug that raises
    no error.""",
    visual=Show("g_old", "g_true", "g_stale"),
    slide=["No `zero_grad()`: old gradients leak into new steps", "Silent: no error, just worse training"],
)
def forgot_zero(device):
    torch.manual_seed(0)
    X = torch.randn(8, 2, device=device)
    y = torch.randn(8, device=device)
    w = torch.tensor([0.5, 0.5], device=device, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=0.05)
    loss_fn = torch.nn.MSELoss()
    loss_fn(X @ w, y).backward()
    g_old = w.grad.clone()
    optimizer.step()
    fresh = w.detach().clone().requires_grad_()
    loss_fn(X @ fresh, y).backward()
    g_true = fresh.grad
    loss_fn(X @ w, y).backward()
    g_stale = w.grad.clone()
    expect(torch.allclose(g_true, gradient(X, y, w)), "g_true is the gradient at the updated weights")
    expect(torch.allclose(g_stale, g_old + g_true), "without zeroing, .grad holds the old plus the new")
    return {"g_old": g_old, "g_true": g_true, "g_stale": g_stale}


@lesson.beat(
    "The full ritual",
    narration="""Now the complete training loop, in code. For each micro-batch: forward, divide the loss by {{
    steps }}, backward. Every {{ steps }} micro-batches: optimizer step, then zero grad. Beside it, one step
    on the whole batch, same learning rate, same start. | After it, the large batch's weights are {{
    w_big.values }}. | The hoarder's weights are {{ w_acc.values }}. | The same weights, up to rounding, with
    a fraction of the memory.""",
    visual=Show("w_big", "w_acc", caption="large batch vs accumulated"),
    slide=["`(loss / steps).backward()` each micro-batch", "`if (i + 1) % steps == 0:` step, then zero",
           "Same weights as the large batch"],
)
def full_loop(device):
    torch.manual_seed(0)
    X = torch.randn(8, 2, device=device)
    y = torch.randn(8, device=device)
    loss_fn = torch.nn.MSELoss()
    steps = 4
    w_big = torch.tensor([0.5, 0.5], device=device, requires_grad=True)
    w_acc = w_big.detach().clone().requires_grad_()
    opt_big = torch.optim.SGD([w_big], lr=0.05)
    opt_acc = torch.optim.SGD([w_acc], lr=0.05)
    loss_fn(X @ w_big, y).backward()
    opt_big.step()
    for i, (xb, yb) in enumerate(zip(X.chunk(steps), y.chunk(steps), strict=True)):
        (loss_fn(xb @ w_acc, yb) / steps).backward()
        if (i + 1) % steps == 0:
            opt_acc.step()
            opt_acc.zero_grad()
    expect(torch.allclose(w_big, w_acc), "one accumulated step equals one large-batch step")
    return {"w_big": w_big, "w_acc": w_acc, "steps": steps}


@lesson.beat(
    "The graphs, conceptually",
    narration="""Picture it. Each micro-batch builds its own little graph during forward. Here are the graphs
    of a pair of micro-batches, their losses {{ loss_a.item }} and {{ loss_b.item }}, both ending at the same
    accumulate grad node of w. | Each backward walks its own graph and then frees it. The accumulate grad
    node is the hoard: it adds every gradient into w dot grad, now {{ w.grad.values }}. Only the gradient
    survives, never the graph, which is why memory stays small.""",
    visual=AutogradGraph("w", "loss_a", "loss_b", backward=True),
    slide=["Each micro-batch: its own graph, freed by backward",
           "All graphs end in the leaf's `AccumulateGrad`",
           "Only `.grad` persists between micro-batches"],
)
def graphs(device):
    torch.manual_seed(0)
    X = torch.randn(8, 2, device=device)
    y = torch.randn(8, device=device)
    w = torch.tensor([0.5, 0.5], device=device, requires_grad=True)
    loss_fn = torch.nn.MSELoss()
    loss_a = loss_fn(X[:2] @ w, y[:2])
    loss_b = loss_fn(X[2:4] @ w, y[2:4])
    loss_a.backward()
    loss_b.backward()
    expect(torch.allclose(w.grad, gradient(X[:2], y[:2], w) + gradient(X[2:4], y[2:4], w)),
           "w.grad is the sum of both micro-batch gradients")
    expect(capture_error(lambda: loss_a.backward()) != "", "backward freed the first graph")
    return {"w": w, "loss_a": loss_a, "loss_b": loss_b}


@lesson.beat(
    "Recap and your challenge",
    narration="""The hoard is complete! | Backward adds into grad; it never overwrites. | Zero the gradients
    after each optimizer step. | Divide each micro-batch loss by the number of steps, and step only after
    the last one. | With micro-batches of equal size and no batch statistics, the result matches the large
    batch, with a fraction of the memory. | Each micro-batch graph is freed; only the grad remains. | Your
    challenge: train the same tiny model twice, with a large batch and with accumulated micro-batches, and
    show the final weights agree.""",
    visual=Title(heading="Recap", lines=[*lesson.recap, "Challenge: " + lesson.challenge]),
    slide=[*lesson.recap, "Challenge: large batch vs accumulation, same weights"],
)
def recap(device):
    return {}
