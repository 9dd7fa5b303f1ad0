"""3.1.1 The Training Loop: A Monster's Heartbeat.

The anatomy of one training step run for real (forward, loss, backward, optimiser step, zero_grad), what
zero_grad prevents, gradient accumulation over micro-batches checked against one big batch, gradient clipping
with clip_grad_norm_ and the total norm it returns, and a small reusable train() engine.
"""

import torch
import torch.nn.functional as F  # noqa: N812  (the name every torch user writes)
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from render.lesson import Lesson, expect, expect_each
from scenes.vocabulary import Show, Title, TrainingLoop


def backward_adds(case):
    """Whether a second backward on the same batch, without zero_grad, leaves twice the first gradient, for one
    (batch, features, dtype, seed)."""
    n, features, dtype, seed = case
    gen = torch.Generator().manual_seed(seed)
    x, y = torch.randn(n, features, generator=gen, dtype=dtype), torch.randn(n, 1, generator=gen, dtype=dtype)
    model = nn.Linear(features, 1).to(dtype)
    F.mse_loss(model(x), y).backward()
    first = model.weight.grad.clone()
    F.mse_loss(model(x), y).backward()
    return torch.allclose(model.weight.grad, 2 * first)


def accumulated(case):
    """(gradient of one big batch, gradient summed over k equal micro-batches of loss / k) for one
    (batch, k, dtype, seed), every parameter's gradient flattened into one vector."""
    n, k, dtype, seed = case
    gen = torch.Generator().manual_seed(seed)
    x, y = torch.randn(n, 5, generator=gen, dtype=dtype), torch.randn(n, 1, generator=gen, dtype=dtype)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1)).to(dtype)
    F.mse_loss(model(x), y).backward()
    big = torch.cat([p.grad.flatten() for p in model.parameters()])
    model.zero_grad()
    for xb, yb in zip(x.chunk(k), y.chunk(k), strict=True):
        (F.mse_loss(model(xb), yb) / k).backward()
    return big, torch.cat([p.grad.flatten() for p in model.parameters()])


def uneven_split_misses(case):
    """Whether dividing by k goes wrong when the k micro-batches are not equal (n not a multiple of k)."""
    big, acc = accumulated(case)
    return not torch.allclose(big, acc)


def accumulation_matches(case):
    big, acc = accumulated(case)
    return torch.allclose(big, acc)


def accumulation_bit_equal(case):
    big, acc = accumulated(case)
    return torch.equal(big, acc)


def clip_reports_norm_before(case):
    """Whether clip_grad_norm_ returns the total norm of the gradients before clipping, leaves them at most
    max_norm after, and leaves them untouched when they are already under it, for one (scale, max_norm, seed)."""
    scale, max_norm, seed = case
    gen = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    x, y = torch.randn(8, 4, generator=gen) * scale, torch.randn(8, 2, generator=gen)
    F.mse_loss(model(x), y).backward()
    grads = [p.grad.clone() for p in model.parameters()]
    before = torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads]))
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm)
    after = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in model.parameters()]))
    untouched = all(torch.equal(g, p.grad) for g, p in zip(grads, model.parameters(), strict=True))
    return (torch.allclose(total, before) and after <= max_norm * (1 + 1e-5)
            and (untouched if before < max_norm else not untouched))


def trains_an_mlp(case):
    """Whether the beat's own train() lowers the loss of an MLP (hidden width, loss function) under Adam."""
    train, loader, hidden, loss_fn, device = case
    mlp = nn.Sequential(nn.Linear(3, hidden), nn.ReLU(), nn.Dropout(0.1), nn.Linear(hidden, 1)).to(device)
    mlp.eval()  # left in eval mode by an earlier evaluation: train() must switch it back
    history = train(mlp, loader, loss_fn, torch.optim.Adam(mlp.parameters(), lr=0.01), 5)
    return mlp.training and history[-1] < history[0]


