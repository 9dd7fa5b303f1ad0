"""2.5.3 Reduction Rituals & Ignore Indices.

reduction none, sum and mean; ignore_index (default -100) makes the mean divide by the targets not ignored;
class weights make it divide by the summed weights of the targets; padding tokens in a sequence loss.
"""

import torch
import torch.nn.functional as F  # noqa: N812  (the name every torch user writes)
from torch import nn

from render.lesson import Lesson, expect, expect_each
from scenes.vocabulary import Loss, Show, Title

lesson = Lesson(
    objectives=[
        "Keep every loss with reduction='none'",
        "Add them with 'sum', average them with 'mean'",
        "Skip targets with ignore_index (default -100)",
        "Weight classes, and divide by the summed weights",
        "Mask padding tokens out of a sequence loss",
    ],
    recap=[
        "'none': one loss per target; 'sum'; 'mean'",
        "ignore_index: loss 0, and not counted in the mean",
        "Index targets, weight=w: mean = sum / sum of w[target]",
        "Padding -> -100, then flatten (B*T, C) and (B*T,)",
        "The mean is over real tokens, not all positions",
    ],
    challenge="Make any logits of shape (4, 3) and the targets [1, -100, 2, -100]: predict what "
    "F.cross_entropy's mean divides by; then add weight=torch.tensor([1., 2., 3.]) and predict the new "
    "divisor; check both against reduction='none'.",
    seed=14,
)


def samples(device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The 4 samples of 3 classes that 'none' and 'sum and mean' share (their own generator, so both beats
    draw the same logits whatever their seeds)."""
    logits = torch.randn(4, 3, generator=torch.Generator().manual_seed(14)).to(device)
    return logits, torch.tensor([2, 0, 1, 1], device=device)


def scales_gradient(n, reduction, factor, device):
    """Whether the gradient on a weight from a batch of n samples, repeated twice, is `factor` times the gradient
    from the batch once."""
    weight = torch.randn(3, 3, device=device, requires_grad=True)
    x, y = torch.randn(n, 3, device=device), torch.randint(0, 3, (n,), device=device)
    (once,) = torch.autograd.grad(F.cross_entropy(x @ weight, y, reduction=reduction), weight)
    (twice,) = torch.autograd.grad(
        F.cross_entropy(torch.cat([x, x]) @ weight, torch.cat([y, y]), reduction=reduction), weight)
    return torch.allclose(twice, factor * once, atol=1e-6)


def all_ignored(dtype, weighted, device):
    """Whether a batch whose targets are all -100 gives a NaN mean, a zero sum and zero gradients."""
    weight = torch.randn(3, 3, device=device, dtype=dtype, requires_grad=True)
    x, y = torch.randn(2, 3, device=device, dtype=dtype), torch.full((2,), -100, device=device)
    w = torch.tensor([1.0, 2.0, 3.0], device=device, dtype=dtype) if weighted else None
    mean = F.cross_entropy(x @ weight, y, weight=w)
    (grad,) = torch.autograd.grad(mean, weight)
    return bool(mean.isnan()) and F.cross_entropy(x @ weight, y, reduction="sum") == 0 and bool((grad == 0).all())


@lesson.beat(
    "Reduction rituals",
    narration="""Apprentices, a loss function produces a pile of individual pains, one per target. The
    reduction ritual decides how that pile becomes one number. | We will keep every pain with none, | add them
    with sum and average them with mean, | banish unworthy targets with ignore index, | give some classes more
    weight, | and keep padding tokens out of a sequence loss.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "reduction='none'",
    narration="""Here are {{ n }} samples and {{ c }} classes. | With reduction none, cross entropy takes log
    softmax of each row and picks the target's entry, | and hands back all {{ n }} losses, one per sample,
    untouched, shaped like these class-index targets. This is the raw material of every other ritual, and
    handy for inspecting which samples hurt most or for masking them yourself.""",
    visual=Loss("logits", "target", "per", kind="cross_entropy", reduction="none", logp="logp"),
    slide=["`reduction='none'`: one loss per sample", "Index targets: the target's shape",
           "Probability targets `(N, C)`: shape `(N,)`", "Inspect, mask, or weigh them"],
)
def none(device):
    logits, target = samples(device)
    logp = logits.log_softmax(dim=1)
    per = F.cross_entropy(logits, target, reduction="none")
    expect(per.shape == target.shape, "one loss per target")
    soft = logits.softmax(1)
    expect(F.cross_entropy(logits, soft, reduction="none").shape == target.shape != soft.shape,
           "with probability targets, one loss per sample: not the target's shape")
    expect(torch.allclose(per, -logp[torch.arange(4), target]), "each is minus the target's log-probability")
    n, c = logits.shape
    return {"logits": logits, "target": target, "logp": logp, "per": per, "n": n, "c": c}


