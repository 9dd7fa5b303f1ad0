"""2.2.2 Activation Elixirs.

Why a nonlinearity matters (two stacked Linears collapse into one), ReLU, LeakyReLU, GELU (exact and tanh),
SiLU, Tanh and Sigmoid on real inputs, their gradients and the dead ReLU, and Softmax (dim, sum, temperature).
"""

import torch
import torch.nn.functional as F  # noqa: N812  (the name every torch user writes)
from torch import nn

from render.lesson import Lesson, expect, expect_each
from scenes.vocabulary import Activation, Curve, Show, Softmax, Title

lesson = Lesson(
    objectives=[
        "Why a nonlinearity: stacked Linears collapse",
        "ReLU, LeakyReLU, GELU, SiLU, Tanh, Sigmoid",
        "GELU: exact against its tanh approximation",
        "Each function's gradient, and the dead ReLU",
        "Softmax: its dim, its sum, its temperature",
    ],
    recap=[
        "Without activations, stacked Linears are one Linear",
        "ReLU cuts negatives; GELU and SiLU bend smoothly",
        "Tanh and Sigmoid squash, and their slopes fade",
        "Zero slope means zero gradient: dead ReLUs",
        "Softmax(dim=-1): rows of probabilities summing to one",
        "Temperature: low sharpens, high flattens",
    ],
    challenge="Merge two stacked Linear layers into one by hand (weight W2 @ W1, bias W2 @ b1 + b2) and "
    "check it with torch.allclose(..., atol=1e-5); then put a ReLU between and find an input where your merged "
    "layer is wrong.",
    seed=2,
)

NAMES = ["relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid"]
LABELS = ["ReLU", "LeakyReLU(0.1)", "GELU", "SiLU", "Tanh", "Sigmoid"]


def is_affine(f, a, b):
    """An affine map keeps f(a) + f(b) = f(a + b) + f(0): the sum rule every Linear layer obeys."""
    return torch.allclose(f(a) + f(b), f(a + b) + f(torch.zeros_like(a)), atol=1e-5)


def moved_by_step(layer, **options):
    """Whether one SGD step with these options (its gradients as they are) moves the layer's parameters; the
    parameters are put back afterwards, so the beat's later code sees them unchanged."""
    before = [p.detach().clone() for p in layer.parameters()]
    torch.optim.SGD(layer.parameters(), lr=0.1, **options).step()
    moved = any(not torch.equal(p, b) for p, b in zip(layer.parameters(), before, strict=True))
    with torch.no_grad():
        for p, b in zip(layer.parameters(), before, strict=True):
            p.copy_(b)
    return moved


def keeps_order(logits, t, dtype):
    """Whether softmax(logits / t) never ranks a smaller logit above a larger one (float rounding may tie)."""
    order = logits.argsort(descending=True)
    p = F.softmax(logits.to(dtype) / t, dim=-1).float()[order]
    return bool((p[:-1] >= p[1:]).all())


def squashed(v):
    """Whether tanh(v) lies within -1..1 and sigmoid(v) within 0..1, ends included."""
    t, s = torch.tanh(v), torch.sigmoid(v)
    return bool((t.abs() <= 1).all() and (s >= 0).all() and (s <= 1).all())


