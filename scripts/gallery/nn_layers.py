"""Gallery: the torch.nn layer and loss visuals (Embedding, PositionalEncoding, Norm, Loss), each beat
computed with real torch.nn modules and functions, its claims checked by torch with `expect`."""

import math

import torch
from torch import nn

from render.lesson import Lesson, expect
from scenes.vocabulary import Embedding, Loss, Norm, PositionalEncoding

lesson = Lesson(
    objectives=["See the torch.nn layer and loss visuals once"],
    recap=["Every number on screen came from torch.nn"],
    seed=12,
)


@lesson.beat(
    "Embedding: a lookup that is a matmul",
    narration="An embedding is a table with one row per token. | Index three picks row three. | Every index picks"
    " its own row. | Multiplying the one-hot matrix by the table gives the same rows. | The padding row is all"
    " zeros.",
    visual=Embedding("idx", "weight", "out", "one_hot", padding_idx=0, equal="same"),
)
def embedding(device):
    emb = nn.Embedding(6, 4, padding_idx=0, device=device)
    idx = torch.tensor([3, 1, 0, 3, 5], device=device)
    out = emb(idx)
    one_hot = nn.functional.one_hot(idx, num_classes=6)
    same = torch.equal(one_hot.float() @ emb.weight, out)
    expect(same, "one_hot(idx) @ weight equals the lookup")
    expect(torch.equal(out[1], emb.weight[1]), "out[1] is row 1 of the weight")
    expect(bool((emb.weight[0] == 0).all()), "the padding row is all zeros")
    return {"idx": idx, "weight": emb.weight, "out": out, "one_hot": one_hot, "same": same}


def sinusoid_table(positions, dim, device):
    """The Transformer's sinusoidal table, built with torch: sin on even dimensions, cos on odd ones."""
    pos = torch.arange(positions, device=device, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(positions, dim, device=device)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe


@lesson.beat(
    "Positional encoding",
    narration="Each position gets a row of sines and cosines. | Each dimension is a wave with its own frequency."
    " | A token's vector is its embedding plus the row of its position.",
    visual=PositionalEncoding("pe", "token", "x", position=3),
)
def positional_encoding(device):
    pe = sinusoid_table(32, 16, device)
    emb = nn.Embedding(10, 16, device=device)
    tokens = torch.tensor([4, 7, 1, 2, 9], device=device)
    with torch.no_grad():
        x = emb(tokens) + pe[: len(tokens)]
    expect(torch.allclose(pe[:, 0], torch.sin(torch.arange(32.0, device=device))), "dimension 0 is sin(position)")
    expect(torch.equal(x[3], emb.weight[tokens[3]].detach() + pe[3]), "x[3] is token 3's embedding plus pe[3]")
    return {"pe": pe, "token": emb.weight[tokens[3]].detach(), "x": x[3]}


@lesson.beat(
    "Cross-entropy with ignore_index",
    narration="Four samples, three classes, and one target set to minus one hundred. | Log-softmax turns each"
    " row of logits into log-probabilities, and the target picks one. | Each loss is minus that"
    " log-probability. | The sum adds the counted losses. | The mean divides by the three counted samples.",
    visual=Loss("logits", "target", "per", "loss", kind="cross_entropy", logp="logp", ignore_index=-100,
                total="total", count="counted"),
)
def cross_entropy_ignore(device):
    logits = torch.randn(4, 3, device=device)
    target = torch.tensor([2, 0, -100, 1], device=device)
    logp = logits.log_softmax(dim=1)
    per = nn.functional.cross_entropy(logits, target, reduction="none", ignore_index=-100)
    loss = nn.functional.cross_entropy(logits, target, ignore_index=-100)
    total = per.sum()
    counted = (target != -100).sum()
    expect(torch.allclose(per[0], -logp[0, 2]), "loss 0 is minus the log-probability of class 2")
    expect(per[2] == 0, "the ignored sample's loss is 0")
    expect(torch.allclose(loss, total / counted), "the mean divides by the 3 counted samples, not 4")
    return {"logits": logits, "target": target, "logp": logp, "per": per, "total": total, "loss": loss,
            "counted": counted}


@lesson.beat(
    "Cross-entropy with class weights",
    narration="Class weights scale each sample's loss by the weight of its target. | The log-probabilities, and"
    " the target's entry. | Each loss is the weight times minus the log-probability. | The weighted losses"
    " add up. | The mean divides by the sum of the targets' weights, not by the number of samples.",
    visual=Loss("logits", "target", "per", "loss", kind="cross_entropy", logp="logp", weight="w",
                total="total", count="weight_sum"),
)
def cross_entropy_weights(device):
    logits = torch.randn(4, 3, device=device)
    target = torch.tensor([2, 0, 0, 1], device=device)
    w = torch.tensor([2.0, 1.0, 0.5], device=device)
    logp = logits.log_softmax(dim=1)
    per = nn.functional.cross_entropy(logits, target, weight=w, reduction="none")
    loss = nn.functional.cross_entropy(logits, target, weight=w)
    total = per.sum()
    weight_sum = w[target].sum()
    expect(torch.allclose(per[0], -w[2] * logp[0, 2]), "loss 0 is w[2] times minus logp[0, 2]")
    expect(torch.allclose(loss, total / weight_sum), "the weighted mean divides by the sum of target weights")
    return {"logits": logits, "target": target, "w": w, "logp": logp, "per": per, "total": total, "loss": loss,
            "weight_sum": weight_sum}


@lesson.beat(
    "BCE with logits",
    narration="Binary targets, one logit each. | Every element gets its own loss. | The mean averages all six.",
    visual=Loss("logits", "target", "per", "loss", kind="bce_with_logits"),
)
def bce_with_logits(device):
    logits = torch.randn(2, 3, device=device) * 2
    target = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], device=device)
    per = nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    loss = nn.functional.binary_cross_entropy_with_logits(logits, target)
    by_hand = -(target * torch.sigmoid(logits).log() + (1 - target) * (1 - torch.sigmoid(logits)).log())
    expect(torch.allclose(per, by_hand, atol=1e-6), "each loss is -[y log sigma(x) + (1-y) log(1-sigma(x))]")
    expect(torch.allclose(loss, per.mean()), "the loss is the mean of the six")
    return {"logits": logits, "target": target, "per": per, "loss": loss}


