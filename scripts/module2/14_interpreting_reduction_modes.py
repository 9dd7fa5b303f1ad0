"""2.5.3 Reduction Rituals & Ignore Indices.

reduction none, sum and mean; ignore_index (default -100) makes the mean divide by the targets not ignored;
class weights make it divide by the summed weights of the targets; padding tokens in a sequence loss.
"""

import torch
import torch.nn.functional as F  # noqa: N812  (the name every torch user writes)
from torch import nn

from render.lesson import Lesson, expect
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
    }}. Repeat the batch twice and the mean stays put while the sum doubles: with mean, the loss and its
    gradient keep their size whatever the batch size.""",
    visual=Loss("logits", "target", "per", "loss", kind="cross_entropy", logp="logp", total="total", count="n"),
    slide=["`reduction='sum'`: add them all", "`reduction='mean'` (default): sum / count",
           "Mean does not grow with the batch size"],
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
    twice = torch.cat([logits, logits]), torch.cat([target, target])
    expect(torch.allclose(F.cross_entropy(*twice), loss), "a batch repeated twice has the same mean")
    expect(torch.allclose(F.cross_entropy(*twice, reduction="sum"), 2 * total), "and twice the sum")
    return {"logits": logits, "target": target, "logp": logp, "per": per, "total": total, "loss": loss,
            "n": per.numel()}


@lesson.beat(
    "ignore_index",
    narration="""Some targets are unworthy: set them to the ignore index, {{ default }} by default. Here
    one of {{ n }} targets is {{ ignored }}. | Its row is greyed; the others pick their log probabilities. | The
    ignored sample's loss is exactly zero. | The sum adds only the counted losses: {{ total }}. | And the mean
    divides by the {{ counted }} counted targets, not by {{ n }}: {{ loss }}. Ignore every target and that
    division is zero over zero: the mean comes back as not a number.""",
    visual=Loss("logits", "target", "per", "loss", kind="cross_entropy", logp="logp", ignore_index=-100,
                total="total", count="counted"),
    slide=["`ignore_index=-100` is the default", "Ignored targets: loss 0, not counted",
           "mean = sum / number of targets not ignored", "All ignored: 0 / 0, the mean is NaN"],
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
    nothing = torch.full_like(target, -100)
    expect(bool(torch.isnan(F.cross_entropy(logits, nothing))), "all ignored: the mean is NaN")
    expect(F.cross_entropy(logits, nothing, reduction="sum") == 0, "while the sum is 0")
    return {"logits": logits, "target": target, "logp": logp, "per": per, "total": total, "loss": loss,
            "counted": int(counted), "n": len(target), "ignored": int(target[2]),
            "default": nn.CrossEntropyLoss().ignore_index}


@lesson.beat(
    "Class weights",
    narration="""Rare classes can be given more weight: here {{ w }}, one per class. | The log probabilities, and
    each target's entry. | Each loss is multiplied by the weight of its target's class. | The weighted losses
    add up to {{ total }}. | And here is the surprise: with class-index targets, the mean divides by the
    summed weights of the targets, {{ weight_sum }}, not by the {{ n }} samples: a true weighted average.
    Probability targets divide by the samples instead.""",
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
    is padding, marked {{ ignored }} in the targets. | Flatten the targets to one line of {{ positions }}, and
    the logits to one row per token. | Cross entropy with reduction none gives a loss per token, zero at every
    pad. | The mean divides by the {{ real }} real tokens, not all {{ positions }} positions: {{ loss }}. |
    The same as masking by hand, as torch confirms.""",
    visual=Show("target", "flat_target", "per", "loss", code=False,
                caption="mean = sum over real tokens / number of real tokens"),
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
    return {"target": target, "flat_target": flat_target, "per": per, "loss": loss, "b": b, "t": t,
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
