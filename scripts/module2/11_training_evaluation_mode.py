"""2.4.3 Train vs. Eval: Split Personality Disorders.

train()/eval() set the training flag of every child; Dropout and BatchNorm change behaviour with it; the
running statistics update with momentum and eval uses them; the classic bug of predicting in train mode;
eval() is not no_grad() (nor inference_mode).
"""

import copy

import torch
from torch import nn

from render.lesson import Lesson, expect, expect_each
from scenes.vocabulary import Dropout, ModuleTree, Norm, Show, Title

lesson = Lesson(
    objectives=[
        "See train() and eval() reach every child module",
        "Watch Dropout switch off in eval mode",
        "Watch BatchNorm's running statistics update",
        "See eval mode use the running statistics",
        "Avoid the classic bug, and tell eval() from no_grad()",
    ],
    recap=[
        "model.eval() / model.train() set every .training",
        "Dropout: random zeros and 1/(1-p) only in training",
        "BatchNorm: running = (1 - m) running + m batch",
        "Eval: running statistics, same output every time",
        "eval() changes layers; no_grad() stops the graph",
    ],
    challenge="Build nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5)); run one batch twice in "
    "train mode and twice in eval mode; predict which pairs match and whether the eval output requires grad.",
    seed=11,
)


def small_net(device):
    """A Linear, a BatchNorm and a Dropout: the two layers that behave differently in eval mode."""
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Dropout(0.5)).to(device)


def assigned_by_hand(model):
    """Whether `model.training = False` leaves every submodule below the parent in training mode."""
    model.training = False
    return all(m.training for m in model.modules() if m is not model)


def affine_applies(bn, x, normalised):
    """Whether a copy of eval-mode `bn` with a non-trivial weight and bias gives normalised * weight + bias."""
    bn = copy.deepcopy(bn)
    with torch.no_grad():
        bn.weight.copy_(torch.linspace(0.5, 2.0, bn.num_features))
        bn.bias.copy_(torch.linspace(-1.0, 1.0, bn.num_features))
        return torch.allclose(bn(x), normalised * bn.weight + bn.bias, atol=1e-5)


