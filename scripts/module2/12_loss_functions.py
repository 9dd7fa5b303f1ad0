"""2.5.1 Loss Potions: Guiding Pain into Progress.

MSE, L1 and Huber for regression; cross-entropy (= NLL of log_softmax) for classes; BCE-with-logits for binary
and multi-label targets; the -log p price of a confident wrong answer; and the gradient each loss sends back.
"""

import torch
import torch.nn.functional as F  # noqa: N812  (the name every torch user writes)
from torch import nn

from render.lesson import Lesson, expect, expect_each
from scenes.vocabulary import Curve, Loss, Show, Title


def ce_is_nll(case):
    """Whether cross_entropy equals nll_loss of log_softmax bit for bit on random (rows, classes) logits."""
    rows, classes, dtype, seed = case
    gen = torch.Generator().manual_seed(seed)
    logits = (torch.randn(rows, classes, generator=gen) * 3).to(dtype)
    target = torch.randint(0, classes, (rows,), generator=gen)
    return torch.equal(F.cross_entropy(logits, target), F.nll_loss(logits.log_softmax(1), target))


def ce_grad_within_one(case):
    """Whether every entry of the cross-entropy gradient lies in [-1, 1] for one size, scale and reduction
    (`weighted`: class weights up to 10 with the mean, which divides by the summed weights)."""
    rows, classes, scale, seed, reduction, weighted = case
    gen = torch.Generator().manual_seed(seed)
    logits = (torch.randn(rows, classes, generator=gen) * scale).requires_grad_()
    target = torch.randint(0, classes, (rows,), generator=gen)
    weight = torch.rand(classes, generator=gen) * 10 if weighted else None
    (grad,) = torch.autograd.grad(F.cross_entropy(logits, target, weight=weight, reduction=reduction), logits)
    return bool((grad.abs() <= 1).all())


lesson = Lesson(
    objectives=[
        "Score regression with MSE, L1 and Huber",
        "Score classes with cross-entropy, and see NLL inside it",
        "Score binary and multi-label targets with BCE-with-logits",
        "Price a confident wrong answer with -log p",
        "Compare the gradient each loss sends back",
    ],
    recap=[
        "MSE squares errors; L1 takes |error|; Huber blends",
        "cross_entropy(logits, y) = nll_loss(log_softmax)",
        "BCE-with-logits: one sigmoid per output",
        "-log p: near 0 when sure and right, huge when wrong",
        "Gradients: 2e, sign(e), clipped e, p - one_hot",
    ],
    challenge="For logits [2.0, 0.5, -1.0] and target class 2, predict whether the cross-entropy is above or "
    "below 1, and the sign of each entry of the gradient; then check with F.cross_entropy and backward().",
    seed=12,
)


