"""Gallery beats for `Schedule`: learning rates sampled from real torch schedulers (StepLR, CosineAnnealingLR,
OneCycleLR), one per step, read with `get_last_lr()` after each `step()`."""

import torch
from torch import nn

from render.lesson import Lesson, expect
from scenes.vocabulary import Schedule

lesson = Lesson(
    objectives=["See the Schedule visual once"],
    recap=["Every learning rate drawn came from a torch scheduler"],
    seed=31,
)


def beat(title, visual, name=None):
    return lesson.beat(title, narration=f"The {visual.kind} visual.", visual=visual, name=name)


def rates(make, steps, lr):
    """The learning rate of each of `steps` optimiser steps under the scheduler `make(optimiser)`."""
    opt = torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=lr)
    sched = make(opt)
    out = []
    for _ in range(steps):
        out.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return torch.tensor(out, dtype=torch.float64)


@beat("Schedule: StepLR and cosine", Schedule("step_lr", "cosine_lr", labels=["StepLR", "cosine"], at=25))
def schedule_step_cosine(device):
    step_lr = rates(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=10, gamma=0.1), 40, 0.1)
    cosine_lr = rates(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=40), 40, 0.1)
    expect(torch.isclose(step_lr[25], torch.tensor(0.1 * 0.1**2, dtype=torch.float64)),
           "StepLR has cut the rate by gamma twice by step 25")
    expect(bool((cosine_lr[1:] <= cosine_lr[:-1]).all()), "cosine annealing only falls over T_max steps")
    return {"step_lr": step_lr.to(device), "cosine_lr": cosine_lr.to(device)}


@beat("Schedule: one cycle, small rates", Schedule("lr", labels=["OneCycleLR"], at=29))
def schedule_one_cycle(device):
    lr = rates(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=1e-3, total_steps=100), 100, 1e-3)
    expect(int(lr.argmax()) == 29, "OneCycleLR peaks at step 29: 30% of its 100 steps, counted from 0")
    return {"lr": lr.to(device)}


@beat("Schedule: warm-up against one cycle", Schedule("warmup", "one_cycle", labels=["warm-up + cosine", "OneCycle"],
                                                      at=12))
def schedule_crossing(device):
    warmup = rates(lambda o: torch.optim.lr_scheduler.SequentialLR(
        o, [torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=5),
            torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=35, eta_min=0.001)], milestones=[5]), 41, 0.1)
    one_cycle = rates(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=41), 41, 0.1)
    expect(abs(warmup[12] - one_cycle[12]) < 0.01, "at step 12 the two rates lie close: their tags crowd")
    return {"warmup": warmup.to(device), "one_cycle": one_cycle.to(device)}