lesson = Lesson(
    objectives=[
        "Run one training step: forward, loss, backward, step",
        "See why zero_grad must clear old gradients",
        "Accumulate gradients over micro-batches",
        "Clip gradients with clip_grad_norm_",
        "Wrap it all in a reusable train() engine",
    ],
    recap=[
        "A step: forward, loss, backward, opt.step(), zero_grad",
        "backward adds into .grad; zero_grad clears it",
        "k equal micro-batches of loss / k: the big batch's gradient",
        "clip_grad_norm_ returns the norm before clipping",
        "train(model, loader, loss_fn, opt, epochs) reuses it all",
    ],
    challenge="Give train() an accum_steps argument: divide each loss by it, and step and zero_grad only every "
    "accum_steps batches. Check that batches of 8 with accum_steps=2 end on the same weights as batches of 16 "
    "(shuffle=False, same start), up to float rounding.",
    seed=31,
)


@lesson.beat(
    "A monster's heartbeat",
    narration="""Apprentices, gather round the slab! A monster does not learn from one jolt of lightning; it
    learns from a heartbeat, the same few stages repeated thousands of times. | We will run one training step
    for real: forward, loss, backward and step, | see why zero grad must wipe the old gradients, | accumulate
    gradients over small batches, | tame wild gradients by clipping them, | and wrap the whole heartbeat in a
    training engine you can reuse.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "The heartbeat: one step",
    narration="""Behold the heartbeat: five stages in a cycle, and every training step goes once around it. |
    Forward: the model turns the inputs into predictions. | Loss: one number scores how wrong they are; at
    step one it is {{ losses[0] }}. | Backward: autograd fills the grad of every parameter. | Step: the optimiser
    nudges each parameter against its gradient. | Zero grad: the gradients are wiped for the next round. |
    Around it goes, {{ losses.numel }} times, and the loss falls from {{ losses[0] }} to {{ losses[-1] }}.""",
    visual=TrainingLoop("losses", walk=True, labels=["loss"],
                        code=["pred = model(x)", "loss = loss_fn(pred, y)", "loss.backward()", "opt.step()",
                              "opt.zero_grad()"]),
    slide=["`pred = model(x)`; `loss = loss_fn(pred, y)`", "`loss.backward()` fills every `.grad`",
           "`opt.step()` updates; `opt.zero_grad()` clears"],
)
def heartbeat(device):
    x = torch.linspace(-1, 1, 32, device=device).unsqueeze(1)
    y = 3 * x + 0.5
    model = nn.Linear(1, 1).to(device)
    loss_fn = nn.MSELoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(30):
        pred = model(x)
        loss = loss_fn(pred, y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    losses = torch.tensor(losses)
    expect(losses[-1] < losses[0], "the loss falls from the first step to the last")
    expect(all(p.grad is None for p in model.parameters()), "after zero_grad no gradient is left")
    return {"losses": losses}


@lesson.beat(
    "Inside one step",
    narration="""Let us open a single heartbeat and watch one weight row change. Here is the code of one
    step. | Before the step, the weight holds these values. | Backward filled its grad with these. | Then
    the step: plain SGD moves each weight by minus the learning rate times its gradient. | That is the rule
    in the caption, with a learning rate of {{ lr }}, up to float rounding. Finally zero grad sets the grad
    to None, torch's default, ready for the next batch.""",
    visual=Show("w", "grad", "w_new", caption="w_new = w - lr * grad, lr = {{ lr }}", digits=3),
    slide=["Plain SGD: `w_new = w - lr * grad`", "`opt.zero_grad()` sets `.grad` to None (the default)"],
)
def one_step(device):
    model = nn.Linear(3, 1).to(device)
    lr = 0.1
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    x, y = torch.randn(8, 3, device=device), torch.randn(8, 1, device=device)
    loss = F.mse_loss(model(x), y)
    loss.backward()
    w = model.weight.detach().clone()
    grad = model.weight.grad.clone()
    opt.step()
    w_new = model.weight.detach().clone()
    opt.zero_grad()
    expect(torch.allclose(w_new, w - lr * grad), "plain SGD: w_new = w - lr * grad")
    expect(model.weight.grad is None, "zero_grad sets .grad to None by default")
    return {"w": w, "grad": grad, "w_new": w_new, "lr": lr}