@lesson.beat(
    "'sum' and 'mean'",
    narration="""The same samples. | Log softmax, and each target's entry. | The per sample losses. | Reduction
    sum adds them: {{ total }}. | Reduction mean, the default, divides that sum by the {{ n }} samples: {{ loss
    }}. Why is mean the default? The next beat shows it.""",
    visual=Loss("logits", "target", "per", "loss", kind="cross_entropy", logp="logp", total="total", count="n"),
    slide=["`reduction='sum'`: add them all", "`reduction='mean'` (default): sum / count"],
)
def sum_and_mean(device):
    logits, target = samples(device)
    logp = logits.log_softmax(dim=1)
    per = F.cross_entropy(logits, target, reduction="none")
    total = F.cross_entropy(logits, target, reduction="sum")
    loss = F.cross_entropy(logits, target)
    expect(torch.allclose(total, per.sum()), "'sum' adds the per-sample losses")
    expect(torch.allclose(loss, total / per.numel()), "'mean' divides the sum by the count")
    expect(torch.equal(per, F.cross_entropy(*samples(device), reduction="none")), "the same samples as before")
    return {"logits": logits, "target": target, "logp": logp, "per": per, "total": total, "loss": loss,
            "n": per.numel()}


@lesson.beat(
    "Why mean is the default",
    narration="""Why is mean the default? Take a batch of four samples, and the same batch twice over, eight
    samples. | The sum over the small batch is {{ sum_small }}, | and over the doubled batch, {{ sum_big }}:
    the sum grows with the batch, and so do its gradients. | The mean over the small batch is {{ mean_small }},
    | and over the doubled batch, the same, {{ mean_big }}: with mean, a bigger batch gives neither a bigger
    loss nor bigger gradients.""",
    visual=Show("sum_small", "sum_big", "mean_small", "mean_big"),
    slide=["Sum: grows with the batch size", "Mean: the same loss and gradient scale",
           "So a learning rate survives a new batch size"],
)
def batch_size(device):
    logits = torch.randn(4, 3, device=device)
    target = torch.tensor([2, 0, 1, 1], device=device)
    big_logits, big_target = torch.cat([logits, logits]), torch.cat([target, target])
    sum_small = F.cross_entropy(logits, target, reduction="sum")
    sum_big = F.cross_entropy(big_logits, big_target, reduction="sum")
    mean_small = F.cross_entropy(logits, target)
    mean_big = F.cross_entropy(big_logits, big_target)
    expect(torch.allclose(sum_big, 2 * sum_small), "the doubled batch doubles the sum")
    expect(torch.allclose(mean_big, mean_small), "and keeps the mean")
    expect_each([(n, "sum", 2.0) for n in (4, 16, 64)] + [(n, "mean", 1.0) for n in (4, 16, 64)],
                lambda case: scales_gradient(*case, device),
                "a doubled batch doubles the gradient with sum, and keeps it with mean")
    return {"sum_small": sum_small, "sum_big": sum_big, "mean_small": mean_small, "mean_big": mean_big}