@lesson.beat(
    "Activation elixirs",
    narration="""Gather round the bubbling flasks, apprentices! Linear layers alone are dull brutes; it takes an
    activation elixir to bring them to life. | We will see why a network needs a nonlinearity at all, | taste
    six classic potions, | compare two recipes for GELU, | watch their gradients, and witness a dead ReLU, | and
    brew probabilities with softmax.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "Why a nonlinearity",
    narration="""Why do we need activations at all? Stack two Linear layers with nothing between, and you have
    built, at great expense, one Linear layer: the weights multiply into a single matrix, and the biases fold
    together. | Here are the stacked layers' outputs, | and the single merged layer's: the same numbers, up to
    float rounding. | Slip a ReLU between them, and the outputs change: the merged layer no longer matches, and
    no single Linear layer can. That bend is what lets deep networks draw curves.""",
    visual=Show("y_stack", "y_one", "y_relu"),
    slide=["`second(first(x))` is one Linear:", "weight `W2 @ W1`, bias `W2 @ b1 + b2`",
           "A ReLU between breaks the collapse"],
)
def collapse(device):
    first = nn.Linear(3, 5).to(device)
    second = nn.Linear(5, 2).to(device)
    x = torch.randn(4, 3, device=device)
    with torch.no_grad():
        y_stack = second(first(x))
        W = second.weight @ first.weight
        b = second.weight @ first.bias + second.bias
        y_one = x @ W.T + b
        y_relu = second(torch.relu(first(x)))
        expect(torch.allclose(y_stack, y_one, atol=1e-6), "two stacked Linears collapse into one")
        expect(not torch.allclose(y_relu, y_one, atol=1e-3), "with a ReLU between, the merged layer no longer matches")
        expect(not is_affine(lambda v: second(torch.relu(first(v))), x, -x), "with a ReLU between, no Linear fits")
    return {"y_stack": y_stack, "y_one": y_one, "y_relu": y_relu}


@lesson.beat(
    "The potion cabinet",
    narration="""Here is the potion cabinet, each function run by torch from minus {{ lim }} to plus {{ lim }}.
    ReLU: negatives become zero, positives pass untouched. | Leaky ReLU keeps a small slope of {{ slope }} for
    negatives; we chose it, the default is ten times smaller. | GELU: a smooth ReLU, with a little dip below
    zero. | SiLU, x times sigmoid of x, a close cousin. | Tanh squashes into minus one to one. | Sigmoid
    squashes into zero to one. | And real inputs, {{ z }}, through the first three.""",
    visual=Activation("x", *NAMES, labels=LABELS, inputs="z", outputs=["relu_z", "leaky_z", "gelu_z"]),
    slide=["`nn.ReLU()`, `nn.LeakyReLU(0.1)`, `nn.GELU()`", "`nn.SiLU()`, `nn.Tanh()`, `nn.Sigmoid()`",
           "Tanh within ±1, Sigmoid within 0..1, ends included"],
)
def cabinet(device):
    cabinet = {"relu": nn.ReLU(), "leaky_relu": nn.LeakyReLU(0.1), "gelu": nn.GELU(), "silu": nn.SiLU(),
               "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid()}
    x = torch.linspace(-4, 4, 161, device=device)
    curves = {name: fn(x) for name, fn in cabinet.items()}
    z = torch.tensor([-2.5, -0.75, 0.5, 2.0], device=device)
    expect_each([torch.float32, torch.float16, torch.bfloat16], lambda dt: squashed(x.to(dt) * 30),
                "tanh stays within -1..1 and sigmoid within 0..1")
    expect(torch.tanh(torch.tensor(10.0)) == 1 and torch.sigmoid(torch.tensor(17.0)) == 1
           and torch.sigmoid(torch.tensor(-104.0)) == 0, "in float32, large inputs round to exactly the ends")
    expect(nn.LeakyReLU().negative_slope * 10 == cabinet["leaky_relu"].negative_slope,
           "the default slope is ten times smaller than ours")
    expect(torch.allclose(curves["silu"], x * torch.sigmoid(x)), "SiLU is x times sigmoid(x)")
    expect(torch.equal(F.relu(z), z.clamp(min=0)), "ReLU zeroes the negatives")
    return {"x": x, **curves, "z": z, "relu_z": F.relu(z), "leaky_z": F.leaky_relu(z, 0.1), "gelu_z": F.gelu(z),
            "lim": x.max().item(), "slope": cabinet["leaky_relu"].negative_slope}


@lesson.beat(
    "GELU, two recipes",
    narration="""GELU comes in two recipes. The exact one weighs x by the chance that a standard normal variable
    falls below it. | The tanh approximation, a cheaper fit from the original paper, is drawn on top and hides
    the exact curve: over this whole range the two differ by less than a thousandth. | At our inputs, to four
    decimals, they differ at most in the last digit. Pass
    approximate equals tanh to pick the second recipe, for instance to match a model trained with it.""",
    visual=Activation("x", "exact", "approx", labels=["GELU", "GELU(approximate='tanh')"], inputs="z",
                      outputs=["exact_z", "approx_z"], digits=4),
    slide=["`nn.GELU()`: x times the normal CDF of x", "`nn.GELU(approximate='tanh')`: a fast fit",
           "Nearly equal; match the one a model used"],
)
def gelu_recipes(device):
    x = torch.linspace(-4, 4, 161, device=device)
    exact, approx = nn.GELU()(x), nn.GELU(approximate="tanh")(x)
    z = torch.tensor([-2.0, -0.5, 0.5, 2.0], device=device)
    expect(torch.allclose(exact, x * torch.distributions.Normal(0.0, 1.0).cdf(x), atol=1e-6),
           "GELU is x times the normal CDF")
    expect(0 < (exact - approx).abs().max() < 1e-3, "the two recipes differ by less than a thousandth")
    expect(((F.gelu(z) * 1e4).round() - (F.gelu(z, approximate="tanh") * 1e4).round()).abs().max() <= 1,
           "at the inputs, to the four decimals shown, they differ at most in the last digit")
    return {"x": x, "exact": exact, "approx": approx, "z": z, "exact_z": F.gelu(z),
            "approx_z": F.gelu(z, approximate="tanh")}


@lesson.beat(
    "Their gradients",
    narration="""Training runs on gradients: let autograd measure each smooth potion's slope, from minus
    {{ lim }} to plus {{ lim }}. | GELU's slope dips below zero on the left, rises past one, then settles
    to {{ gelu_end }} at the right edge. | SiLU's dips and climbs past one too, and ends at
    {{ silu_end }}. | Tanh's peaks in the middle, at x equals zero, and fades away on both sides. | Sigmoid's
    peak is only a quarter of Tanh's. Stack many sigmoids and the gradient can shrink layer after layer: one
    reason ReLU and its kin took over.""",
    visual=Curve("x", "d_gelu", "d_silu", "d_tanh", "d_sigmoid", labels=["GELU'", "SiLU'", "Tanh'", "Sigmoid'"],
                 y_label="slope"),
    slide=["Slopes from `torch.autograd.grad`", "GELU and SiLU: smooth, peaking past one",
           "Sigmoid's slope is at most a quarter"],
)
def gradients(device):
    x = torch.linspace(-4, 4, 161, device=device, requires_grad=True)
    functions = {"relu": F.relu, "gelu": F.gelu, "silu": F.silu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
    slopes = {}
    for name, fn in functions.items():
        slopes[name] = torch.autograd.grad(fn(x).sum(), x)[0]
    expect(torch.allclose(slopes["sigmoid"], torch.sigmoid(x) * (1 - torch.sigmoid(x))), "sigmoid's slope is s(1 - s)")
    expect(set(slopes["relu"].unique().tolist()) == {0.0, 1.0}, "ReLU's slope is 0 or 1")
    expect(slopes["gelu"].max() > 1 and slopes["silu"].max() > 1, "GELU's and SiLU's slopes pass one")
    expect(slopes["gelu"].min() < 0 and slopes["silu"].min() < 0, "GELU's and SiLU's slopes dip below zero")
    expect(x[slopes["tanh"].argmax()].abs() < 0.05 and x[slopes["sigmoid"].argmax()].abs() < 0.05, "peaks at zero")
    expect(torch.isclose(slopes["sigmoid"].max(), slopes["tanh"].max() / 4), "sigmoid's peak is a quarter of tanh's")
    expect(bool((slopes["sigmoid"] <= 0.25).all()), "sigmoid's slope is at most a quarter")
    return {"x": x, **{f"d_{n}": g for n, g in slopes.items() if n != "relu"}, "lim": x.max().item(),
            "gelu_end": round(slopes["gelu"][-1].item(), 2), "silu_end": round(slopes["silu"][-1].item(), 2)}


@lesson.beat(
    "The dead ReLU",
    narration="""A tragedy, apprentices. Suppose a wild update shoves a layer's biases far below zero. | Here are its
    inputs to the ReLU for a whole batch: every value negative. | ReLU zeroes them all, and its slope there
    is zero, | so backward sends exactly zero gradient to the weights. If every input lands below zero, the
    neuron is dead: plain gradient steps never move it; only something else, an upstream layer,
    momentum or weight decay, can revive it. | A Leaky ReLU, fed the same inputs, still passes
    a gradient.""",
    visual=Show("pre", "post", "relu_grad", "leaky_grad"),
    slide=["All inputs negative -> all outputs 0", "Slope 0 -> `weight.grad` is all zeros",
           "LeakyReLU keeps a gradient flowing"],
)
def dead_relu(device):
    layer = nn.Linear(4, 3).to(device)
    with torch.no_grad():
        layer.bias.fill_(-5.0)
    x = torch.randn(4, 4, device=device)
    pre = layer(x)
    post = F.relu(pre)
    post.sum().backward()
    relu_grad = layer.weight.grad.clone()
    expect(bool((pre < 0).all()), "every input to the ReLU is negative")
    expect(bool((post == 0).all()), "ReLU zeroes them all")
    expect(bool((relu_grad == 0).all()) and bool((layer.bias.grad == 0).all()),
           "the weights (and biases) get exactly zero gradient")
    expect(not moved_by_step(layer), "a plain gradient step leaves the dead neuron where it is")
    expect(moved_by_step(layer, weight_decay=0.1), "weight decay still moves it")
    layer.zero_grad()
    F.leaky_relu(layer(x), 0.1).sum().backward()
    leaky_grad = layer.weight.grad
    expect(bool((leaky_grad != 0).all()), "LeakyReLU still passes a gradient")
    return {"pre": pre, "post": post, "relu_grad": relu_grad, "leaky_grad": leaky_grad}


@lesson.beat(
    "Softmax",
    narration="""Softmax turns scores into probabilities. Here is the first row of a batch of logits. |
    Exponentiate: every value turns positive, and big ones grow bigger. | Add them up. | Divide each by that
    sum, and the row sums to {{ row_sum }}. Mind the dim: softmax over dim minus one normalises each row of
    scores. Dim zero would normalise the columns instead, a classic silent bug.""",
    visual=Softmax("logits", "probs", exp="e", total="s", check="probs_sum"),
    slide=["`F.softmax(logits, dim=-1)`", "exp, then divide by the sum", "Each row sums to one; dim matters"],
)
def softmax(device):
    logits = torch.tensor([[2.0, 1.0, 0.1, -1.0], [0.5, 0.5, 3.0, -2.0]], device=device)
    e = logits.exp()
    s = e.sum(dim=-1)
    probs = F.softmax(logits, dim=-1)
    expect(torch.allclose(probs, e / s[:, None]), "softmax is exp divided by its row sum")
    expect(torch.allclose(probs.sum(dim=-1), torch.ones(2, device=device)), "each row sums to one")
    expect(torch.allclose(F.softmax(logits, dim=0).sum(dim=0), torch.ones(4, device=device)), "dim=0: columns")
    return {"logits": logits, "e": e, "s": s, "probs": probs, "probs_sum": probs.sum(dim=-1),
            "row_sum": probs.sum(dim=-1)[0].item()}


@lesson.beat(
    "Softmax temperature",
    narration="""One more ingredient: temperature. Divide the logits by T before the softmax. | At T equals {{
    T[0] }}, the potion turns cold and sharp: the top class grabs {{ top_cold }} of the probability. | At T equals
    {{ T[1] }}, plain softmax: {{ top_one }}. | At T equals {{ T[2] }}, it runs hot and flat: only {{ top_hot }}.
    Language models sample with exactly this knob.""",
    visual=Softmax("logits", "p_cold", "p_one", "p_hot", temperature="T"),
    slide=["`F.softmax(logits / T, dim=-1)`", "T < 1 sharpens; T > 1 flattens",
           "Any T > 0 keeps the order (extremes may tie)"],
)
def temperature(device):
    logits = torch.tensor([2.0, 1.0, 0.1, -1.0], device=device)
    T = torch.tensor([0.5, 1.0, 2.0], device=device)
    p_cold, p_one, p_hot = (F.softmax(logits / t, dim=-1) for t in T)
    expect(p_cold.max() > p_one.max() > p_hot.max(), "a lower temperature sharpens the distribution")
    expect_each([0.05, 0.5, 2.0, 10.0],
                lambda t: torch.equal(F.softmax(logits / t, dim=-1).argsort(), logits.argsort()),
                "moderate temperatures keep the ranking strictly")
    expect_each([(t, dt, seed) for t in (0.01, 0.5, 2.0, 1e6) for dt in (torch.float32, torch.float16, torch.bfloat16)
                 for seed in (0, 1)],
                lambda c: keeps_order(torch.randn(8, generator=torch.Generator().manual_seed(c[2])) * 5, c[0], c[1]),
                "any positive temperature keeps the order; extremes may round into ties")
    return {"logits": logits, "T": T, "p_cold": p_cold, "p_one": p_one, "p_hot": p_hot,
            "top_cold": p_cold.max().item(), "top_one": p_one.max().item(), "top_hot": p_hot.max().item()}


@lesson.beat(
    "Recap",
    narration="""The elixirs are brewed! | Without activations, stacked Linear layers collapse into one. | ReLU
    cuts negatives, while GELU and SiLU bend smoothly. | Tanh and Sigmoid squash, and their slopes fade. | Zero
    slope means zero gradient: beware the dead ReLU. | Softmax over the last dim gives rows of probabilities. |
    And temperature sharpens or flattens them.""",
    visual=Title(heading="What we brewed", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    expect_each([torch.linspace(-3, 3, 61, device=device, dtype=dt) for dt in (torch.float32, torch.bfloat16)],
                lambda g: torch.equal(F.relu(g) == 0, g <= 0), "ReLU zeroes exactly the non-positive inputs")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Your trial, apprentice. | Stack two Linear layers and merge them into one by hand: the weight
    is the second weight times the first, and the bias is the second weight times the first bias, plus the
    second bias. Check it with allclose, with a small tolerance for float rounding. Then slip a ReLU between
    them and hunt for an input where your merged layer gives the wrong answer.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["Merge two Linears: `W2 @ W1`, `W2 @ b1 + b2`", "Check with `torch.allclose(..., atol=1e-5)`",
           "Add a ReLU: find where the merge fails"],
)
def challenge(device):
    first, second = nn.Linear(3, 4).to(device), nn.Linear(4, 2).to(device)
    merged = nn.Linear(3, 2).to(device)
    x = torch.randn(5, 3, device=device)
    with torch.no_grad():
        merged.weight.copy_(second.weight @ first.weight)
        merged.bias.copy_(second.weight @ first.bias + second.bias)
        expect(torch.allclose(merged(x), second(first(x)), atol=1e-5), "it can be done")
        expect(not torch.allclose(merged(x), second(F.relu(first(x))), atol=1e-4), "and the ReLU breaks it")
    return {}
