"""Gallery beats for the training loop: `TrainingLoop` drawn from real trainings (a line fitted by SGD, a small
MLP whose gradient norm clip_grad_norm_ reports each step). Every loss and norm on screen is one torch computed."""

import torch
import torch.nn.functional as F  # noqa: N812  (the name every torch user writes)
from torch import nn

from render.lesson import Lesson, expect
from scenes.vocabulary import TrainingLoop

lesson = Lesson(
    objectives=["See the training loop visual once"],
    recap=["Every loss and norm came from a real training"],
    seed=31,
)


@lesson.beat(
    "TrainingLoop: one step, stage by stage",
    narration="Each training step goes round the same cycle. | The forward pass makes predictions. | The loss"
    " scores them. | Backward fills every gradient. | The optimiser steps. | zero_grad clears the gradients. |"
    " Round after round, the loss falls.",
    visual=TrainingLoop("losses", walk=True, code=["pred = model(x)", "loss = F.mse_loss(pred, y)",
                                                   "loss.backward()", "opt.step()", "opt.zero_grad()"]),
)
def training_loop_walk(device):
    x = torch.linspace(-1, 1, 32, device=device).unsqueeze(1)
    y = 3 * x + 0.5
    model = nn.Linear(1, 1).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(30):
        pred = model(x)
        loss = F.mse_loss(pred, y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.detach())
    losses = torch.stack(losses)
    expect(losses[-1] < losses[0], "the loss falls as the steps go by")
    return {"losses": losses}


@lesson.beat(
    "TrainingLoop: loss and gradient norm",
    narration="The cycle of a step. | Its stages light in turn. | The loss of every step. | And the gradient"
    " norm clip_grad_norm_ returned at each step.",
    visual=TrainingLoop("losses", "grad_norms", labels=["loss", "grad norm"]),
)
def training_loop_norms(device):
    gen = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(64, 4, generator=gen, device=device)
    y = (x.sum(1, keepdim=True) > 0).float()
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    losses, norms = [], []
    for _ in range(40):
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        norms.append(nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0))
        opt.step()
        opt.zero_grad()
        losses.append(loss.detach())
    losses, grad_norms = torch.stack(losses), torch.stack(norms)
    expect(losses[-1] < losses[0], "the loss falls")
    return {"losses": losses, "grad_norms": grad_norms}