@lesson.beat(
    "Forgetting zero_grad",
    narration="""Why wipe the gradients at all? Watch what happens when we forget: two backward passes on the
    same batch, and no zero grad between them. | The first backward leaves this gradient. | The second does
    not replace it; it adds to it, and the gradient doubles. | Backward adds into the grad every time. Without
    zero grad, each step would push with the sum of all the old gradients: a bug here, and a tool in a
    moment.""",
    visual=Show("g_first", "g_second", caption="g_second = 2 * g_first: backward adds into .grad"),
    slide=["`loss.backward()` adds into `.grad`", "Forget `zero_grad()`: old gradients pile up"],
)
def no_zero_grad(device):
    model = nn.Linear(3, 1).to(device)
    x, y = torch.randn(8, 3, device=device), torch.randn(8, 1, device=device)
    F.mse_loss(model(x), y).backward()
    g_first = model.weight.grad.clone()
    F.mse_loss(model(x), y).backward()
    g_second = model.weight.grad.clone()
    expect(torch.allclose(g_second, 2 * g_first), "the second backward doubles the gradient")
    expect_each([(8, 3, torch.float32, 0), (1, 7, torch.float64, 1), (64, 2, torch.float32, 2),
                 (5, 5, torch.bfloat16, 3)], backward_adds, "backward adds into .grad every time")
    return {"g_first": g_first, "g_second": g_second}


@lesson.beat(
    "Gradient accumulation",
    narration="""Now the adding becomes a tool. When a big batch will not fit in memory, split it into {{ k }}
    equal micro batches and divide each loss by {{ k }}. | Here is the gradient of the whole batch of {{ n }}. | And
    here the gradient summed over the micro batches, with no zero grad between them. | Torch dot allclose says
    {{ close }}, yet torch dot equal says {{ equal }}: they match up to float rounding, the sums added in
    another order, in float32 and float64 alike. Then step once, after the last micro batch.""",
    visual=Show("g_big", "g_acc", caption="allclose: {{ close }}    equal: {{ equal }}", digits=4),
    slide=["Equal micro-batches: `(loss / k).backward()` each", "No `zero_grad()` until the big batch is done",
           "Same gradient as one big batch, up to rounding"],
)
def accumulation(device):
    n, k = 16, 4
    model = nn.Linear(4, 1).to(device)
    x, y = torch.randn(n, 4, device=device), torch.randn(n, 1, device=device)
    F.mse_loss(model(x), y).backward()
    g_big = model.weight.grad.clone()
    model.zero_grad()
    for xb, yb in zip(x.chunk(k), y.chunk(k), strict=True):
        loss = F.mse_loss(model(xb), yb) / k
        loss.backward()
    g_acc = model.weight.grad.clone()
    close = torch.allclose(g_big, g_acc)
    equal = torch.equal(g_big, g_acc)
    expect(close and not equal, "this example matches up to float rounding, not bit for bit")
    expect_each([(16, 4, torch.float32, 0), (32, 8, torch.float32, 1), (12, 3, torch.float64, 2),
                 (64, 2, torch.float32, 3), (8, 8, torch.float32, 4)], accumulation_matches,
                "k equal micro-batches of loss / k give the big batch's gradient, up to float rounding")
    expect_each([(10, 4, torch.float64, 0), (7, 2, torch.float64, 1)], uneven_split_misses,
                "with unequal micro-batches, dividing by k no longer gives the big batch's gradient")
    expect(not all(accumulation_bit_equal(c) for c in [(16, 4, torch.float32, 0), (32, 8, torch.float32, 1)]),
           "only up to float rounding: not always bit equal")
    return {"g_big": g_big, "g_acc": g_acc, "close": close, "equal": equal, "k": k, "n": n}


