"""Gallery: OptimizerState, an optimiser's state step by step, each value read from the real optimiser's
`opt.state[p]` while a tiny model trains, one step's update checked against a hand-written one."""

import torch

from render.lesson import Lesson, expect
from scenes.vocabulary import OptimizerState

lesson = Lesson(
    objectives=["See the optimiser state visual once"],
    recap=["Every state value on screen came from opt.state[p]"],
    seed=32,
)


def bowl(w):
    """A long, narrow valley: steep across, shallow along."""
    return 0.5 * (w[0] ** 2 + 10 * w[1] ** 2)


@lesson.beat(
    "OptimizerState: SGD with momentum",
    narration="SGD with momentum keeps one buffer per parameter. | Step two lights up: its gradient, the buffer "
    "and weight before it. | The buffer is momentum times the old buffer plus the gradient. | The weight steps "
    "down by the learning rate times the buffer.",
    visual=OptimizerState("params", "grads", "momentum_buffer", group="group", at=2),
)
def optimizer_state_sgd(device):
    w = torch.tensor([1.0, 1.0], device=device, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.05, momentum=0.9)
    params, grads, bufs = [w.detach().clone()], [], []
    for _ in range(4):
        opt.zero_grad()
        bowl(w).backward()
        grads.append(w.grad.clone())
        opt.step()
        params.append(w.detach().clone())
        bufs.append(opt.state[w]["momentum_buffer"].clone())
    params, grads, bufs = torch.stack(params), torch.stack(grads), torch.stack(bufs)
    expect(torch.allclose(bufs[1], 0.9 * bufs[0] + grads[1]), "buf = momentum * buf + grad")
    expect(torch.allclose(params[2], params[1] - 0.05 * bufs[1]), "w = w - lr * buf")
    group = {k: opt.param_groups[0][k] for k in ("lr", "momentum", "dampening", "nesterov", "weight_decay")}
    return {"params": params, "grads": grads, "momentum_buffer": bufs, "group": group}


@lesson.beat(
    "OptimizerState: Adam's two moments",
    narration="Adam keeps two running averages per parameter: of the gradient and of its square. | Step three "
    "lights up with its inputs. | Each moment blends its old value with the new gradient. | The weight moves by "
    "the bias-corrected first moment over the root of the second.",
    visual=OptimizerState("params", "grads", "exp_avg", "exp_avg_sq", group="group", at=3),
)
def optimizer_state_adam(device):
    w = torch.tensor([1.0, 1.0], device=device, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.1)
    params, grads, m, v = [w.detach().clone()], [], [], []
    for _ in range(4):
        opt.zero_grad()
        bowl(w).backward()
        grads.append(w.grad.clone())
        opt.step()
        params.append(w.detach().clone())
        m.append(opt.state[w]["exp_avg"].clone())
        v.append(opt.state[w]["exp_avg_sq"].clone())
    params, grads, m, v = torch.stack(params), torch.stack(grads), torch.stack(m), torch.stack(v)
    b1, b2 = opt.param_groups[0]["betas"]
    t = 3
    expect(torch.allclose(m[t - 1], b1 * m[t - 2] + (1 - b1) * grads[t - 1]), "m = b1 m + (1 - b1) g")
    expect(torch.allclose(v[t - 1], b2 * v[t - 2] + (1 - b2) * grads[t - 1] ** 2), "v = b2 v + (1 - b2) g^2")
    step = 0.1 * (m[t - 1] / (1 - b1**t)) / ((v[t - 1] / (1 - b2**t)).sqrt() + 1e-8)
    expect(torch.allclose(params[t], params[t - 1] - step), "the hand-written Adam step matches")
    group = {k: opt.param_groups[0][k] for k in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize")}
    return {"params": params, "grads": grads, "exp_avg": m, "exp_avg_sq": v, "group": group}