@lesson.beat(
    "Split personalities",
    narration="""Apprentices, some of our creatures have two personalities: a wild one for training and a calm
    one for predicting. Today we learn to switch between them. | We will see the switch reach every child
    module, | watch Dropout fall silent, | watch BatchNorm keep its running memories, | see eval mode use
    them, | and avoid the classic bug, without confusing eval with no grad.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "One switch for every child",
    narration="""Here is a small network with a BatchNorm and a Dropout inside. Calling eval on the parent walks
    the whole tree and sets the training flag of every module in it, itself included, to false. The tree
    marks only the parent eval: no child differs from it. Beware: assigning model dot training by hand flips
    only the parent. | Then the forward pass runs through each child in order, each in its calm personality.""",
    visual=ModuleTree("model", forward=True),
    slide=["`model.eval()` = `model.train(False)`", "Recurses: every submodule's `.training` flips",
           "`model.training = False` flips only the parent", "`model.train()` switches them all back"],
)
def switch(device):
    model = small_net(device)
    expect(all(m.training for m in model.modules()), "modules start in training mode")
    expect_each([small_net, lambda d: nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout()))],
                lambda make: assigned_by_hand(make(device)), "assigning .training flips only the parent")
    model.eval()
    expect(not any(m.training for m in model.modules()), "eval() reaches every submodule")
    with torch.no_grad():
        model(torch.randn(2, 3, device=device))
    return {"model": model}


@lesson.beat(
    "Dropout's two faces",
    narration="""In training, Dropout with p of {{ p }} zeroes random values. | The random mask decides who
    survives, | and the survivors are multiplied by {{ scale }}, so the expected value stays the same. | In
    eval mode the very same layer does nothing at all: the input passes straight through, every value kept,
    nothing scaled.""",
    visual=Dropout("x", "mask", "y", p="p", scale="scale", eval="y_eval"),
    slide=["Train: zero with probability p, scale by 1/(1-p)", "Eval: the identity",
           "Same layer, switched by `.training`"],
)
def dropout(device):
    x = torch.arange(1.0, 9.0, device=device).reshape(2, 4)
    drop = nn.Dropout(p=0.5)
    torch.manual_seed(5)
    y = drop(x)
    mask = (y != 0).long()
    scale = 1 / (1 - drop.p)
    expect(torch.equal(y, x * mask * scale), "the survivors are scaled by 1/(1-p)")
    drop.eval()
    y_eval = drop(x)
    expect(torch.equal(y_eval, x), "in eval mode dropout is the identity")
    return {"x": x, "mask": mask, "y": y, "p": drop.p, "scale": scale, "y_eval": y_eval}


@lesson.beat(
    "Running statistics",
    narration="""BatchNorm has a memory. In training, each batch nudges its running statistics, buffers, not
    parameters. | The running mean moves a fraction momentum, {{ momentum }}, of the way from its old value to
    this batch's mean. | The running variance does the same, using the unbiased variance of the batch. Nothing
    here is learned by gradients; it is bookkeeping for eval mode.""",
    visual=Norm("mean_before", "batch_mean", "mean_after", "var_before", "batch_var", "var_after", kind="batch",
                mode="update", momentum="momentum"),
    slide=["`running = (1 - momentum) * running + momentum * batch`",
           "momentum = 0.1; variance: unbiased", "Buffers, updated only in train mode"],
)
def running(device):
    m = 0.1
    bn = nn.BatchNorm1d(3, momentum=m, device=device)
    bn(torch.randn(8, 3, device=device) * 2 + 1)
    running_mean, running_var = bn.get_buffer("running_mean"), bn.get_buffer("running_var")
    mean_before, var_before = running_mean.clone(), running_var.clone()
    x = torch.randn(8, 3, device=device) * 3 - 1
    bn(x)
    expect(torch.allclose(running_mean, (1 - m) * mean_before + m * x.mean(0)), "running mean update")
    expect(torch.allclose(running_var, (1 - m) * var_before + m * x.var(0)), "running var uses unbiased var")
    frozen = running_mean.clone()
    bn.eval()
    bn(x)
    expect(torch.equal(running_mean, frozen), "eval mode does not update the running statistics")
    return {"mean_before": mean_before, "batch_mean": x.mean(0), "mean_after": running_mean,
            "var_before": var_before, "batch_var": x.var(0), "var_after": running_var, "momentum": m}


@lesson.beat(
    "Eval uses the memory",
    narration="""After a run of training batches, switch to eval and feed a new batch of {{ n }} samples. |
    Every sample is normalised with one pair of statistics per channel, then scaled by the weight and
    shifted by the bias, here still ones and zeros, | and the statistics are the running ones, not this
    batch's own. | So each sample's output depends only on itself, even for a batch of
    one, where batch statistics would be useless.""",
    visual=Norm("x", "running_mean", "running_var", "y", kind="batch", mode="eval"),
    slide=["Eval: `(x - running_mean) / sqrt(running_var + eps)`", "... `* weight + bias`, as in training",
           "One sample's output ignores the others, even alone"],
)
def eval_mode(device):
    bn = nn.BatchNorm1d(3, device=device)
    steps = 20
    for _ in range(steps):
        bn(torch.randn(16, 3, device=device) * 2 + 1)
    bn.eval()
    x = torch.randn(4, 3, device=device)
    y = bn(x).detach()
    running_mean, running_var = bn.get_buffer("running_mean"), bn.get_buffer("running_var")
    expected = (x - running_mean) / torch.sqrt(running_var + bn.eps)
    expect(torch.allclose(y, expected, atol=1e-5), "eval mode normalises with the running statistics")
    expect(torch.allclose(bn(x[:1]).detach(), y[:1], atol=1e-6), "a batch of one gives the same row")
    expect(bool((bn.weight == 1).all() and (bn.bias == 0).all()), "the weight and bias are still ones and zeros")
    expect(affine_applies(bn, x, expected), "then * weight + bias")
    return {"x": x, "running_mean": running_mean, "running_var": running_var, "y": y, "n": x.shape[0]}


@lesson.beat(
    "The classic bug",
    narration="""Now the classic bug: you forget eval before predicting. The same batch, fed once in train mode,
    | and fed again, gives a different answer: Dropout rolls new dice on every call. BatchNorm adds quieter
    harm: each sample is normalised with its batch mates' statistics, and every call moves the running
    statistics, even under no grad. | Call eval first, and the prediction is the same on every call. | If your
    validation scores jitter, check the mode before anything else!""",
    visual=Show("first", "second", "calm", code=False,
                caption="train mode: a new answer on every call; eval mode: one answer"),
    slide=["Predicting in train mode: random, batch-dependent", "Always `model.eval()` before evaluating",
           "And `model.train()` before training again"],
)
def classic_bug(device):
    model = small_net(device)
    x = torch.randn(4, 3, device=device)
    running = model[1].get_buffer("running_mean").clone()
    with torch.no_grad():
        first, second = model(x), model(x)
        moved = not torch.equal(model[1].get_buffer("running_mean"), running)
        mates = model[:2](torch.cat([x[:2], torch.randn(2, 3, device=device)]))
        alone = model[:2](x)
        model.eval()
        calm, calm_again = model(x), model(x)
    expect(not torch.equal(first, second), "train mode: the same input gives different outputs")
    expect(not torch.allclose(mates[:2], alone[:2]), "train-mode BatchNorm depends on the batch mates")
    expect(moved, "train-mode calls under no_grad still move the running statistics")
    expect(torch.equal(calm, calm_again), "eval mode: the same input gives the same output")
    return {"first": first, "second": second, "calm": calm}


@lesson.beat(
    "eval() is not no_grad()",
    narration="""A dangerous confusion: eval changes how layers behave, but autograd still records every step.
    Here are three predictions: after eval alone, under no grad, and under inference mode. | Does each output
    require grad? After eval alone, {{ requires_grad.values[0] }}; under no grad, {{ requires_grad.values[1] }};
    under inference mode, {{ requires_grad.values[2] }}. | For fast, memory light prediction use both: eval for
    the layers, and no grad or inference mode for autograd.""",
    visual=Show("requires_grad", caption="eval() | no_grad() | inference_mode()"),
    slide=["`eval()`: layer behaviour; autograd still on", "`torch.no_grad()` / `torch.inference_mode()`: no graph",
           "Prediction: `model.eval()` and `inference_mode()`"],
)
def not_no_grad(device):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4),
                          nn.Dropout(0.5)).to(device).eval()
    x = torch.randn(2, 3, device=device)
    eval_only = model(x)
    with torch.no_grad():
        no_grad = model(x)
    with torch.inference_mode():
        inference = model(x)
    flags = [y.requires_grad for y in (eval_only, no_grad, inference)]
    requires_grad = torch.tensor(flags, device=device)
    expect(flags == [True, False, False], "eval() records; no_grad and inference_mode do not")
    expect(inference.is_inference() and not no_grad.is_inference(), "only inference_mode makes inference tensors")
    return {"requires_grad": requires_grad}


@lesson.beat(
    "Recap",
    narration="""Both personalities are under control! | Calling eval or train flips the training flag of every module
    in the tree. | Dropout zeroes and rescales only in training. | BatchNorm's running statistics move by
    momentum in training, | and eval mode normalises with them, the same output every time. | And eval is not no
    grad: for prediction, use both.""",
    visual=Title(heading="What we tamed", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    model = small_net(device)
    model.eval()
    model.train()
    expect(all(m.training for m in model.modules()), "train() switches every module back")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Now, apprentice, a test of split personalities. | Build a Linear of width {{ width }}, a
    BatchNorm and a Dropout of {{ p }}. Run one batch twice in train mode and twice in eval mode. Predict which
    pairs match, and whether the eval output requires grad. Then let torch reveal the truth.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["Linear, BatchNorm1d, Dropout(0.5)", "Twice in train mode, twice in eval mode",
           "Which pairs match? Does it require grad?"],
)
def challenge(device):
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5)).to(device)
    x = torch.randn(8, 4, device=device)
    a, b = model(x), model(x)
    model.eval()
    c, d = model(x), model(x)
    expect(not torch.equal(a, b) and torch.equal(c, d) and c.requires_grad, "train differs, eval matches")
    return {"width": model[0].out_features, "p": model[2].p}