@lesson.beat(
    "Clipping: clip_grad_norm_",
    narration="""Sometimes one batch sends a gradient so large that the step flings the weights into the void.
    Clip it! Here, inputs scaled up ten times make large gradients. | The norm of all the gradients, taken as
    one long vector, is {{ before }}. | clip grad norm, with a max norm of {{ max_norm }}, returns
    {{ total }}: the total norm before clipping, not after. | It scaled the gradients in place, and their norm
    is now {{ after }}. | So log the returned value to catch explosions; a norm already under the max is left
    untouched.""",
    visual=Show("before", "total", "after", caption="total: the norm before clipping"),
    slide=["`total = clip_grad_norm_(params, max_norm)`", "Returns the total norm before clipping",
           "Scales every `.grad` in place down to max_norm", "Already under max_norm: `.grad` left as is"],
)
def clipping(device):
    model = nn.Linear(4, 2).to(device)
    x = torch.randn(8, 4, device=device) * 10
    y = torch.randn(8, 2, device=device)
    F.mse_loss(model(x), y).backward()
    params = list(model.parameters())
    before = torch.cat([p.grad.view(-1) for p in params]).norm()
    max_norm = 1.0
    total = nn.utils.clip_grad_norm_(params, max_norm)
    after = torch.cat([p.grad.view(-1) for p in params]).norm()
    expect(torch.allclose(total, before), "clip_grad_norm_ returns the norm before clipping")
    expect(torch.allclose(after, torch.tensor(max_norm, device=device)), "after clipping the norm is max_norm")
    expect_each([(10.0, 1.0, 0), (0.01, 1.0, 1), (1.0, 0.5, 2), (100.0, 5.0, 3), (0.1, 10.0, 4)],
                clip_reports_norm_before, "returns the norm before; under max_norm the gradients are untouched")
    return {"before": before, "total": total, "after": after, "max_norm": max_norm}


@lesson.beat(
    "Clipping inside the loop",
    narration="""Clipping lives inside the heartbeat, between backward and step. | Forward, loss, backward,
    then clip, then step and zero grad, every step. | Over {{ losses.numel }} steps the loss falls from
    {{ losses[0] }} to {{ losses[-1] }}. | Below it, the norms clip grad norm returned: {{ clipped }} early steps
    came in above the max of {{ max_norm }} and were scaled down, until the gradients calmed to
    {{ norms[-1] }}.""",
    visual=TrainingLoop("losses", "norms", labels=["loss", "grad norm (before clip)"],
                        stages=["forward", "loss", "backward", "clip", "step", "zero_grad"],
                        caption="clipped: {{ clipped }} of {{ n }} steps, max_norm {{ max_norm }}"),
    slide=["`loss.backward()`", "`norms.append(clip_grad_norm_(params, max_norm))`",
           "`opt.step()`; `opt.zero_grad()`"],
)
def clipped_training(device):
    x = torch.randn(64, 4, device=device) * 3
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]], device=device) + torch.randn(64, 1, device=device)
    model = nn.Linear(4, 1).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    max_norm = 5
    losses, norms = [], []
    for _ in range(40):
        loss = F.mse_loss(model(x), y)
        loss.backward()
        norms.append(nn.utils.clip_grad_norm_(model.parameters(), max_norm).item())
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    losses, norms = torch.tensor(losses), torch.tensor(norms)
    clipped = int((norms > max_norm).sum())
    expect(losses[-1] < losses[0], "the loss falls")
    expect(0 < clipped < len(norms) and bool((norms[:clipped] > max_norm).all()),
           "the first steps are clipped, the later ones are not")
    return {"losses": losses, "norms": norms, "n": len(losses), "clipped": clipped, "max_norm": max_norm}