@lesson.beat(
    "ignore_index",
    narration="""Some targets are unworthy: set them to the ignore index, {{ default }} by default. Here
    one of {{ n }} targets is {{ ignored }}. | Its row is greyed; the others pick their log probabilities. | The
    ignored sample's loss is exactly zero. | The sum adds only the counted losses: {{ total }}. | And the mean
    divides by the {{ counted }} counted targets, not by {{ n }}: {{ loss }}. The ignored target is
    invisible to the loss, and to its gradient.""",
    visual=Loss("logits", "target", "per", "loss", kind="cross_entropy", logp="logp", ignore_index=-100,
                total="total", count="counted"),
    slide=["`ignore_index=-100` is the default", "Ignored targets: loss 0, not counted",
           "mean = sum / number of targets not ignored"],
)
def ignore(device):
    logits = torch.randn(4, 3, device=device)
    target = torch.tensor([2, 0, -100, 1], device=device)
    logp = logits.log_softmax(dim=1)
    per = F.cross_entropy(logits, target, reduction="none")
    loss = F.cross_entropy(logits, target)
    total = per.sum()
    counted = (target != -100).sum()
    expect(nn.CrossEntropyLoss().ignore_index == -100, "the default ignore_index is -100")
    expect(per[2] == 0, "the ignored sample's loss is 0")
    expect(torch.allclose(loss, total / counted), "the mean divides by the non-ignored count")
    expect(not torch.allclose(loss, total / len(target)), "not by all the targets")
    leaf = logits.clone().requires_grad_()
    (grad,) = torch.autograd.grad(F.cross_entropy(leaf, target), leaf)
    expect(bool((grad[2] == 0).all()), "the ignored row gets no gradient")
    return {"logits": logits, "target": target, "logp": logp, "per": per, "total": total, "loss": loss,
            "counted": int(counted), "n": len(target), "ignored": int(target[2]),
            "default": nn.CrossEntropyLoss().ignore_index}


@lesson.beat(
    "When every target is ignored",
    narration="""One trap remains: a batch in which every target is ignored, say a batch made only of
    padding. | Both targets are the ignore index. | The sum has nothing to add: {{ total }}. | And the mean divides
    zero by zero: not a number. Backward still gives zero gradients, but add this loss to a running average
    and the whole average becomes not a number too. Skip such batches, or guard the count.""",
    visual=Show("target", "total", "loss"),
    slide=["All ignored: the sum is 0", "The mean is 0 / 0: NaN", "Gradients stay 0; logged averages break"],
)
def all_ignored_batch(device):
    logits = torch.randn(2, 3, device=device)
    target = torch.tensor([-100, -100], device=device)
    total = F.cross_entropy(logits, target, reduction="sum")
    loss = F.cross_entropy(logits, target)
    expect(bool(torch.isnan(loss)) and total == 0, "all ignored: the mean is NaN, the sum 0")
    expect_each([(dt, weighted) for dt in (torch.float32, torch.float16, torch.bfloat16) for weighted in (False, True)],
                lambda case: all_ignored(*case, device), "NaN mean, zero sum, zero gradients: dtypes and weights")
    return {"target": target, "total": total, "loss": loss}


@lesson.beat(
    "Class weights",
    narration="""Rare classes can be given more weight: here {{ w }}, one per class. | The log probabilities, and
    each target's entry. | Each loss is multiplied by the weight of its target's class. | The weighted losses
    add up to {{ total }}. | And here is the surprise: with class-index targets, the mean divides by the
    summed weights of the targets, {{ weight_sum }}, not by the {{ n }} samples: a true weighted average.""",
    visual=Loss("logits", "target", "per", "loss", kind="cross_entropy", logp="logp", weight="w",
                total="total", count="weight_sum"),
    slide=["`F.cross_entropy(logits, y, weight=w)`", "Each loss times `w[target]`",
           "Index targets: mean = sum / `w[target].sum()`", "Probability targets: mean = sum / N"],
)
def weights(device):
    logits = torch.randn(4, 3, device=device)
    target = torch.tensor([2, 0, 0, 1], device=device)
    w = torch.tensor([2.0, 1.0, 0.5], device=device)
    logp = logits.log_softmax(dim=1)
    per = F.cross_entropy(logits, target, weight=w, reduction="none")
    loss = F.cross_entropy(logits, target, weight=w)
    total = per.sum()
    weight_sum = w[target].sum()
    expect(torch.allclose(per, -w[target] * logp[torch.arange(4), target]), "each loss is w[target] * -logp")
    expect(torch.allclose(loss, total / weight_sum), "the weighted mean divides by the summed target weights")
    expect(not torch.allclose(loss, total / len(target)), "not by the number of samples")
    soft = F.one_hot(target, 3).float() * 0.9 + 0.1 / 3
    soft_per = F.cross_entropy(logits, soft, weight=w, reduction="none")
    expect(torch.allclose(F.cross_entropy(logits, soft, weight=w), soft_per.sum() / len(target)),
           "with probability targets the weighted mean divides by N")
    return {"logits": logits, "target": target, "w": w, "logp": logp, "per": per, "total": total, "loss": loss,
            "weight_sum": weight_sum.item(), "n": len(target)}