@lesson.beat(
    "MSE, summed",
    narration="Predictions and targets. | Each squared error. | reduction sum adds them all.",
    visual=Loss("pred", "target", "per", "loss", kind="mse", reduction="sum"),
)
def mse_sum(device):
    pred = torch.tensor([0.5, 1.8, -0.3, 2.4, 1.0], device=device)
    target = torch.tensor([0.0, 2.0, 0.0, 1.0, 1.0], device=device)
    per = nn.MSELoss(reduction="none")(pred, target)
    loss = nn.MSELoss(reduction="sum")(pred, target)
    expect(torch.allclose(per, (pred - target) ** 2), "each loss is the squared error")
    expect(torch.allclose(loss, per.sum()), "reduction='sum' adds them")
    return {"pred": pred, "target": target, "per": per, "loss": loss}


@lesson.beat(
    "Huber loss",
    narration="The same predictions. | Huber is quadratic for small errors and linear for large ones."
    " | The sum of the five. | The mean divides by five.",
    visual=Loss("pred", "target", "per", "loss", kind="huber", total="total", count="n"),
)
def huber(device):
    pred = torch.tensor([0.5, 1.8, -0.3, 2.4, 1.0], device=device)
    target = torch.tensor([0.0, 2.0, 0.0, 1.0, 1.0], device=device)
    per = nn.HuberLoss(reduction="none", delta=1.0)(pred, target)
    loss = nn.HuberLoss(delta=1.0)(pred, target)
    d = pred - target
    quadratic_or_linear = torch.where(d.abs() < 1, 0.5 * d**2, d.abs() - 0.5)
    expect(torch.allclose(per, quadratic_or_linear), "quadratic inside 1, linear outside")
    l1 = nn.L1Loss(reduction="none")(pred, target)
    expect(torch.allclose(per[3], l1[3] - 0.5), "a large error costs |d| - 0.5")
    return {"pred": pred, "target": target, "per": per, "total": per.sum(), "loss": loss, "n": per.numel()}


NORM_STEPS = "The data, one block per sample. | Cells of one colour share their statistics. | torch's statistics," \
    " one per group. | Each value minus its group's mean, over its standard deviation."


@lesson.beat("LayerNorm on (B, T, D)", narration=NORM_STEPS, visual=Norm("x", "mean", "var", "y", kind="layer"))
def layer_norm(device):
    x = torch.randn(2, 3, 4, device=device) * 2 + 1
    ln = nn.LayerNorm(4, device=device)
    y = ln(x)
    mean = x.mean(dim=-1)
    var = x.var(dim=-1, unbiased=False)
    expected = (x - mean[..., None]) / torch.sqrt(var[..., None] + ln.eps)
    expect(torch.allclose(y, expected, atol=1e-5), "LayerNorm normalises each token over its 4 features")
    return {"x": x, "mean": mean, "var": var, "y": y}