@lesson.beat(
    "A reusable training engine",
    narration="""Typing the heartbeat every time grows tiresome: let us build an engine. Train takes a
    model, a loader, a loss function, an optimiser and a number of epochs. It sets the model to train mode,
    then each epoch visits every batch once, zero grad first, and records the mean loss per sample. | Here it
    trains a linear model for {{ epoch_losses.numel }} epochs: one mean loss per epoch. | Each epoch's loss is
    lower than the last; the same engine trains other models, losses and optimisers, given batches of inputs
    and targets.""",
    visual=Show("epoch_losses", caption="one mean loss per epoch, lower every epoch"),
    slide=["`train(model, loader, loss_fn, opt, epochs)`", "`model.train()`; each epoch: every batch, zero_grad first",
           "Returns the mean loss of each epoch"],
)
def engine(device):
    def train(model, loader, loss_fn, opt, epochs):
        model.train()
        history = torch.zeros(epochs)
        for epoch in range(epochs):
            for xb, yb in loader:
                opt.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
                history[epoch] += loss.item() * len(xb) / len(loader.dataset)
        return history
    x = torch.randn(96, 3, device=device)
    data = TensorDataset(x, x.sum(1, keepdim=True))
    loader = DataLoader(data, batch_size=16, shuffle=True)
    model = nn.Linear(3, 1).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.02)
    epoch_losses = train(model, loader, nn.MSELoss(), opt, 5)
    expect(len(epoch_losses) == 5, "one mean loss per epoch")
    expect(bool((epoch_losses[1:] < epoch_losses[:-1]).all()), "the epoch loss falls every epoch")
    expect_each([(train, loader, 8, nn.L1Loss(), device), (train, loader, 32, nn.HuberLoss(), device)],
                trains_an_mlp, "the same engine trains another model, loss and optimiser, in train mode")
    return {"epoch_losses": epoch_losses}


@lesson.beat(
    "Recap",
    narration="""The heartbeat is strong! | Every step goes forward, loss, backward, step and zero grad. |
    Backward adds into the grad, so zero grad must clear it before the next step. | Equal micro batches with their
    losses divided by k give the big batch's gradient, up to rounding. | Clip grad norm returns the norm
    before clipping. | And a small train function wraps the whole heartbeat for other models too.""",
    visual=Title(heading="What we learned", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    model = nn.Linear(2, 1).to(device)
    model(torch.randn(4, 2, device=device)).sum().backward()
    model.zero_grad()
    expect(model.weight.grad is None, "zero_grad clears the gradient")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Now, apprentice, strengthen the engine. | Give train an accum steps argument: divide each
    loss by it, and step and zero grad only every accum steps batches. Then train one copy with batches of
    {{ small }} and accum steps of {{ k }}, another with batches of {{ big }}, both unshuffled from the same
    start, and check that they end on the same weights, up to float rounding.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["`train(..., accum_steps=2)` with batches of 8", "Same weights as batches of 16?",
           "Compare with `torch.allclose`"],
)
def challenge(device):
    def train(model, loader, loss_fn, opt, epochs, accum_steps=1):
        for _ in range(epochs):
            for i, (xb, yb) in enumerate(loader):
                (loss_fn(model(xb), yb) / accum_steps).backward()
                if (i + 1) % accum_steps == 0:
                    opt.step()
                    opt.zero_grad()

    x, y = torch.randn(64, 3, device=device), torch.randn(64, 1, device=device)
    start = nn.Linear(3, 1).to(device)
    models = [nn.Linear(3, 1).to(device) for _ in range(2)]
    for m in models:
        m.load_state_dict(start.state_dict())
    for m, batch, k in zip(models, (8, 16), (2, 1), strict=True):
        loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=False)
        train(m, loader, nn.MSELoss(), torch.optim.SGD(m.parameters(), lr=0.1), epochs=3, accum_steps=k)
    expect(torch.allclose(models[0].weight, models[1].weight), "accumulation ends on the big batches' weights")
    return {"small": 8, "big": 16, "k": 2}