@lesson.beat(
    "Loss potions",
    narration="""Gather round the cauldron, apprentices! A network learns only from pain, and the loss function
    decides how much each mistake hurts. | We will brew the regression potions, squared, absolute and Huber, |
    the cross entropy potion for classes, | the binary potion for yes or no questions, | price a confident
    wrong answer, | and taste the gradient each potion sends back into the network.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "Mean squared error",
    narration="""Regression first: the model predicts {{ n }} numbers and we know the targets. | Mean squared
    error squares each difference, so big misses hurt a lot. | The squares add up to {{ total }}, | and the
    mean divides by {{ n }}: a loss of {{ loss }}.""",
    visual=Loss("pred", "target", "per", "loss", kind="mse", total="total", count="n"),
    slide=["`nn.MSELoss()`: mean of (pred - target)²", "Squares punish big misses hardest",
           "The default reduction is the mean"],
)
def mse(device):
    pred = torch.tensor([0.5, 1.8, -0.3, 3.4, 1.0], device=device)
    target = torch.tensor([0.0, 2.0, 0.0, 1.0, 1.0], device=device)
    per = nn.MSELoss(reduction="none")(pred, target)
    loss = nn.MSELoss()(pred, target)
    expect(torch.allclose(per, (pred - target) ** 2), "each loss is the squared error")
    expect(torch.allclose(loss, per.sum() / per.numel()), "the mean divides by the count")
    return {"pred": pred, "target": target, "per": per, "total": per.sum(), "loss": loss, "n": per.numel()}


@lesson.beat(
    "L1: the absolute potion",
    narration="""Its gentler cousin, L1, takes the same predictions and targets. | It keeps only the size of each
    miss, so the outlier of {{ big }} costs just {{ big_cost }}, not its square. | The mean of the absolute
    errors is {{ l1 }}. The outlier's share of this total is well below its share of the squared total: one
    wild outlier sways L1 far less.""",
    visual=Loss("pred", "target", "per", "l1", kind="l1"),
    slide=["`nn.L1Loss()`: mean of |pred - target|", "Every miss counts by its size",
           "Less swayed by one wild outlier"],
)
def l1(device):
    pred = torch.tensor([0.5, 1.8, -0.3, 3.4, 1.0], device=device)
    target = torch.tensor([0.0, 2.0, 0.0, 1.0, 1.0], device=device)
    per = nn.L1Loss(reduction="none")(pred, target)
    l1 = nn.L1Loss()(pred, target)
    mse = nn.MSELoss()(pred, target)
    e = pred - target
    expect(torch.allclose(per, e.abs()), "each loss is the absolute error")
    expect(torch.allclose(l1, e.abs().mean()), "L1 is the mean absolute error")
    expect(per[3] < e[3] ** 2, "the outlier costs less than its square")
    l1_share = 100 * per[3] / per.sum()
    mse_share = 100 * e[3] ** 2 / (e**2).sum()
    expect(torch.allclose(mse_share, 100 * e[3] ** 2 / (mse * e.numel())), "the squared share is of MSE's total")
    expect(l1_share < mse_share, "the outlier makes up less of L1's total than of the squared total")
    return {"pred": pred, "target": target, "per": per, "l1": l1, "big": f"{e[3].item():.1f}",
            "big_cost": f"{per[3].item():.1f}"}


@lesson.beat(
    "Huber: the blended potion",
    narration="""Huber loss blends the two. The same predictions and targets. | Inside an error of delta, here
    {{ delta }}, it is half the squared error; outside, it grows only linearly, so the outlier
    costs {{ big_cost }}, far less than its square. | The per sample costs add up to
    {{ total }}, | and the mean is {{ loss }}. Smooth near zero like MSE, calm about outliers like L1.""",
    visual=Loss("pred", "target", "per", "loss", kind="huber", total="total", count="n"),
    slide=["`nn.HuberLoss(delta=1.0)`", "|e| < delta: 0.5 e²; else delta (|e| - 0.5 delta)",
           "Quadratic near 0, linear for outliers"],
)
def huber(device):
    pred = torch.tensor([0.5, 1.8, -0.3, 3.4, 1.0], device=device)
    target = torch.tensor([0.0, 2.0, 0.0, 1.0, 1.0], device=device)
    delta = 1.0
    per = nn.HuberLoss(reduction="none", delta=delta)(pred, target)
    loss = nn.HuberLoss(delta=delta)(pred, target)
    e = pred - target
    expect(torch.allclose(per, torch.where(e.abs() < delta, 0.5 * e**2, delta * (e.abs() - 0.5 * delta))),
           "quadratic inside delta, linear outside")
    expect(per[3] < nn.MSELoss(reduction="none")(pred, target)[3], "the outlier costs less than under MSE")
    return {"pred": pred, "target": target, "per": per, "total": per.sum(), "loss": loss, "n": per.numel(),
            "delta": delta, "big_cost": f"{per[3].item():.1f}"}


@lesson.beat(
    "Cross-entropy for classes",
    narration="""For classes, the model outputs raw scores called logits: {{ n }} samples, {{ c }} classes. |
    Log softmax turns each row into log probabilities, and the target picks out one entry per row. | Each
    sample's loss is minus that log probability. | The mean is {{ loss }}. Inside, for class targets like these,
    cross entropy is exactly negative log likelihood applied to log softmax, as torch confirms.""",
    visual=Loss("logits", "target", "per", "loss", kind="cross_entropy", logp="logp"),
    slide=["`F.cross_entropy(logits, target)`", "= `F.nll_loss(logits.log_softmax(1), target)`",
           "Loss per sample: -log p[target]"],
)
def cross_entropy(device):
    logits = torch.randn(4, 3, device=device) * 1.5
    target = torch.tensor([2, 0, 1, 1], device=device)
    logp = logits.log_softmax(dim=1)
    per = F.cross_entropy(logits, target, reduction="none")
    loss = F.cross_entropy(logits, target)
    expect(torch.allclose(per, -logp[torch.arange(4), target]), "each loss is minus the target's log-probability")
    expect(torch.allclose(loss, F.nll_loss(logp, target)), "cross-entropy is NLL of log_softmax")
    expect_each([(4, 3, torch.float32, 0), (8, 5, torch.float64, 1), (16, 10, torch.bfloat16, 2),
                 (1, 2, torch.float32, 3)], ce_is_nll, "cross_entropy is exactly nll_loss of log_softmax")
    n, c = logits.shape
    return {"logits": logits, "target": target, "logp": logp, "per": per, "loss": loss, "n": n, "c": c}


@lesson.beat(
    "BCE with logits",
    narration="""Some questions have several yes or no answers at once: a cat, a hat, a bat? Here {{ n }} images
    with {{ c }} labels each, any number of them true. | Binary cross entropy with logits gives every label its
    own sigmoid and its own loss. | The mean over all {{ total_n }} is {{ loss }}.""",
    visual=Loss("logits", "target", "per", "loss", kind="bce_with_logits"),
    slide=["`nn.BCEWithLogitsLoss()`: sigmoid + BCE in one", "Float targets, same shape as the logits",
           "Multi-label: each output is its own yes/no"],
)
def bce(device):
    logits = torch.randn(2, 3, device=device) * 2
    target = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], device=device)
    per = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    loss = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    expect(torch.allclose(per, -(target * p.log() + (1 - target) * (1 - p).log()), atol=1e-5),
           "each loss is -[y log sigma(x) + (1 - y) log(1 - sigma(x))]")
    expect(torch.allclose(loss, F.binary_cross_entropy(p, target), atol=1e-6), "the same as BCE on sigmoid")
    one = F.binary_cross_entropy_with_logits(logits[0, :1], target[0, :1])
    expect(torch.allclose(one, per[0, 0]), "a single binary question is the case of one label")
    n, c = logits.shape
    return {"logits": logits, "target": target, "per": per, "loss": loss, "n": n, "c": c,
            "total_n": per.numel()}


@lesson.beat(
    "Why the logits version",
    narration="""Why not a sigmoid, then plain BCE loss? Here is one question scored both ways, in float32. |
    Take one logit of {{ logit.item }}, sure of yes, while the target is zero: a confident wrong answer. | Its
    sigmoid rounds to exactly {{ p.item }}. | Plain BCE then needs the log of one minus that, the log of zero;
    torch clamps that log, so the loss sticks at {{ clamped.item }}. | The logits version never rounds a sigmoid,
    and gives the true loss, {{ stable.item }}. | So hand BCE with logits the raw scores, never probabilities.""",
    visual=Show("logit", "p", "clamped", "stable", caption="plain BCE saturates; with logits, exact"),
    slide=["float32: a large logit's sigmoid rounds to exactly one",
           "`F.binary_cross_entropy`: log clamped, loss saturates",
           "`F.binary_cross_entropy_with_logits`: the true loss"],
)
def bce_saturation(device):
    logit = torch.tensor(20.0, device=device)
    target = torch.tensor(0.0, device=device)
    p = torch.sigmoid(logit)
    clamped = F.binary_cross_entropy(p, target)
    stable = F.binary_cross_entropy_with_logits(logit, target)
    expect(bool(p == 1), "in float32 the sigmoid of 20 rounds to exactly 1")
    expect(clamped.item() == 100.0, "plain BCE is stuck at its clamp: the log is clamped at -100")
    expect(torch.allclose(stable, logit), "with logits, the loss is the true 20")
    expect(torch.allclose(F.binary_cross_entropy(torch.sigmoid(logit.double()), target.double()), logit.double()),
           "the sigmoid's rounding is the cause: in float64 plain BCE gives the true loss")
    return {"logit": logit, "p": p, "clamped": clamped, "stable": stable}


@lesson.beat(
    "The price of confidence",
    narration="""How much does one mistake cost? Cross entropy charges minus the log of the probability given to
    the right class. | Confidently wrong, leaving the truth only a sliver, costs the most, and the price rushes
    towards infinity as that probability reaches zero. A shrug, even odds, costs several times less, and sure
    and right costs almost nothing.""",
    visual=Curve("p", "cost", labels=["-log p"], x_label="probability of the true class", y_label="loss"),
    slide=["Loss = -log p(true class)", "p near 1: near 0; p near 0: huge",
           "Confident wrong answers are punished most"],
)
def confidence(device):
    p = torch.linspace(0.01, 1.0, 100, device=device)
    cost = -torch.log(p)
    picks = torch.tensor([0.9, 0.5, 0.01], device=device)
    costs = F.nll_loss(picks.log().unsqueeze(1), torch.zeros(3, dtype=torch.long, device=device),
                       reduction="none")
    expect(torch.allclose(costs, -picks.log()), "the loss is -log p of the true class")
    expect(costs[0] < 0.2 < costs[1], "sure and right costs almost nothing; a shrug costs more")
    expect(costs[2] > 4 * costs[1], "a shrug costs several times less than confidently wrong")
    return {"p": p, "cost": cost}


@lesson.beat(
    "The gradients they send back",
    narration="""The loss's real gift is its gradient. Autograd gives each potion's slope against the error, per
    sample, before a mean divides by the count. | MSE sends back two times the error: huge errors shout. |
    L1 sends only the sign: every error gets the same push. | Huber sends the error itself, clipped at delta,
    here {{ delta }}: big errors speak, but never shout.""",
    visual=Curve("error", "g_mse", "g_l1", "g_huber", labels=["MSE", "L1", "Huber"], x_label="error",
                 y_label="gradient"),
    slide=["MSE: 2 e", "L1: sign(e)", "Huber: e clipped at delta (all from autograd)",
           "Per sample (`reduction='sum'`); `'mean'` also divides by N"],
)
def gradients(device):
    error = torch.linspace(-4, 4, 81, device=device)
    target = torch.zeros_like(error)
    delta = 2.5
    grads = []
    for loss_fn in (nn.MSELoss(reduction="sum"), nn.L1Loss(reduction="sum"), nn.HuberLoss(reduction="sum",
                                                                                           delta=delta)):
        pred = error.clone().requires_grad_()
        grads.append(torch.autograd.grad(loss_fn(pred, target), pred)[0])
    g_mse, g_l1, g_huber = grads
    expect(torch.allclose(g_mse, 2 * error), "MSE sends back 2 e")
    expect(torch.allclose(g_l1, error.sign()), "L1 sends back sign(e)")
    expect(torch.allclose(g_huber, error.clamp(-delta, delta)), "Huber sends back e clipped at delta")
    pred = error.clone().requires_grad_()
    (g_mean,) = torch.autograd.grad(nn.MSELoss()(pred, target), pred)
    expect(torch.allclose(g_mean, 2 * error / error.numel()), "with reduction='mean' MSE sends back 2 e / N")
    return {"error": error, "g_mse": g_mse, "g_l1": g_l1, "g_huber": g_huber, "delta": delta}


@lesson.beat(
    "The cross-entropy gradient",
    narration="""And cross entropy? Take {{ c }} logits whose true class is {{ target }}; softmax gives these
    probabilities. | The one hot target marks the true class. | Autograd's gradient on the logits is the
    probabilities minus the one hot, up to rounding. The true class gets {{ g_true }}: negative, so gradient
    descent pushes its logit up, and the others down. | So no entry
    passes one in size, however wrong the model is, with a mean or a sum; only class weights above one, with a sum
    reduction, can push it past.""",
    visual=Show("probs", "one_hot", "grad", code=False, caption="logits.grad = softmax(logits) - one_hot"),
    slide=["`F.cross_entropy` on logits", "gradient = softmax(logits) - one_hot",
           "True class pushed up, the rest pushed down"],
)
def ce_gradient(device):
    logits = torch.randn(3, device=device, requires_grad=True)
    target = torch.tensor(1, device=device)
    (grad,) = torch.autograd.grad(F.cross_entropy(logits, target), logits)
    probs = logits.softmax(0).detach()
    one_hot = F.one_hot(target, 3).float()
    expect(torch.allclose(grad, probs - one_hot), "cross-entropy sends back p - one_hot")
    expect(bool(grad[1] < 0) and bool((grad[[0, 2]] > 0).all()), "the true class is pushed up, the rest down")
    expect(bool((grad.abs() <= 1).all()), "each entry of the gradient is at most 1 in size")
    expect_each([(1, 3, 1.0, 0, "mean", False), (4, 10, 30.0, 1, "mean", False), (64, 5, 100.0, 2, "mean", False),
                 (2, 2, 1e4, 3, "mean", False), (4, 10, 30.0, 4, "sum", False), (64, 5, 100.0, 5, "sum", False),
                 (8, 4, 50.0, 6, "mean", True), (32, 3, 1e3, 7, "mean", True)], ce_grad_within_one,
                "with a mean or a sum, and weights under the mean, no gradient entry passes one in size")
    wrong = torch.tensor([[-10.0, 10.0, 0.0], [-10.0, 10.0, 0.0]], device=device, requires_grad=True)
    heavy = torch.tensor([5.0, 1.0, 1.0], device=device)
    (g_heavy,) = torch.autograd.grad(F.cross_entropy(wrong, torch.zeros(2, dtype=torch.long, device=device),
                                                     weight=heavy, reduction="sum"), wrong)
    expect(bool(g_heavy.abs().max() > 4), "class weights above one with a sum reduction push an entry past one")
    return {"probs": probs, "one_hot": one_hot, "grad": grad, "c": logits.numel(), "target": int(target),
            "g_true": f"{grad[1].item():.2f}"}


@lesson.beat(
    "Recap",
    narration="""The potions are bottled! | Mean squared error squares the misses, L1 takes their size, and Huber
    blends the two. | Cross entropy is negative log likelihood on log softmax. | Binary cross entropy with
    logits scores every yes or no label on its own. | A confident wrong answer costs the most. | And each loss
    sends back its own gradient, from two times the error to probabilities minus the target.""",
    visual=Title(heading="What we brewed", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    logits = torch.randn(3, 4, device=device)
    target = torch.tensor([0, 3, 1], device=device)
    expect(torch.allclose(F.cross_entropy(logits, target), F.nll_loss(logits.log_softmax(1), target)), "CE = NLL")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Now, apprentice, a taste test. | Take the logits {{ scores }} and the true class {{ target }}.
    Predict whether the cross entropy lies above or below one, and the sign of each entry of its gradient on
    the logits. Write it down, then ask F dot cross entropy and backward to judge your palate.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["logits `[2.0, 0.5, -1.0]`, target class 2", "Is the loss above or below 1?",
           "Signs of `logits.grad`?"],
)
def challenge(device):
    logits = torch.tensor([[2.0, 0.5, -1.0]], device=device, requires_grad=True)
    target = torch.tensor([2], device=device)
    loss = F.cross_entropy(logits, target)
    (grad,) = torch.autograd.grad(loss, logits)
    expect(loss.item() > 1 and grad[0, 2] < 0 < grad[0, 0], "above 1; target pushed up")
    return {"scores": logits.detach()[0].tolist(), "target": int(target)}
