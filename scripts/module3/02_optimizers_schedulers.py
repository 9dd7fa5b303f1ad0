"""3.2.1 Optimisers & Schedulers: Steering the Descent.

SGD with momentum and Adam under the hood: their state tensors copied out of `opt.state[p]` step by step and
checked against a hand-written update; Adam's first step; weight decay as L2 inside Adam against AdamW's
decoupled decay; learning-rate schedules (StepLR, cosine, warm-up, OneCycle) sampled from the schedulers.
"""

import math

import torch

from render.lesson import Lesson, expect, expect_each
from scenes.vocabulary import Curve, OptimizerState, Schedule, Show, Title

lesson = Lesson(
    objectives=[
        "Trace SGD's momentum buffer step by step",
        "Trace Adam's two moments, exp_avg and exp_avg_sq",
        "Check each update against one written by hand",
        "Tell L2 in Adam from AdamW's decoupled decay",
        "Draw StepLR, cosine, warm-up and OneCycle",
    ],
    recap=[
        "Momentum: buf = m·buf + g; w -= lr·buf",
        "Adam: two moving averages, bias-corrected",
        "Adam's first step moves each weight by about lr",
        "AdamW: w shrinks by lr·wd·w, outside the moments",
        "Schedulers: call sched.step() after opt.step()",
    ],
    challenge="Minimise w² from w = 3.0 with torch.optim.Adam(lr=0.1). Predict w after the first step, "
    "then after a second, and check with opt.step().",
    seed=32,
)


def valley(w):
    """A long, narrow valley: shallow along w[0], ten times steeper across w[1]."""
    return 0.5 * (w[0] ** 2 + 10 * w[1] ** 2)


def sgd_matches_hand(case):
    """Whether torch's SGD with momentum equals buf = m * buf + g, w -= lr * buf, for five steps."""
    momentum, lr, n, dtype, seed = case
    gen = torch.Generator().manual_seed(seed)
    target = torch.randn(n, generator=gen, dtype=dtype)
    w = torch.randn(n, generator=gen, dtype=dtype, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr, momentum=momentum)
    mine, buf = w.detach().clone(), None
    for _ in range(5):
        opt.zero_grad()
        ((w - target) ** 2).sum().backward()
        opt.step()
        g = 2 * (mine - target)
        buf = g if buf is None else momentum * buf + g
        mine = mine - lr * buf
    return torch.allclose(w.detach(), mine) and torch.allclose(opt.state[w]["momentum_buffer"], buf)


def adam_matches_hand(case):
    """Whether torch's Adam (or AdamW, decoupled decay wd) equals the update written by hand, for five steps."""
    lr, betas, wd, decoupled, n, dtype, seed = case
    gen = torch.Generator().manual_seed(seed)
    target = torch.randn(n, generator=gen, dtype=dtype)
    w = torch.randn(n, generator=gen, dtype=dtype, requires_grad=True)
    kind = torch.optim.AdamW if decoupled else torch.optim.Adam
    opt = kind([w], lr=lr, betas=betas, weight_decay=wd)
    (b1, b2), eps = betas, 1e-8
    mine, m, v = w.detach().clone(), torch.zeros(n, dtype=dtype), torch.zeros(n, dtype=dtype)
    for t in range(1, 6):
        opt.zero_grad()
        ((w - target) ** 2).sum().backward()
        opt.step()
        g = 2 * (mine - target)
        if decoupled:
            mine = mine * (1 - lr * wd)
        else:
            g = g + wd * mine
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        mine = mine - lr * (m / (1 - b1**t)) / ((v / (1 - b2**t)).sqrt() + eps)
    return torch.allclose(w.detach(), mine) and torch.allclose(opt.state[w]["exp_avg_sq"], v)


def first_adam_step(case):
    """The size of each weight's first Adam step, over lr, for gradients of a given scale."""
    scale, lr, dtype, seed = case
    gen = torch.Generator().manual_seed(seed)
    slopes = torch.randn(6, generator=gen, dtype=dtype) * scale
    w = torch.zeros(6, dtype=dtype, requires_grad=True)
    opt = torch.optim.Adam([w], lr=lr)
    (slopes * w).sum().backward()
    opt.step()
    return torch.allclose(w.detach().abs(), torch.full_like(w, lr), rtol=1e-4)