@lesson.beat(
    "Padding in a sequence loss",
    narration="""Now a language model: {{ b }} sentences of {{ t }} tokens, but the second is short, so its tail
    is padding, marked {{ ignored }} in the targets. | Flatten the targets to one line of {{
    positions }}; the logits, likewise, to one row per token. | Cross entropy with reduction none gives a loss per
    token, zero at every pad. | The mean divides by the {{ real }} real tokens, not all {{ positions }}
    positions: {{ loss }}. | Masking the pads by hand and dividing by the real count gives the same, {{ by_hand
    }}.""",
    visual=Show("target", "flat_target", "per", "loss", "by_hand", code=False),
    slide=["Targets `(B, T)`: padding set to -100", "`F.cross_entropy(logits.view(-1, C), y.view(-1))`",
           "The mean counts real tokens only"],
)
def padding(device):
    logits = torch.randn(2, 4, 5, device=device)
    target = torch.tensor([[1, 4, 2, 3], [3, 1, -100, -100]], device=device)
    b, t, c = logits.shape
    flat_target = target.view(-1)
    per = F.cross_entropy(logits.view(-1, c), flat_target, reduction="none")
    loss = F.cross_entropy(logits.view(-1, c), flat_target)
    mask = flat_target != -100
    by_hand = (per * mask).sum() / mask.sum()
    expect(bool((per[~mask] == 0).all()), "padding tokens cost 0")
    expect(torch.allclose(loss, by_hand), "the mean equals masking by hand over real tokens")
    expect(torch.allclose(loss, F.cross_entropy(logits.permute(0, 2, 1), target)), "(B, C, T) gives the same")
    return {"target": target, "flat_target": flat_target, "per": per, "loss": loss, "by_hand": by_hand, "b": b,
            "t": t,
            "ignored": int(target[1, -1]),
            "real": int(mask.sum()), "positions": target.numel()}


@lesson.beat(
    "Recap",
    narration="""The rituals are complete! | None keeps every loss, sum adds them, mean averages them. | Ignored
    targets cost zero and are left out of the count. | With class weights, the mean divides by the summed
    weights of the targets. | Padding tokens marked with the ignore index are skipped; flattening only lines
    them up, | so the mean runs over the real tokens only.""",
    visual=Title(heading="What we performed", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    logits = torch.randn(3, 2, device=device)
    target = torch.tensor([1, -100, 0], device=device)
    per = F.cross_entropy(logits, target, reduction="none")
    expect(torch.allclose(F.cross_entropy(logits, target), per.sum() / 2), "mean over the two counted targets")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Now, apprentice, a ritual of your own. | Make any logits for {{ c }} classes, and take the
    targets {{ target }}. Predict what the mean cross entropy divides by. Then add the class weights {{ w }} and
    predict the new divisor. Get the per sample losses with reduction none, combine them as you predicted, and
    let torch confirm both rituals.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["Targets `[1, -100, 2, -100]`", "Mean: divided by what?", "With `weight=[1., 2., 3.]`: by what?"],
)
def challenge(device):
    logits = torch.randn(4, 3, device=device)
    target = torch.tensor([1, -100, 2, -100], device=device)
    w = torch.tensor([1.0, 2.0, 3.0], device=device)
    kept = target != -100
    plain = F.cross_entropy(logits, target, reduction="none")
    expect(torch.allclose(F.cross_entropy(logits, target), plain.sum() / kept.sum()),
           "the mean divides by the targets not ignored")
    per = F.cross_entropy(logits, target, weight=w, reduction="none")
    expect(torch.allclose(F.cross_entropy(logits, target, weight=w), per.sum() / w[target[kept]].sum()),
           "with weights it divides by the weights of the kept targets")
    return {"target": target.tolist(), "w": w.tolist(), "c": logits.shape[1]}