@lesson.beat(
    "BatchNorm on (N, C, H, W)", narration=NORM_STEPS, visual=Norm("x", "mean", "var", "y", kind="batch")
)
def batch_norm(device):
    x = torch.randn(2, 3, 2, 2, device=device) + torch.tensor([0.0, 3.0, -2.0], device=device)[:, None, None]
    bn = nn.BatchNorm2d(3, device=device)
    y = bn(x)
    mean = x.mean(dim=(0, 2, 3))
    var = x.var(dim=(0, 2, 3), unbiased=False)
    expected = (x - mean[:, None, None]) / torch.sqrt(var[:, None, None] + bn.eps)
    expect(torch.allclose(y, expected, atol=1e-5), "BatchNorm normalises each channel over N, H and W")
    return {"x": x, "mean": mean, "var": var, "y": y}


@lesson.beat(
    "RMSNorm",
    narration="The data. | Each token has one root mean square. | torch's rms per token. | Each value over its rms.",
    visual=Norm("x", "rms", "y", kind="rms"),
)
def rms_norm(device):
    x = torch.randn(2, 3, 4, device=device) + 0.5
    norm = nn.RMSNorm(4, eps=1e-6, device=device)
    y = norm(x)
    rms = torch.sqrt(x.pow(2).mean(dim=-1) + 1e-6)
    expect(torch.allclose(y, x / rms[..., None], atol=1e-5), "RMSNorm divides by the rms and subtracts no mean")
    return {"x": x, "rms": rms, "y": y}


@lesson.beat(
    "GroupNorm: two groups of channels", narration=NORM_STEPS, visual=Norm("x", "mean", "var", "y", kind="group")
)
def group_norm(device):
    x = torch.randn(2, 4, 1, 3, device=device)
    gn = nn.GroupNorm(2, 4, device=device)
    y = gn(x)
    grouped = x.reshape(2, 2, -1)
    mean = grouped.mean(dim=-1)
    var = grouped.var(dim=-1, unbiased=False)
    expected = ((grouped - mean[..., None]) / torch.sqrt(var[..., None] + gn.eps)).reshape_as(x)
    expect(torch.allclose(y, expected, atol=1e-5), "GroupNorm normalises each sample's group of 2 channels")
    return {"x": x, "mean": mean, "var": var, "y": y}


@lesson.beat(
    "InstanceNorm", narration=NORM_STEPS, visual=Norm("x", "mean", "var", "y", kind="instance")
)
def instance_norm(device):
    x = torch.randn(2, 3, 1, 4, device=device)
    norm = nn.InstanceNorm2d(3, device=device)
    y = norm(x)
    mean = x.mean(dim=(2, 3))
    var = x.var(dim=(2, 3), unbiased=False)
    expected = (x - mean[..., None, None]) / torch.sqrt(var[..., None, None] + norm.eps)
    expect(torch.allclose(y, expected, atol=1e-5), "InstanceNorm normalises each channel of each sample")
    return {"x": x, "mean": mean, "var": var, "y": y}


@lesson.beat(
    "BatchNorm's running statistics",
    narration="In training, BatchNorm keeps running statistics in buffers. | The running mean moves a tenth of"
    " the way to the batch mean. | The running variance does the same, with the unbiased batch variance.",
    visual=Norm("mean_before", "batch_mean", "mean_after", "var_before", "batch_var", "var_after", kind="batch",
                mode="update", momentum="momentum"),
)
def running_update(device):
    bn = nn.BatchNorm1d(3, device=device)
    bn(torch.randn(8, 3, device=device) * 2 + 1)  # a first step, so the buffers are no longer 0 and 1
    mean_before, var_before = bn.running_mean.clone(), bn.running_var.clone()
    x = torch.randn(8, 3, device=device) * 3 - 1
    bn(x)
    m = bn.momentum
    expect(torch.allclose(bn.running_mean, (1 - m) * mean_before + m * x.mean(0)), "running mean update")
    expect(torch.allclose(bn.running_var, (1 - m) * var_before + m * x.var(0)), "running var uses unbiased var")
    return {"mean_before": mean_before, "batch_mean": x.mean(0), "mean_after": bn.running_mean,
            "var_before": var_before, "batch_var": x.var(0), "var_after": bn.running_var, "momentum": m}


@lesson.beat(
    "BatchNorm in eval mode",
    narration="In eval mode the same layer meets a new batch. | Every sample uses one statistic per channel."
    " | They are the running statistics, not this batch's. | So each sample is normalised the same way.",
    visual=Norm("x", "running_mean", "running_var", "y", kind="batch", mode="eval"),
)
def batch_norm_eval(device):
    bn = nn.BatchNorm1d(3, device=device)
    for _ in range(20):
        bn(torch.randn(16, 3, device=device) * 2 + 1)
    bn.eval()
    x = torch.randn(4, 3, device=device)
    y = bn(x)
    expected = (x - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps)
    expect(not bn.training, "the layer is in eval mode")
    expect(torch.allclose(y, expected, atol=1e-5), "eval mode normalises with the running statistics")
    return {"x": x, "running_mean": bn.running_mean, "running_var": bn.running_var, "y": y}
