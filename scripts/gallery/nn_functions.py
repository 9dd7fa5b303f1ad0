"""Gallery beats for torch.nn's functions: Linear, activations, softmax, dropout, and curves of traced series.
Each computes with real torch.nn / torch.nn.functional and checks what its picture claims with `expect`."""

import torch
import torch.nn.functional as F  # noqa: N812  (the name every torch user writes)
from torch import nn

from render.curves import sample
from render.lesson import Lesson, expect
from scenes.vocabulary import Activation, Curve, Dropout, Linear, Softmax

lesson = Lesson(
    objectives=["See the torch.nn function visuals once"],
    recap=["Every curve, bar and cell came from torch"],
    seed=12,
)


def beat(title, visual, name=None):
    return lesson.beat(title, narration=f"The {visual.kind} visual.", visual=visual, name=name)


@beat("Linear on a batch of tokens", Linear("x", "W", "b", "y"))
def linear_tokens(device):
    layer = nn.Linear(4, 3).to(device)
    x = torch.randn(2, 3, 4, device=device)  # (batch, tokens, features)
    with torch.no_grad():
        y = layer(x)
    W, b = layer.weight.detach(), layer.bias.detach()
    expect(torch.allclose(y, x @ W.T + b), "a Linear layer computes x @ W.T + b")
    return {"x": x, "W": W, "b": b, "y": y}


@beat("Linear: query, key and value", Linear("x", "Wq", "Wk", "Wv", "q", "k", "v", qkv=True))
def linear_qkv(device):
    x = torch.randn(3, 4, device=device)  # 3 tokens of 4 features
    to_q, to_k, to_v = (nn.Linear(4, 2, bias=False).to(device) for _ in range(3))
    with torch.no_grad():
        q, k, v = to_q(x), to_k(x), to_v(x)
    expect(torch.allclose(q, x @ to_q.weight.T), "q is x @ Wq.T")
    return {"x": x, "Wq": to_q.weight.detach(), "Wk": to_k.weight.detach(), "Wv": to_v.weight.detach(),
            "q": q, "k": k, "v": v}


@beat("Activations overlaid",
      Activation("x", "relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid",
                 labels=["ReLU", "LeakyReLU(0.1)", "GELU", "SiLU", "Tanh", "Sigmoid"],
                 inputs="z", outputs=["relu_z", "leaky_z", "gelu_z"]))
def activation_overlay(device):
    functions = {"relu": nn.ReLU(), "leaky_relu": nn.LeakyReLU(0.1), "gelu": nn.GELU(), "silu": nn.SiLU(),
                 "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid()}
    curves = {}
    for name, fn in functions.items():
        x, curves[name] = sample(fn, -4, 4, 161, device)
    z = torch.tensor([-2.5, -0.75, 0.5, 2.0], device=device)
    return {"x": x, **curves, "z": z, "relu_z": F.relu(z), "leaky_z": F.leaky_relu(z, 0.1), "gelu_z": F.gelu(z)}


@beat("GELU, inputs to outputs", Activation("x", "gelu", labels=["GELU"], inputs="z", outputs="gelu_z"))
def activation_gelu(device):
    x, y = sample(F.gelu, -3, 3, 121, device)
    z = torch.tensor([-2.0, -1.0, -0.25, 0.5, 1.5], device=device)
    return {"x": x, "gelu": y, "z": z, "gelu_z": F.gelu(z)}


@beat("What ReLU zeroes", Activation("z", "a", grid=True, labels=["ReLU"]))
def activation_relu_grid(device):
    z = torch.randn(3, 4, device=device)
    a = nn.ReLU()(z)
    expect(torch.equal(a == 0, z <= 0), "ReLU zeroes exactly the values that are not positive")
    return {"z": z, "a": a}


@beat("Softmax: exp, sum, divide", Softmax("logits", "probs", exp="e", total="s", check="probs_sum"))
def softmax_steps(device):
    logits = torch.tensor([2.0, 1.0, 0.1, -1.0], device=device)
    e = logits.exp()
    s = e.sum()
    probs = F.softmax(logits, dim=-1)
    expect(torch.allclose(probs, e / s), "softmax is exp divided by its sum")
    return {"logits": logits, "e": e, "s": s, "probs": probs, "probs_sum": probs.sum()}


@beat("Softmax at three temperatures", Softmax("logits", "p_cold", "p_one", "p_hot", temperature="T"))
def softmax_temperature(device):
    logits = torch.tensor([2.0, 1.0, 0.1, -1.0], device=device)
    T = torch.tensor([0.5, 1.0, 2.0], device=device)
    p_cold, p_one, p_hot = (F.softmax(logits / t, dim=-1) for t in T)
    expect(p_cold.max() > p_one.max() > p_hot.max(), "a lower temperature sharpens the distribution")
    return {"logits": logits, "T": T, "p_cold": p_cold, "p_one": p_one, "p_hot": p_hot}


@beat("Softmax with a causal mask", Softmax("scores", "probs", exp="e", total="s", check="probs_sum", row=1))
def softmax_masked(device):
    scores = torch.randn(4, 4, device=device)
    future = torch.triu(torch.ones(4, 4, dtype=torch.bool, device=device), diagonal=1)
    scores = scores.masked_fill(future, float("-inf"))
    e = scores.exp()
    probs = F.softmax(scores, dim=-1)
    expect(torch.equal(probs[future], torch.zeros_like(probs[future])), "masked entries get probability 0")
    return {"scores": scores, "e": e, "s": e.sum(dim=-1), "probs": probs, "probs_sum": probs.sum(dim=-1)}


@beat("Dropout in training and eval",
      Dropout("x", "mask", "y", p="p", scale="scale", mean="avg", draws="draws", eval="y_eval"))
def dropout_train_eval(device):
    x = torch.arange(1.0, 9.0, device=device).reshape(2, 4)
    drop = nn.Dropout(p=0.5)
    torch.manual_seed(5)  # a draw that drops half of the eight values, as p promises on average
    y = drop(x)
    mask = (y != 0).long()
    scale = 1 / (1 - drop.p)
    expect(torch.equal(y, x * mask * scale), "the survivors are scaled by 1/(1-p)")
    draws = 10000
    avg = drop(x.expand(draws, 2, 4)).mean(dim=0)
    expect(torch.allclose(avg, x, rtol=0.05), "averaged over many draws, dropout keeps the mean")
    drop.eval()
    y_eval = drop(x)
    expect(torch.equal(y_eval, x), "in eval mode dropout is the identity")
    return {"x": x, "mask": mask, "y": y, "p": drop.p, "scale": scale, "avg": avg, "draws": draws,
            "y_eval": y_eval}


@beat("Curve: loss against step", Curve("step", "loss", y_label="MSE loss"))
def curve_loss(device):
    x = torch.linspace(-1, 1, 32, device=device).unsqueeze(1)
    target = 3 * x + 0.5
    model = nn.Linear(1, 1).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = F.mse_loss(model(x), target)
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    loss = torch.stack(losses)
    expect(loss[-1] < loss[0], "the loss falls as the steps go by")
    return {"step": torch.arange(40, device=device), "loss": loss}


@beat("Curve: output against a parameter",
      Curve("T", "p_top", "p_low", labels=["top class", "lowest class"], x_label="temperature T",
            y_label="probability"))
def curve_parameter(device):
    logits = torch.tensor([2.0, 1.0, 0.1, -1.0], device=device)
    T = torch.linspace(0.25, 4.0, 61, device=device)
    probs = F.softmax(logits / T[:, None], dim=-1)
    return {"T": T, "p_top": probs[:, 0], "p_low": probs[:, -1]}
