"""1.4.1 Autograd: Ghosts in the Machine (Learning).

Gradients, the recorded graph, backward, no_grad, detach.
"""

import torch

from render.lesson import Lesson, capture_error, expect
from scenes.vocabulary import AutogradGraph, Show, Title

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
        "backward() adds into .grad of the leaves it reaches",
        "no_grad() and detach() give tensors with no history",
    ],
    challenge="Build f = (a * b + b) * a from two scalars of your choice, predict both gradients "
    "by hand with the chain rule, then check them with backward().",
)


def replaced_beside_others(device, lr=0.1):
    """The no_grad pitfall inside a model with another parameter: w replaced by a new tensor made under no_grad,
    then one more forward and backward. Returns (whether backward ran, the new w's grad)."""
    w = torch.tensor([1.0, -2.0], device=device, requires_grad=True)
    b = torch.tensor(0.5, device=device, requires_grad=True)
    x = torch.tensor([3.0, 4.0], device=device)
    ((w * x).sum() + b).backward()
    with torch.no_grad():
        w = w - lr * w.grad
    ran = capture_error(lambda: ((w * x).sum() + b).backward()) == ""
    return ran, w.grad


@lesson.beat(
    "Ghosts in the Machine",
    narration="""Dim the lights, apprentices, for today we summon the ghosts! Behind every tensor operation
    lurks a spectral recorder called autograd. | We will learn what a gradient is, and check one by hand, |
    switch the recorder on, | read the graph it writes, | call backward to run it in reverse, | and finally
    banish the ghosts with no grad and detach.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def opening(device):
    return {}


@lesson.beat(
    "What is a gradient?",
    narration="""A gradient answers one question: if I nudge the input, how fast does the output move? Take
    y equals x squared at x equals {{ x.item }}, so y is {{ y.item }}. Calculus says y moves twice x times
    as fast as x, and nudging x a tiny bit either way confirms it. | Now ask autograd: y dot backward sends
    the gradient back through the graph, and x dot grad holds {{ x.grad.item }}, twice x. Every witness
    agrees!""",
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
        slope = ((x + h) ** 2 - (x - h) ** 2) / (2 * h)
    expect(torch.isclose(slope, 2 * x.detach(), atol=1e-2), "a small nudge moves y about 2x times as far")
    expect(torch.equal(x.grad, 2 * x.detach()), "backward stores dy/dx = 2x in x.grad")
    return {"x": x, "y": y}


@lesson.beat(
    "requires_grad starts the recorder",
    narration="""Autograd only haunts tensors that ask for it. Here w was created with requires grad equals
    True. Multiply it by a plain input x: the result z inherits the flag, and carries a grad fn called {{ z_fn
    }}, a note saying how to send gradients back. | x itself never asked, and x times x, plain, records
    nothing: both have requires grad False, and no grad fn at all. | Each stands outside the graph, like the tensors
    that no grad and detach will give us later. No ghost, no cost.""",
    visual=AutogradGraph("x", "w", "z", "plain"),
    slide=["`torch.tensor(..., requires_grad=True)`", "`x * w` is tracked because `w` is",
           "`z.grad_fn`: how to send gradients back"],
)
def requires_grad(device):
    x = torch.tensor([1.0, 2.0], device=device)
    w = torch.tensor([0.5, -1.0], device=device, requires_grad=True)
    z = x * w
    plain = x * x
    expect(z.requires_grad and z.grad_fn is not None, "a result of a tracked input is tracked")
    expect(not plain.requires_grad and plain.grad_fn is None, "a result of untracked inputs has no history")
    return {"x": x, "w": w, "z": z, "z_fn": type(z.grad_fn).__name__, "plain": plain}


@lesson.beat(
    "The computational graph",
    narration="""Now a tiny model: a prediction y equals w times x plus b, and a squared error against a
    target. With w {{ w.item }} and b {{ b.item }}, the prediction is {{ y.item }} and the loss is {{
    loss.item }}. Each result remembers its maker: walk back from the loss and the grad fn chain reads {{
    chain[0] }}, {{ chain[1] }}, {{ chain[2] }}, {{ chain[3] }}, and {{ chain[4] }}. | Nothing has flowed
    back yet: each node only remembers how to send gradients back. At the far end, accumulate grad nodes wait
    to deposit gradients into the leaves.""",
    visual=AutogradGraph("w", "b", "y", "loss"),
    slide=["Each result's `grad_fn` points to its inputs'", "Leaves that require grad: `AccumulateGrad`",
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
    expect(len(chain) == 5 and chain[-1] == "AccumulateGrad" and w.grad is None,
           "the chain ends at a leaf; no gradient yet")
    return {"w": w, "b": b, "y": y, "loss": loss, "chain": chain}


@lesson.beat(
    "backward() and .grad",
    narration="""Now command the ghosts: loss dot backward! The same graph as before: w times x plus b, then
    the squared error. | x and the target are plain inputs, {{ x.item }} and {{ target.item }}: they ask
    for no gradient, so none flows into them. | Gradients flow from the loss back along every edge. b enters
    at rate one, so b dot grad is twice the error, {{ b.grad.item }}. w enters at rate x, so w dot grad is
    {{ b.grad.item }} times {{ x.item }}: {{ w.grad.item }}. The ghosts never lie!""",
    visual=AutogradGraph("w", "b", "x", "target", "y", "loss", backward=True),
    slide=["`loss.backward()` runs the graph in reverse", "Leaves that require grad receive `.grad`",
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
    expect(b.grad == 2 * (y - target), "b.grad is twice the error")
    expect(w.grad == b.grad * x, "w.grad is b.grad times x: the chain rule")
    expect(x.grad is None and target.grad is None, "no gradient flows into x or the target")
    return {"w": w, "b": b, "x": x, "target": target, "y": y, "loss": loss}


@lesson.beat(
    "Gradients of a real model",
    narration="""Now a real model in miniature: linear regression on a small batch of examples. A
    matrix-vector product of the batch with w, plus b, gives the predictions, and the mean squared error over
    the batch is {{ loss.item }}. | One
    backward call fills the weight's gradient, {{ w.grad.values }}, and the bias's, {{ b.grad.item }}, each
    averaged over the whole batch. Networks from this toy to a giant transformer learn from gradients like
    these.""",
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
    error = (pred - target).detach()
    expect(torch.allclose(w.grad, 2 * X.T @ error / n), "w.grad is the batch average of 2 * error * x")
    expect(torch.allclose(b.grad, 2 * error.mean()), "b.grad is the batch average of 2 * error")
    return {"w": w, "b": b, "loss": loss}


@lesson.beat(
    "torch.no_grad()",
    narration="""Weight updates must not be recorded, and evaluation need not be. Inside a with torch dot no
    grad block the recorder sleeps; there we step w down its gradient, in place, at learning rate {{ lr }}. |
    Before the step, w holds {{ before.values }}. | After it, {{ w.values }}: the same leaf, still requiring
    grad. Optimizers update in place like this. | Build a new tensor under no grad instead, w new: it requires
    no grad, so its next backward raises this error. Beside other parameters nothing raises: the weight
    stops learning.""",
    visual=Show("before", "w", error="error"),
    slide=["Update inside `torch.no_grad()`", "In place: `w` stays the leaf you train",
           "Use no_grad for updates and evaluation"],
)
def no_grad(device):
    w = torch.tensor([1.0, -2.0], device=device, requires_grad=True)
    x = torch.tensor([3.0, 4.0], device=device)
    (w * x).sum().backward()
    before, lr = w.detach().clone(), 0.1
    with torch.no_grad():
        w -= lr * w.grad
        w_new = w - lr * w.grad
    error = capture_error(lambda: (w_new * x).sum().backward())
    expect(w.is_leaf and w.requires_grad and torch.allclose(w, before - lr * x), "w stepped in place")
    expect(not w_new.requires_grad and w_new.grad_fn is None, "a new tensor made under no_grad does not require grad")
    expect(error != "", "its next backward raises")
    expect(replaced_beside_others(device) == (True, None),
           "beside another parameter backward runs, and the replaced weight gets no gradient")
    expect(capture_error(lambda: torch.ones(2, device=device, requires_grad=True).sub_(1)).startswith(
        "RuntimeError: a leaf Variable"), "outside no_grad, an in-place update of a leaf that requires grad raises")
    return {"before": before, "w": w, "lr": lr, "error": error}


@lesson.beat(
    ".detach()",
    narration="""Detach is the scalpel that cuts one tensor out of the graph. Here z is d times w, summed. |
    And d is w times x, detached: the same numbers, {{ d.values }}, sharing the same memory, but with
    requires grad False and no grad fn. Autograd treats it as a constant. | So when z flows back, the
    gradient reaching w is just d, {{ w.grad.values }}, as if d had never depended on w. Use it to stop
    gradients on purpose, or to log values safely.""",
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
    expect(d.data_ptr() == y.data_ptr() and not d.requires_grad, "d shares y's memory, with no history")
    expect(torch.equal(w.grad, d), "the gradient reaching w is just d")
    return {"w": w, "z": z, "d": d}


@lesson.beat(
    "Recap and your challenge",
    narration="""The ghosts obey, mwahahaha! | A gradient says how fast the output moves when you nudge an
    input. | Requires grad switches on the recorder. | Each result's grad fn links it to its inputs, forming
    the computational graph. | Backward walks that graph in reverse and adds into the grad of each leaf it
    reaches that requires grad. | No grad and detach give tensors with no history. | Your challenge: build f from two
    scalars, `a` times `b` plus `b`, all times `a`; predict both gradients by hand, then check them with
    backward.""",
    visual=Title(heading="Recap", lines=[*lesson.recap, "Challenge: " + lesson.challenge]),
    slide=[*lesson.recap, "Challenge: predict both gradients, then check"],
)
def recap(device):
    w = torch.tensor(2.0, device=device, requires_grad=True)
    x = torch.tensor(3.0, device=device)
    (w * x).backward()
    expect(w.grad is not None and x.grad is None, "only leaves that require grad get a .grad")
    unused = torch.tensor(1.0, device=device, requires_grad=True)
    y = w * x
    y.backward()
    expect(unused.grad is None, "a leaf the output does not depend on gets no .grad")
    expect(w.grad == 2 * x, "a second backward adds into .grad")
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(5.0, requires_grad=True)
    ((a * b + b) * a).backward()
    expect(a.grad == 2 * a * b + b and b.grad == a * a + a, "the challenge's gradients by the chain rule")
    return {}
