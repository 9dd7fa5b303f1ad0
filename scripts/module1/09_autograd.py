"""1.4.1 Autograd: Ghosts in the Machine (Learning).

Gradients, the recorded graph, backward, no_grad, detach.
"""

import torch

from render.lesson import Lesson
from scenes.vocabulary import AutogradGraph, Title

lesson = Lesson(
    objectives=[
        "Say what a gradient is, and check one by hand",
        "Switch recording on with requires_grad",
        "Read the graph PyTorch records: grad_fn",
        "Run .backward() and read .grad",
        "Stop recording with torch.no_grad() and .detach()",
    ],
    recap=[
        "A gradient: how fast the output moves per nudge of an input",
        "requires_grad=True makes PyTorch record operations",
        "Each result's grad_fn links back to its inputs",
        "backward() walks the graph; leaves get .grad",
        "no_grad() and detach() give tensors with no history",
    ],
    challenge="Build f = (a * b + b) * a from two scalars of your choice, predict both gradients "
    "by hand with the chain rule, then check them with backward().",
)


@lesson.beat(
    "Ghosts in the Machine",
    narration="""Dim the lights, apprentices, for today we summon the ghosts! Behind every tensor operation
    lurks a spectral recorder called autograd. It watches each step of your computation, writes down a
    graph, and when commanded, runs it backwards to reveal every gradient. We will learn what a gradient is,
    switch the recorder on, read its graph, call backward, and finally banish the ghosts with no grad and
    detach.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def opening(device):
    return {}


@lesson.beat(
    "What is a gradient?",
    narration="""A gradient answers one question: if I nudge the input, how fast does the output move? Take
    y equals x squared at x equals {{ x.item }}, so y is {{ y.item }}. Nudge x a tiny bit either way and y
    moves about {{ slope }} times the nudge. Calculus agrees: the derivative is twice x. And autograd, after
    y dot backward, stores exactly {{ x.grad.item }} in x dot grad. Every witness agrees!""",
    visual=AutogradGraph("x", "y", backward=True),
    slide=["Gradient: change in output per change in input", "`y = x ** 2` gives `dy/dx = 2 * x`",
           "`y.backward()` stores it in `x.grad`"],
)
def what_is_gradient(device):
    x = torch.tensor(3.0, device=device, requires_grad=True)
    y = x**2
    y.backward()
    h = 1e-3
    with torch.no_grad():
        slope = (((x + h) ** 2 - (x - h) ** 2) / (2 * h)).item()
    return {"x": x, "y": y, "slope": round(slope, 2)}


@lesson.beat(
    "requires_grad starts the recorder",
    narration="""Autograd only haunts tensors that ask for it. Here w was created with requires grad equals
    true, and a was not. Multiply them: does the result z inherit the flag? {{ z_tracked }}. It carries a
    grad fn called {{ z_fn }}, a note saying how to send gradients back. Multiply a by itself instead and
    nothing is recorded: requires grad is {{ plain_tracked }}. No ghost, no cost.""",
    visual=AutogradGraph("w", "z"),
    slide=["`torch.tensor(..., requires_grad=True)`", "Results of tracked inputs are tracked",
           "`z.grad_fn`: how to send gradients back"],
)
def requires_grad(device):
    a = torch.tensor([1.0, 2.0], device=device)
    w = torch.tensor([0.5, -1.0], device=device, requires_grad=True)
    z = a * w
    plain = a * a
    return {"a": a, "w": w, "z": z, "z_tracked": z.requires_grad, "z_fn": type(z.grad_fn).__name__,
            "plain_tracked": plain.requires_grad}


@lesson.beat(
    "The computational graph",
    narration="""Now a tiny model: a prediction y equals w times x plus b, and a squared error against a
    target of {{ target.item }}. With w {{ w.item }}, x {{ x.item }} and b {{ b.item }}, the prediction is
    {{ y.item }} and the loss is {{ loss.item }}. Each result remembers its maker. Walk back from the loss
    and the grad fn chain reads: {{ chain }}. At the far end, accumulate grad nodes wait to deposit
    gradients into the leaves.""",
    visual=AutogradGraph("w", "b", "y", "loss"),
    slide=["Each result's `grad_fn` points to its inputs'", "Leaves end in `AccumulateGrad`",
           "The graph is built as the forward pass runs"],
)
def graph(device):
    w = torch.tensor(2.0, device=device, requires_grad=True)
    b = torch.tensor(1.0, device=device, requires_grad=True)
    x = torch.tensor(3.0, device=device)
    target = torch.tensor(10.0, device=device)
    y = w * x + b
    loss = (y - target) ** 2
    chain, fn = [], loss.grad_fn
    while fn is not None:
        chain.append(type(fn).__name__)
        fn = fn.next_functions[0][0] if fn.next_functions else None
    return {"w": w, "b": b, "x": x, "target": target, "y": y, "loss": loss, "chain": chain}


@lesson.beat(
    "backward() and .grad",
    narration="""Now command the ghosts: loss dot backward! Gradients flow from the loss back along every
    edge. The loss changes at twice the error, which is {{ dloss_dy }}. The prediction grows with w at the
    rate x, so w dot grad becomes {{ w.grad.item }}, and with b at rate one, so b dot grad is {{ b.grad.item
    }}. Check with the chain rule, apprentices: {{ dloss_dy }} times {{ x.item }} is {{ by_hand_w }}. The
    ghosts never lie!""",
    visual=AutogradGraph("w", "b", "y", "loss", backward=True),
    slide=["`loss.backward()` runs the graph in reverse", "Leaves receive `.grad`",
           "Chain rule: `dloss/dw = dloss/dy * dy/dw`"],
)
def backward(device):
    w = torch.tensor(2.0, device=device, requires_grad=True)
    b = torch.tensor(1.0, device=device, requires_grad=True)
    x = torch.tensor(3.0, device=device)
    target = torch.tensor(10.0, device=device)
    y = w * x + b
    loss = (y - target) ** 2
    loss.backward()
    dloss_dy = (2 * (y - target)).item()
    by_hand_w = dloss_dy * x.item()
    return {"w": w, "b": b, "x": x, "target": target, "y": y, "loss": loss, "dloss_dy": dloss_dy,
            "by_hand_w": by_hand_w}


@lesson.beat(
    "A real training step",
    narration="""Now a real model in miniature: linear regression on a batch of {{ n }} examples with {{
    features }} features. The mean squared error is {{ loss.item }}. One backward call fills the weight's
    gradient, {{ w.grad.values }}, and the bias's, {{ b.grad.item }}, averaged over the whole batch. Every
    neural network, from this toy to a giant transformer, learns from exactly these numbers.""",
    visual=AutogradGraph("w", "b", "loss", backward=True),
    slide=["`pred = X @ w + b`", "`torch.nn.functional.mse_loss(pred, target)`",
           "`loss.backward()` fills `w.grad`, `b.grad`"],
)
def training_step(device):
    X = torch.tensor([[1.0, 2.0], [2.0, 0.0], [0.0, 1.0], [1.0, 1.0]], device=device)
    target = torch.tensor([5.0, 2.0, 2.0, 3.0], device=device)
    w = torch.tensor([0.5, 0.5], device=device, requires_grad=True)
    b = torch.tensor(0.0, device=device, requires_grad=True)
    pred = X @ w + b
    loss = torch.nn.functional.mse_loss(pred, target)
    loss.backward()
    n, features = X.shape
    return {"w": w, "b": b, "loss": loss, "n": n, "features": features}


@lesson.beat(
    "torch.no_grad()",
    narration="""Some work must not be recorded: the weight update itself, and evaluation. Inside a with
    torch dot no grad block, the recorder sleeps. Here we take one step down the gradient with learning rate
    {{ lr }}: w becomes {{ w_new.values }}. Is the new tensor tracked? {{ tracked }}. It has no grad fn, so
    the update never tangles itself into the graph. Optimizers do exactly this, and evaluation under no grad
    saves memory too.""",
    visual=AutogradGraph("w", "loss", "w_new", backward=True),
    slide=["`with torch.no_grad():` records nothing", "Use it for the update step and evaluation",
           "Saves memory: no graph is kept"],
)
def no_grad(device):
    w = torch.tensor([1.0, -2.0], device=device, requires_grad=True)
    x = torch.tensor([3.0, 4.0], device=device)
    loss = (w * x).sum()
    loss.backward()
    lr = 0.1
    with torch.no_grad():
        w_new = w - lr * w.grad
    return {"w": w, "x": x, "loss": loss, "w_new": w_new, "lr": lr, "tracked": w_new.requires_grad}


@lesson.beat(
    ".detach()",
    narration="""Detach is the scalpel that cuts one tensor out of the graph. Here d is y detached: the same
    numbers, {{ d.values }}, sharing the same memory, {{ shares_memory }}, but with requires grad {{
    d_tracked }}. Autograd treats it as a constant. So in z equals d times w, the gradient reaching w is
    just d: {{ w.grad.values }}, as if y had never depended on w. Use it to stop gradients on purpose, or to
    log values safely.""",
    visual=AutogradGraph("w", "z", "d", backward=True),
    slide=["`d = y.detach()`: same data, no history", "Gradients do not flow through `d`",
           "For logging, targets, stopping gradients"],
)
def detach(device):
    w = torch.tensor([1.0, 2.0], device=device, requires_grad=True)
    x = torch.tensor([3.0, 4.0], device=device)
    y = w * x
    d = y.detach()
    z = (d * w).sum()
    z.backward()
    shares_memory = d.data_ptr() == y.data_ptr()
    return {"w": w, "z": z, "d": d, "shares_memory": shares_memory, "d_tracked": d.requires_grad}


@lesson.beat(
    "Recap and your challenge",
    narration="""The ghosts obey, mwahahaha! A gradient says how fast the output moves when you nudge an
    input. Requires grad switches on the recorder; each result's grad fn links it to its inputs, forming the
    computational graph. Backward walks that graph in reverse and fills the grad of every leaf. No grad and
    detach give tensors with no history. Your challenge: build f from two scalars, a times b plus b, all
    times a; predict both gradients by hand, then check them with backward.""",
    visual=Title(heading="Recap", lines=[*lesson.recap, "Challenge: " + lesson.challenge]),
    slide=[*lesson.recap, "Challenge: predict both gradients, then check"],
)
def recap(device):
    return {}