@lesson.beat(
    "Steering the descent",
    narration="""Welcome back to the laboratory, apprentices! Today we open the skull of the optimiser itself. |
    We will pull SGD's momentum buffer out step by step, | then Adam's two moments, | and rebuild every update
    by hand. | We will catch weight decay hiding inside Adam, and free it with AdamW, |
    and finally draw the learning rate schedules that steer the whole descent.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "SGD with momentum, traced",
    narration="""Here SGD with momentum {{ momentum }} and learning rate {{ lr }} rolls two weights down a
    narrow valley, and after every step we copy the momentum buffer out of opt dot state. | Step two lights
    up: its gradient {{ g }}, and the weight {{ p0 }} and buffer {{ b0 }} that step one left. | The new buffer
    is momentum times the old buffer plus the gradient: {{ b1 }}, more than this gradient, because the
    gradients agree. | The weight steps down by the learning rate times the buffer, to {{ p1 }}, just as torch
    stored.""",
    visual=OptimizerState("params", "grads", "momentum_buffer", group="group", at=2),
    slide=["`SGD(params, lr=0.02, momentum=0.8)`", "`buf = momentum * buf + grad`", "`w = w - lr * buf`",
           "`opt.state[w]['momentum_buffer']`"],
)
def sgd_momentum(device):
    w = torch.tensor([1.0, 1.0], device=device, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.02, momentum=0.8)
    params, grads, bufs = [w.detach().clone()], [], []
    for _ in range(4):
        opt.zero_grad()
        valley(w).backward()
        opt.step()
        params.append(w.detach().clone())
        grads.append(w.grad.clone())
        bufs.append(opt.state[w]["momentum_buffer"].clone())
    params, grads, bufs = torch.stack(params), torch.stack(grads), torch.stack(bufs)
    group = opt.param_groups[0]
    hand = {k: group[k] for k in ("lr", "momentum", "dampening", "nesterov", "weight_decay")}
    expect(torch.equal(bufs[0], grads[0]), "the first buffer is the first gradient")
    expect(torch.allclose(bufs[1:], 0.8 * bufs[:-1] + grads[1:]), "buf = momentum * buf + grad at every step")
    expect(torch.allclose(params[1:], params[:-1] - 0.02 * bufs), "w = w - lr * buf at every step")
    expect(bufs[1, 0] > grads[1, 0] > 0, "the buffer outgrows the gradient while gradients agree")
    expect_each([(0.9, 0.05, 2, torch.float32, 0), (0.5, 0.1, 7, torch.float64, 1), (0.99, 0.01, 3, torch.float32, 2)],
                sgd_matches_hand, "torch's SGD with momentum is the hand-written update")
    return {"params": params, "grads": grads, "momentum_buffer": bufs, "group": hand, "lr": group["lr"],
            "momentum": group["momentum"], "g": f"{grads[1, 0].item():.3g}", "b0": f"{bufs[0, 0].item():.3g}",
            "b1": f"{bufs[1, 0].item():.3g}", "p0": f"{params[1, 0].item():.3g}", "p1": f"{params[2, 0].item():.3g}"}


@lesson.beat(
    "Momentum against plain SGD",
    narration="""Does the buffer pay off? The same valley, {{ n }} steps each, the same learning rate, starting
    from the same weights, with and without momentum. | Plain SGD creeps along the shallow floor of the
    valley and ends at a loss of {{ plain_end }}. | With momentum, the agreeing gradients pile up in the
    buffer: it overshoots across the steep walls on the way, yet ends far lower, at {{ momentum_end }}.""",
    visual=Curve("step", "plain", "with_momentum", labels=["SGD", "SGD, momentum 0.8"], x_label="step",
                 y_label="loss", digits=4),
    slide=["Same lr, same start, same valley", "Plain SGD: slow along the shallow axis",
           "Momentum: faster, with some overshoot"],
)
def momentum_race(device):
    curves = {}
    for name, momentum in (("plain", 0.0), ("with_momentum", 0.8)):
        w = torch.tensor([1.0, 1.0], device=device, requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.02, momentum=momentum)
        losses = []
        for _ in range(40):
            opt.zero_grad()
            loss = valley(w)
            losses.append(loss.item())
            loss.backward()
            opt.step()
        curves[name] = torch.tensor(losses)
    plain, fast = curves["plain"], curves["with_momentum"]
    expect(fast[-1] < plain[-1] / 100, "momentum ends more than a hundred times lower")
    expect(bool((fast[1:] > fast[:-1]).any()), "momentum's loss goes up on some steps: it overshoots")
    expect(bool((plain[1:] <= plain[:-1]).all()), "plain SGD's loss only goes down here")
    return {"step": torch.arange(len(plain)), "plain": plain, "with_momentum": fast, "n": len(plain), "lr": 0.02,
            "plain_end": f"{plain[-1].item():.4f}", "momentum_end": f"{fast[-1].item():.4f}"}


@lesson.beat(
    "Adam's two moments",
    narration="""Adam keeps two running averages for every weight, exp avg and exp avg sq, here with betas
    {{ b1 }} and {{ b2 }}, and again we copy them out after every step. | Step three lights up: the gradient
    {{ g }} and both moments left by step two. | The first moment blends in the gradient, the second its
    square: {{ m }} and {{ v }}. | Dividing each by one minus beta to the power of the step undoes their start
    at zero, and the weight moves to {{ p1 }}, just as our hand-written update says, to within float rounding.""",
    visual=OptimizerState("params", "grads", "exp_avg", "exp_avg_sq", group="group", at=3),
    slide=["`m = b1·m + (1 - b1)·g`,  `v = b2·v + (1 - b2)·g²`", "Bias correction: m / (1 - b1ᵗ), v / (1 - b2ᵗ)",
           "`w -= lr · m̂ / (√v̂ + eps)`", "`opt.state[w]['exp_avg']`, `['exp_avg_sq']`"],
)
def adam_moments(device):
    w = torch.tensor([1.0, 1.0], device=device, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.1)
    params, grads, m, v = [w.detach().clone()], [], [], []
    for _ in range(4):
        opt.zero_grad()
        valley(w).backward()
        opt.step()
        params.append(w.detach().clone())
        grads.append(w.grad.clone())
        m.append(opt.state[w]["exp_avg"].clone())
        v.append(opt.state[w]["exp_avg_sq"].clone())
    params, grads, m, v = torch.stack(params), torch.stack(grads), torch.stack(m), torch.stack(v)
    group = opt.param_groups[0]
    (b1, b2), eps = group["betas"], group["eps"]
    mine, m_hand, v_hand = params[0], torch.zeros(2), torch.zeros(2)
    for t in range(1, 5):
        m_hand = b1 * m_hand + (1 - b1) * grads[t - 1]
        v_hand = b2 * v_hand + (1 - b2) * grads[t - 1] ** 2
        mine = mine - 0.1 * (m_hand / (1 - b1**t)) / ((v_hand / (1 - b2**t)).sqrt() + eps)
        expect(torch.allclose(m[t - 1], m_hand) and torch.allclose(v[t - 1], v_hand), f"both moments at step {t}")
        expect(torch.allclose(params[t], mine), f"the hand-written Adam update at step {t}")
    expect(opt.state[w]["step"].item() == 4, "Adam counts its steps in its state")
    expect_each([(0.1, (0.9, 0.999), 0.0, False, 2, torch.float32, 0), (0.01, (0.8, 0.99), 0.0, False, 5,
                  torch.float64, 1), (0.3, (0.5, 0.9), 0.0, False, 3, torch.float32, 2)],
                adam_matches_hand, "torch's Adam is the hand-written update")
    hand = {k: group[k] for k in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize")}
    return {"params": params, "grads": grads, "exp_avg": m, "exp_avg_sq": v, "group": hand,
            "b1": f"{b1:g}", "b2": f"{b2:g}", "g": f"{grads[2, 0].item():.3g}", "m": f"{m[2, 0].item():.3f}",
            "v": f"{v[2, 0].item():.2g}", "p1": f"{params[3, 0].item():.3f}"}


@lesson.beat(
    "Adam's first step",
    narration="""That correction hides a curious gift. Five weights, all zero, get gradients from
    {{ smallest }} to {{ largest }}. | After one step, the first moment over one minus beta one is the gradient
    itself, | and the root of the corrected second moment is its absolute size. | Their ratio keeps only the
    sign: each weight moved by the learning rate, {{ lr }}. | That holds in float32. In float16 the tiny
    gradient's square vanishes, sending its weight to infinity, and the huge one's overflows, so its weight
    never moves.""",
    visual=Show("grad", "m_hat", "sqrt_v_hat", "moved", code=False, caption="float16: moved = {{ half }}",
                digits=3),
    slide=["Step 1: m̂ = g and √v̂ = |g|", "So the first step is lr · sign(g)",
           "Whatever the gradient's scale (float32, far above eps)", "float16 weights: g² under/overflows"],
)
def adam_first_step(device):
    slopes = torch.tensor([0.001, -0.5, 3.0, -700.0, 9000.0], device=device)
    w = torch.zeros(5, device=device, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.01)
    (slopes * w).sum().backward()
    grad = w.grad.clone()
    opt.step()
    moved = w.detach().clone()
    (b1, b2), state = opt.param_groups[0]["betas"], opt.state[w]
    m_hat = state["exp_avg"] / (1 - b1)
    sqrt_v_hat = (state["exp_avg_sq"] / (1 - b2)).sqrt()
    w16 = torch.zeros(5, device=device, dtype=torch.float16, requires_grad=True)
    opt16 = torch.optim.Adam([w16], lr=0.01)
    (slopes.half() * w16).sum().backward()
    opt16.step()
    half = ", ".join(f"{v + 0.0:.2g}" for v in w16.detach().float().tolist())
    expect(torch.allclose(m_hat, grad, rtol=1e-5), "after step 1, exp_avg / (1 - beta1) is the gradient")
    expect(torch.allclose(sqrt_v_hat, grad.abs(), rtol=1e-5), "after step 1, sqrt(exp_avg_sq / (1 - beta2)) is |g|")
    expect(torch.allclose(moved, -0.01 * grad.sign(), rtol=1e-4), "each weight moves by lr against its gradient")
    expect_each([(1e-3, 0.01, torch.float32, 0), (1.0, 0.1, torch.float32, 1), (1e4, 0.001, torch.float64, 2),
                 (1e-2, 1e-4, torch.float64, 3)], first_adam_step,
                "the first Adam step is lr in size for gradients far above eps")
    expect(bool(torch.isinf(w16[0]) & (w16[4] == 0)),
           "in float16 the 0.001 gradient's weight goes to infinity and the 9000 one's stays at zero")
    return {"grad": grad, "m_hat": m_hat, "sqrt_v_hat": sqrt_v_hat, "moved": moved, "lr": 0.01, "half": half,
            "smallest": f"{grad.abs().min().item():g}", "largest": f"{grad.abs().max().item():g}"}


@lesson.beat(
    "Weight decay: L2 in Adam vs AdamW",
    narration="""Weight decay pulls weights to zero. A weight starts at one, with no
    other gradient. | Adam's weight decay adds decay times weight to the gradient: an L2 penalty. With
    decay {{ small }}, | or {{ big }}, it falls at the same pace, even past zero: Adam divides the pull by its own
    size, so your decay is lost. | AdamW shrinks the weight by learning rate times decay times weight, outside
    the moments: slowly with {{ small }}, | faster with {{ big }}. With real gradients, Adam divides the L2 pull
    by their size too; AdamW does not.""",
    visual=Curve("step", "adam_small", "adam_big", "adamw_small", "adamw_big",
                 labels=["Adam, wd 0.1", "Adam, wd 1", "AdamW, wd 0.1", "AdamW, wd 1"], x_label="step",
                 y_label="weight"),
    slide=["Adam(weight_decay=wd): g + wd·w, then ÷ √v̂", "Decay alone: w moves by about lr, whatever wd",
           "AdamW: w ← w·(1 - lr·wd), then the Adam step", "Decoupled decay scales with lr, wd and w"],
)
def weight_decay(device):
    curves = {}
    for name, kind, wd in (("adam_small", torch.optim.Adam, 0.1), ("adam_big", torch.optim.Adam, 1.0),
                           ("adamw_small", torch.optim.AdamW, 0.1), ("adamw_big", torch.optim.AdamW, 1.0)):
        w = torch.ones(1, device=device, requires_grad=True)
        opt = kind([w], lr=0.05, weight_decay=wd)
        path = [w.item()]
        for _ in range(30):
            opt.zero_grad()
            (0.0 * w).sum().backward()  # no gradient from the data: only the decay acts
            opt.step()
            path.append(w.item())
        curves[name] = torch.tensor(path)
    a, b = curves["adam_small"], curves["adam_big"]
    expect(torch.allclose(a, b, atol=1e-5), "with L2 in Adam, decay 0.1 and 1 fall at the same pace")
    expect(torch.allclose(a[1:4] - a[:3], torch.full((3,), -0.05), atol=1e-3),
           "the first steps move the weight by about lr, whatever the decay")
    for name, wd in (("adamw_small", 0.1), ("adamw_big", 1.0)):
        steps = torch.arange(31, dtype=torch.float32)
        expect(torch.allclose(curves[name], (1 - 0.05 * wd) ** steps), f"AdamW wd={wd}: w = (1 - lr·wd)^t")
    expect(curves["adamw_big"][-1] < curves["adamw_small"][-1], "a larger decay shrinks faster in AdamW")
    expect(bool((a[-1] < 0) & (b[-1] < 0)), "with L2 in Adam, the weight overshoots past zero")
    expect_each([(0.1, (0.9, 0.999), 0.1, True, 3, torch.float32, 0), (0.01, (0.9, 0.99), 1.0, True, 4,
                  torch.float64, 1), (0.1, (0.9, 0.999), 0.1, False, 3, torch.float32, 2)],
                adam_matches_hand, "AdamW decays w outside the moments; Adam adds wd·w to the gradient")
    return {"step": torch.arange(31), **curves, "n": 30, "lr": 0.05, "small": 0.1, "big": 1}


@lesson.beat(
    "StepLR and cosine",
    narration="""Now the learning rate itself can change as training goes. Each curve is read from a real
    scheduler with get last lr: the rate each optimiser step uses, starting from {{ base }}. | Step LR keeps it
    flat, then halves it every {{ every }} steps: a few long stairs. | Cosine annealing lowers it a little at
    every step, down half a cosine wave to almost zero at step {{ total }}. | At the marked step, halfway along
    its second stair, Step LR gives {{ step_at }}, the cosine {{ cos_at }}.""",
    visual=Schedule("step_lr", "cosine", labels=["StepLR", "cosine"], at=15),
    slide=["`StepLR(opt, step_size=10, gamma=0.5)`", "`CosineAnnealingLR(opt, T_max=40, eta_min=0.001)`",
           "`opt.step()` then `sched.step()`", "`sched.get_last_lr()`: the rate the next `opt.step()` uses"],
)
def step_cosine(device):
    curves = {}
    for name in ("step_lr", "cosine"):
        w = torch.ones(1, device=device, requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1)
        if name == "step_lr":
            sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
        else:
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40, eta_min=0.001)
        lrs = []
        for _ in range(41):
            lrs.append(sched.get_last_lr()[0])
            opt.zero_grad()
            (w**2).sum().backward()
            opt.step()
            sched.step()
        curves[name] = torch.tensor(lrs)
    step_lr, cosine = curves["step_lr"], curves["cosine"]
    expect(torch.allclose(step_lr, 0.1 * 0.5 ** (torch.arange(41) // 10)),
           "StepLR: lr = base * gamma ** (step // 10)")
    expect(torch.allclose(cosine, 0.001 + (0.1 - 0.001) * (1 + torch.cos(math.pi * torch.arange(41) / 40)) / 2),
           "cosine: eta_min + (base - eta_min)(1 + cos(pi t / T)) / 2")
    expect(math.isclose(cosine[40].item(), 0.001, rel_tol=1e-5), "cosine ends at eta_min, a hundredth of the base")
    return {"step_lr": step_lr, "cosine": cosine, "base": 0.1, "gamma": 0.5, "every": 10, "floor": 0.001,
            "total": 40, "at": 15, "step_at": f"{step_lr[15].item():g}", "cos_at": f"{cosine[15].item():.3g}"}


@lesson.beat(
    "Warm-up and OneCycle",
    narration="""Big models dislike a large learning rate at the very start, so we warm up. | Linear LR
    starts at a tenth of the rate and climbs in equal steps, then Sequential LR hands over to a cosine
    decay. | One cycle starts at a small fraction of its peak, climbs for the first part of training, then
    anneals far below where it began. | At the marked step the warm-up is done, at the full {{ warm_at }};
    One Cycle is still climbing, at {{ one_at }}.""",
    visual=Schedule("warmup", "one_cycle", labels=["warm-up + cosine", "OneCycle"], at=5),
    slide=["`LinearLR(opt, start_factor=0.1, total_iters=5)`", "`SequentialLR(opt, [warm, cos], milestones=[5])`",
           "`OneCycleLR(opt, max_lr=0.1, total_steps=41)`", "OneCycle: call sched.step() every batch",
           "It also cycles SGD's momentum: 0.95 → 0.85 → 0.95"],
)
def warmup_onecycle(device):
    curves = {}
    for name in ("warmup", "one_cycle"):
        w = torch.ones(1, device=device, requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1)
        if name == "warmup":
            warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=5)
            cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=35, eta_min=0.001)
            sched = torch.optim.lr_scheduler.SequentialLR(opt, [warm, cos], milestones=[5])
        else:
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=41)
        lrs, momenta = [], []
        for _ in range(41):
            lrs.append(sched.get_last_lr()[0])
            momenta.append(opt.param_groups[0]["momentum"])
            opt.zero_grad()
            (w**2).sum().backward()
            opt.step()
            sched.step()
        curves[name] = torch.tensor(lrs)
    warmup, one = curves["warmup"], curves["one_cycle"]
    expect(math.isclose(momenta[0], 0.95) and math.isclose(min(momenta), 0.85, rel_tol=1e-3)
           and math.isclose(momenta[-1], 0.95),
           "OneCycle turns plain SGD's momentum on and cycles it 0.95, 0.85, 0.95")
    expect(torch.allclose(warmup[:6], 0.1 * torch.linspace(0.1, 1.0, 6)), "warm-up climbs linearly from a tenth")
    expect(math.isclose(warmup.max().item(), 0.1, rel_tol=1e-6) and warmup.argmax().item() == 5,
           "warm-up peaks at step 5")
    expect(math.isclose(one[0].item(), 0.1 / 25, rel_tol=1e-6), "OneCycle starts at max_lr / div_factor (25)")
    expect(math.isclose(one.max().item(), 0.1, rel_tol=1e-2), "OneCycle climbs to within 1% of max_lr")
    expect(one.argmax().item() == round(0.3 * 41), "OneCycle's peak is 30% of the way (pct_start=0.3)")
    expect(one[-1] < one[0] / 100, "OneCycle ends far below its start")
    expect(math.isclose(warmup[5].item(), 0.1, rel_tol=1e-6) and bool((one[1:6] > one[:5]).all())
           and one[6] > one[5] and one[5] < 0.5 * warmup[5],
           "at the marked step 5 the warm-up has reached the full rate; OneCycle, under half of it, is still climbing")
    return {"warmup": warmup, "one_cycle": one, "warm_at": f"{warmup[5].item():.3g}",
            "one_at": f"{one[5].item():.3g}"}


@lesson.beat(
    "Recap",
    narration="""The optimiser's skull is open, apprentices! | Momentum keeps a buffer: momentum times the old
    buffer plus the gradient, and the weight steps by the learning rate times it. | Adam keeps two moving
    averages and corrects their start at zero. | Its first step moves each weight by about the learning rate. |
    AdamW shrinks weights outside the moments, by the learning rate times the decay. | And schedulers
    steer the learning rate: call sched dot step after opt dot step.""",
    visual=Title(heading="What we dissected", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    w = torch.ones(1, device=device, requires_grad=True)
    opt = torch.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    (0.0 * w).sum().backward()
    opt.step()
    expect(math.isclose(w.item(), 1 - 0.1 * 0.5, rel_tol=1e-6), "AdamW with no gradient shrinks w by lr * wd * w")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Now, apprentice, steer a descent of your own. | Minimise w squared from w equals {{ start }}
    with Adam at learning rate {{ lr }}. Before you run it, predict w after the first step, then after the
    second, using what you saw of Adam's first step and its moments. Then let opt dot step judge your
    prediction, and print the two moments from opt dot state.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["w = 3.0, loss = w², `Adam(lr=0.1)`", "Predict w after step 1, then step 2", "Check with opt.step()"],
)
def challenge(device):
    w = torch.tensor(3.0, device=device, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        (w**2).backward()
        opt.step()
        if opt.state[w]["step"].item() == 1:
            expect(math.isclose(w.item(), 2.9, rel_tol=1e-5), "the first step moves w by lr: 3.0 to 2.9")
    expect(math.isclose(w.item(), 2.8, rel_tol=1e-4), "the second step moves w by about lr again: to 2.8")
    return {"start": 3.0, "lr": 0.1}
