"""3.5.1 Training Optimisation: More Monster per Second.

Number types side by side (float32, float16, bfloat16, int8: bytes, range, precision, all read from torch.finfo,
torch.iinfo and element_size()), rounding and overflow in half precision, int8 storage with a scale, a small
training under bfloat16 autocast, gradient accumulation checked against the big batch it stands for, and
torch.compile (backend "aot_eager": it captures forward and backward graphs but runs torch's own kernels, so
the first call stays short on a CPU and no speed-up is expected) checked to give the same outputs, gradients and
losses, with the time of its first call measured.

The lesson uses `torch.compile(model)`, not `model.compile()`: in torch 2.13 `model.compile()` on a model whose
forward is torch's own (an nn.Sequential of built-in layers) silently compiles nothing, since Dynamo skips
`Module._call_impl` and every forward it reaches (pytorch/pytorch#150915).
"""

import copy
import time

import torch
import torch.nn.functional as F  # noqa: N812  (the name every torch user writes)
from torch import nn

from render.lesson import Lesson, expect, expect_each
from scenes.vocabulary import Curve, DtypeLadder, Show, Title

lesson = Lesson(
    objectives=[
        "Compare float32, float16, bfloat16 and int8",
        "See rounding and overflow in half precision",
        "Store weights in int8 with a scale",
        "Accumulate gradients for a bigger effective batch",
        "Compile a model and check it gives the same numbers",
    ],
    recap=[
        "float16 keeps precision; bfloat16 keeps float32's range",
        "int8 plus one scale: about a quarter of the bytes",
        "Divide each micro-batch loss by the micro-batch count",
        "torch.compile wraps the model; the first call compiles",
        "Check compiled outputs and gradients with allclose",
    ],
    challenge="Train the Linear-GELU-Linear model on 32 samples in 8 micro-batches of 4 through "
    "torch.compile(model, backend='aot_eager'), and prove with torch.allclose that its losses match a plain "
    "batch of 32 from the same starting weights.",
    seed=35,
)

FLOATS = [torch.float32, torch.float16, torch.bfloat16]


def regression_data(device, n=32):
    """A small regression problem: 4 features, a target the model can learn."""
    x = torch.randn(n, 4, device=device)
    y = x[:, :1] * 2 - x[:, 1:2] + 0.5
    return x, y


def make_model(device):
    """The small model every training beat uses: Linear, GELU, Linear."""
    return nn.Sequential(nn.Linear(4, 16), nn.GELU(), nn.Linear(16, 1)).to(device)


def gap_after_one(dtype, device):
    """The step from 1 to the next number `dtype` holds, computed in that dtype."""
    one = torch.ones((), dtype=dtype, device=device)
    return (torch.nextafter(one, one + 1) - one).item()


def within_half_step(seed, device):
    """Whether int8 rounding with scale max/127 moves every value of a random tensor by at most half a step."""
    torch.manual_seed(seed)
    v = torch.randn(50, 7, device=device) * (seed + 1)
    s = v.abs().max() / 127
    return ((torch.round(v / s).to(torch.int8).float() * s - v).abs().max() <= s / 2 * (1 + 1e-5)).item()


def accumulation_matches(seed, k, device):
    """Whether k equal micro-batches, each loss divided by k, give the full batch's gradient (and, undivided,
    k times it), for a fresh Linear layer and batch of 48."""
    torch.manual_seed(seed)
    m, (a, b) = nn.Linear(4, 1).to(device), regression_data(device, 48)
    g_full = torch.autograd.grad(F.mse_loss(m(a), b), m.weight)[0]
    pieces = list(zip(a.chunk(k), b.chunk(k), strict=True))
    g_acc = sum(torch.autograd.grad(F.mse_loss(m(u), v) / k, m.weight)[0] for u, v in pieces)
    g_sum = sum(torch.autograd.grad(F.mse_loss(m(u), v), m.weight)[0] for u, v in pieces)
    return torch.allclose(g_full, g_acc, atol=1e-6) and torch.allclose(g_sum, k * g_full, atol=1e-5)


def first_call_compiles(device):
    """Whether a freshly compiled model compiles on its first call, forward and backward (Dynamo's count of
    compiled frames grows and its graph captures the model's three layers), and reuses that on the next calls
    (the counts stay)."""
    from torch._dynamo.utils import counters

    torch.compiler.reset()
    counters.clear()
    model = torch.compile(make_model(device), backend="aot_eager")
    x = torch.randn(8, 4, device=device)
    model(x).sum().backward()
    first = (counters["frames"]["ok"], counters["stats"]["calls_captured"], counters["aot_autograd"]["ok"])
    for _ in range(2):
        model(x).sum().backward()
    again = (counters["frames"]["ok"], counters["stats"]["calls_captured"], counters["aot_autograd"]["ok"])
    return first[0] >= 1 and first[1] >= 3 and first[2] >= 1 and again == first


def compiled_training_matches(device):
    """Whether eight SGD steps through a compiled twin end on the plain model's weights (allclose, atol 1e-6)."""
    torch.compiler.reset()
    plain = make_model(device)
    model = torch.compile(copy.deepcopy(plain), backend="aot_eager")
    x, y = regression_data(device)
    for net in (plain, model):
        opt = torch.optim.SGD(net.parameters(), lr=0.05)
        for _ in range(8):
            opt.zero_grad()
            F.mse_loss(net(x), y).backward()
            opt.step()
    return all(torch.allclose(a, b, atol=1e-6) for a, b in zip(plain.parameters(), model.parameters(), strict=True))


def challenge_works(seed, device):
    """The challenge as written: 8 micro-batches of 4 through torch.compile(model, backend='aot_eager'), each loss
    divided by 8 and one step per batch of 32, against a plain copy trained on the full batch from the same
    weights; whether torch.allclose (default tolerances) holds for the two loss curves."""
    torch.manual_seed(seed)
    torch.compiler.reset()
    x, y = regression_data(device)
    plain = make_model(device)
    fast = torch.compile(copy.deepcopy(plain), backend="aot_eager")
    curves = []
    for net, k in [(plain, 1), (fast, 8)]:
        opt = torch.optim.SGD(net.parameters(), lr=0.05)
        losses = []
        for _ in range(10):
            opt.zero_grad()
            total = 0.0
            for xb, yb in zip(x.chunk(k), y.chunk(k), strict=True):
                loss = F.mse_loss(net(xb), yb) / k
                loss.backward()
                total += loss.detach()
            opt.step()
            losses.append(total)
        curves.append(torch.stack(losses))
    return torch.allclose(*curves)


@lesson.beat(
    "More monster per second",
    narration="""Apprentices, our monster learns, but slowly, and it eats memory like a starving troll! Today we
    make every byte and every second count. | We line up the number types, float32, float16, bfloat16 and int8,
    | watch half precision round and overflow, | squeeze weights into int8, | fake a big batch by accumulating
    small ones, | and compile the model, checking it still gives the same numbers.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "The number-type ladder",
    narration="""Behold the ladder of number types, every figure read from torch dot finfo, torch dot iinfo and
    element size. | float32, our default, spends {{ bytes[0] }} bytes on each number, reaches {{ f32_max }}, and
    its step after one is {{ f32_eps }}. | float16 halves that to {{ bytes[1] }} bytes, but its largest number
    is only {{ largest[1] }}. | bfloat16 also takes {{ bytes[2] }} bytes, keeps float32's range, and pays in
    precision: its step after one is {{ bf16_eps }}. | int8 takes {{ bytes[3] }} byte and holds only whole
    numbers, up to {{ largest[3] }}. | Same memory, opposite bargains: float16 keeps digits, bfloat16 keeps
    range.""",
    visual=DtypeLadder("bytes", "largest", "smallest", "step", highlight=["float16", "bfloat16"]),
    slide=["`torch.finfo(dtype)`: max, tiny, eps", "`torch.iinfo(torch.int8).max` is 127",
           "`x.element_size()`: bytes per number"],
)
def ladder(device):
    dtypes = [torch.float32, torch.float16, torch.bfloat16, torch.int8]
    infos = [torch.finfo(d) if d.is_floating_point else torch.iinfo(d) for d in dtypes]
    sizes = torch.tensor([torch.empty(0, dtype=d, device=device).element_size() for d in dtypes])
    largest = torch.tensor([float(i.max) for i in infos], dtype=torch.float64)
    smallest = torch.tensor([i.tiny if d.is_floating_point else 1.0 for d, i in zip(dtypes, infos, strict=True)],
                            dtype=torch.float64)
    step = torch.tensor([i.eps if d.is_floating_point else 1.0 for d, i in zip(dtypes, infos, strict=True)],
                        dtype=torch.float64)
    expect_each(FLOATS, lambda d: gap_after_one(d, device) == torch.finfo(d).eps,
                "eps is the step from 1 to the next number the dtype holds")
    expect_each(dtypes, lambda d: torch.empty(3, dtype=d).element_size() == d.itemsize,
                "element_size() is the bytes of one number")
    expect(largest[2] > 1e38 and largest[1] == 65504, "bfloat16 reaches float32's range, float16 stops at 65504")
    expect(smallest[2] == smallest[0], "bfloat16's smallest normal is float32's")
    expect(step[2] > step[1] > step[0], "bfloat16 steps coarser than float16, float16 coarser than float32")
    return {"dtypes": dtypes, "bytes": sizes, "largest": largest, "smallest": smallest, "step": step,
            "f32_max": f"{infos[0].max:.2e}", "f32_eps": f"{infos[0].eps:.2e}", "bf16_eps": f"{infos[2].eps:.2e}"}


@lesson.beat(
    "Rounding and overflow",
    narration="""Let us cast three numbers down and see what survives. | In float32 they are {{ first }},
    {{ x[1] }} and {{ x[2] }}. | In float16, {{ x[1] }} survives exactly and {{ first }} to within a thousandth,
    but {{ x[2] }} is past its largest number: infinity. | In bfloat16 nothing overflows: {{ x[2] }} becomes
    {{ bf16[2] }}, yet the small details are rounded away, {{ x[1] }} becomes {{ bf16[1] }}. That is why mixed
    precision keeps a float32 copy of the weights.""",
    visual=Show("x", "half", "bf16", digits=4),
    slide=["float16: max 65504; from 65520 up, `inf`", "bfloat16: float32's range, but coarse steps",
           "`x.to(torch.float16)`, `x.to(torch.bfloat16)`"],
)
def rounding(device):
    x = torch.tensor([1.001, 300.5, 70000.0], device=device)
    half = x.to(torch.float16)
    bf16 = x.to(torch.bfloat16)
    expect(half[1] == x[1] and (half[0] - x[0]).abs() < 1e-3 and torch.isinf(half[2]),
           "float16 keeps 300.5 exactly, 1.001 within a thousandth, and overflows 70000")
    expect(bf16[0] == 1 and bf16[1] == 300 and bf16[2] == 70144, "bfloat16 rounds them")
    expect_each([65520.0, 70000.0, 1e6], lambda v: torch.isinf(torch.tensor(v).half()),
                "float16 overflows to inf from 65520 up")
    expect_each([65505.0, 65510.0, 65519.0], lambda v: torch.tensor(v).half() == 65504,
                "just above 65504, float16 still rounds down to its largest number")
    expect_each([65520.0, 70000.0, 1e6, 1e30], lambda v: torch.isfinite(torch.tensor(v).bfloat16()),
                "bfloat16 does not")
    return {"x": x, "half": half, "bf16": bf16, "first": f"{x[0].item():.4g}"}


@lesson.beat(
    "int8 weights with a scale",
    narration="""int8 holds only whole numbers, so we store weights as integers times one float scale. | Here
    are float32 weights. | Divide by the scale, the largest weight size shared out over int8's top value,
    round, and cast: the int8 weights. | Multiply back by the scale to use them. | They take {{ q_bytes }}
    bytes, plus {{ s_bytes }} for the scale, instead of {{ w_bytes }}, and the largest error, {{ error }}, is
    within half a scale step, {{ half_step }}. int8 is for storing and serving; training still needs floats.""",
    visual=Show("w", "q", "restored", digits=3,
                caption="{{ q_bytes }} + {{ s_bytes }} bytes, not {{ w_bytes }}; error {{ error }}, at most "
                        "scale / 2 = {{ half_step }}"),
    slide=["`scale = w.abs().max() / 127`", "`q = torch.round(w / scale).to(torch.int8)`",
           "`q.float() * scale`: error at most scale / 2"],
)
def quantise(device):
    w = torch.randn(2, 4, device=device)
    scale = w.abs().max() / 127
    q = torch.round(w / scale).to(torch.int8)
    restored = q.float() * scale
    expect_each(range(5), lambda seed: within_half_step(seed, device),
                "rounding to int8 moves each weight by at most half a scale step")
    expect((restored - w).abs().max() <= scale / 2 * (1 + 1e-5), "this tensor's error is within half a step")
    expect(q.nbytes * 4 == w.nbytes and torch.iinfo(torch.int8).max == 127, "int8: a quarter of the bytes")
    return {"w": w, "q": q, "restored": restored, "w_bytes": w.nbytes, "q_bytes": q.nbytes,
            "s_bytes": scale.nbytes, "error": f"{(restored - w).abs().max():.3f}", "half_step": f"{scale / 2:.3f}"}


@lesson.beat(
    "Training under bfloat16 autocast",
    narration="""Now train for real. The same small model learns the same data twice: once in float32, once
    inside torch dot autocast with bfloat16, where matrix products run in bfloat16 while the weights stay
    float32. | The float32 loss falls to {{ fp32[-1] }}. | The bfloat16 run follows it
    closely, ending at {{ bf16[-1] }}: rounding noise, not a different lesson learned.""",
    visual=Curve("step", "fp32", "bf16", labels=["float32", "bfloat16 autocast"], y_label="loss"),
    slide=["`with torch.autocast(device_type, dtype=torch.bfloat16):`", "Matmuls in bfloat16, weights in float32",
           "Losses close to float32's, not equal"],
)
def autocast_training(device):
    x, y = regression_data(device)
    runs = {}
    for name, enabled in [("fp32", False), ("bf16", True)]:
        torch.manual_seed(0)
        model = make_model(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        losses = []
        for _ in range(15):
            with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=enabled):
                out = model(x)
            loss = F.mse_loss(out.float(), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.detach())
        runs[name] = torch.stack(losses)
        if enabled:
            expect(out.dtype == torch.bfloat16 and model[0].weight.dtype == torch.float32,
                   "inside autocast the output is bfloat16, the weights float32")
    fp32, bf16 = runs["fp32"], runs["bf16"]
    expect(fp32[-1] < fp32[0] / 2 and bf16[-1] < bf16[0] / 2, "both runs learn")
    expect(not torch.equal(fp32, bf16) and torch.allclose(fp32, bf16, rtol=0.05), "close, not equal")
    return {"step": torch.arange(1, 16), "fp32": fp32, "bf16": bf16}


@lesson.beat(
    "Four small batches, one big step",
    narration="""A big batch may not fit in memory. Gradient accumulation fakes it: run small micro-batches,
    let backward add their gradients into dot grad, and step once. | Here is the weight's gradient from the whole
    batch. | And here it is from {{ parts }} micro-batches, each loss divided by {{ parts }}. | Forget the
    division, and you get {{ parts }} times the gradient. | With the division, for a batch of {{ n }}, the two
    agree within rounding: the largest gap is {{ gap }}.""",
    visual=Show("full", "accumulated", "undivided", digits=4,
                caption="batch {{ n }}: gap {{ gap }}, allclose {{ close }}"),
    slide=["`(loss / steps).backward()` per micro-batch", "`.grad` adds up until `zero_grad()`",
           "One `step()` per effective batch"],
)
def accumulate(device):
    model = nn.Linear(4, 1).to(device)
    x = torch.randn(32, 4, device=device)
    y = torch.randn(32, 1, device=device)
    F.mse_loss(model(x), y).backward()
    full = model.weight.grad.clone()
    model.zero_grad()
    parts = 4
    for xb, yb in zip(x.chunk(parts), y.chunk(parts)):  # noqa: B905
        loss = F.mse_loss(model(xb), yb) / parts
        loss.backward()  # adds into .grad
    accumulated = model.weight.grad.clone()
    model.zero_grad()
    for xb, yb in zip(x.chunk(parts), y.chunk(parts)):  # noqa: B905
        F.mse_loss(model(xb), yb).backward()  # no division
    undivided = model.weight.grad.clone()
    close = torch.allclose(full, accumulated, atol=1e-6)
    expect(close, "the accumulated gradient matches the big batch's")
    expect(torch.allclose(undivided, parts * full, atol=1e-5), "without the division, parts times the gradient")
    expect_each([(s, k) for s in range(3) for k in (2, 4, 8)], lambda case: accumulation_matches(*case, device),
                "equal micro-batches, each loss divided by their count, give the big batch's gradient; "
                "undivided, that many times it")
    return {"full": full, "accumulated": accumulated, "undivided": undivided, "n": len(x), "parts": parts,
            "close": close,
            "gap": f"{(full - accumulated).abs().max():.1e}"}


@lesson.beat(
    "Accumulating through a training",
    narration="""Does the trick survive a whole training? | Here is a training on the full batch, one
    optimiser step per pass, | and the same training on micro-batches, stepping once after all their
    backwards: the two loss curves lie on top of each other, ending at {{ big[-1] }} and
    {{ accumulated[-1] }}. Yet each backward only held one micro-batch's activations in memory.""",
    visual=Curve("step", "big", "accumulated", labels=["full batch", "micro-batches accumulated"], y_label="loss"),
    slide=["Same data, same updates, smaller memory", "Step and zero_grad once per effective batch",
           "BatchNorm sees micro-batches: not identical"],
)
def accumulate_training(device):
    x, y = regression_data(device)
    parts = 4
    curves = {}
    for name, k in [("big", 1), ("accumulated", parts)]:
        torch.manual_seed(0)
        model = make_model(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        losses = []
        for _ in range(10):
            opt.zero_grad()
            total = 0.0
            for xb, yb in zip(x.chunk(k), y.chunk(k), strict=True):
                loss = F.mse_loss(model(xb), yb) / k
                loss.backward()
                total += loss.detach()
            opt.step()
            losses.append(total)
        curves[name] = torch.stack(losses)
    big, accumulated = curves["big"], curves["accumulated"]
    expect(torch.allclose(big, accumulated, atol=1e-5), "the two trainings give the same losses")
    expect(big[-1] < big[0] / 2, "it learns")
    return {"step": torch.arange(1, 11), "big": big, "accumulated": accumulated}


@lesson.beat(
    "torch.compile: the same numbers?",
    narration="""Now the speed potion. torch dot compile wraps the model and shares its parameters. The first
    call traces forward and backward into graphs for a backend; AOT eager, used here, runs them with torch's
    usual kernels, so expect no speed-up from it. | The plain model's outputs. | The compiled model's outputs. |
    Same to the last bit? torch dot equal says {{ same }}, for the outputs and all {{ n_grads }} gradients.
    Backends that write their own kernels may differ slightly: compare with allclose.""",
    visual=Show("eager", "compiled", digits=4, caption="outputs, {{ n_grads }} gradients: equal {{ same }}"),
    slide=["`fast = torch.compile(model)`: a wrapper", "It shares the model's parameters",
           "Check outputs and gradients, not just outputs"],
)
def compile_check(device):
    torch.compiler.reset()  # forget earlier compilations
    plain = nn.Sequential(nn.Linear(4, 16), nn.GELU(), nn.Linear(16, 1)).to(device)
    fast = torch.compile(plain, backend="aot_eager")
    x = torch.randn(3, 4, device=device)
    eager, compiled = plain(x)[:, 0], fast(x)[:, 0]
    grads = torch.autograd.grad(eager.sum(), plain.parameters())
    fast_grads = torch.autograd.grad(compiled.sum(), fast.parameters())
    pairs = [(eager, compiled), *zip(grads, fast_grads)]  # noqa: B905
    same = all(torch.equal(a, b) for a, b in pairs)
    expect(fast._orig_mod is plain and all(a is b for a, b in zip(fast.parameters(), plain.parameters(),
                                                                    strict=True)),
           "torch.compile(model) returns a wrapper sharing the model's parameters")
    expect(first_call_compiles(device), "the first call captures the forward and backward into graphs")
    expect(all(torch.allclose(a, b, atol=1e-6) for a, b in pairs), "outputs and gradients agree")
    return {"eager": eager, "compiled": compiled, "same": same, "n_grads": len(grads)}


@lesson.beat(
    "The price of the first call",
    narration="""Compiling costs time up front. Here is a training loop on a freshly compiled model, each step
    timed in milliseconds of processor time. | The first step took {{ ms[0] }}: tracing and compiling happen
    inside it. Later steps replay the graphs; the fastest took {{ fastest }}. | Your numbers will differ. AOT
    eager brings no speed-up; the default backend, inductor, writes fused kernels that can be faster, after a
    longer first call. Time your own.""",
    visual=Show("ms", digits=1, caption="CPU ms per step, device {{ where }}, backend aot_eager"),
    slide=["First call: trace and compile (slow)", "Later calls replay the compiled graphs",
           "Measure before you believe a speed-up"],
)
def compile_timing(device):
    torch.compiler.reset()  # forget earlier compilations
    model = nn.Sequential(nn.Linear(4, 16), nn.GELU(), nn.Linear(16, 1)).to(device)
    model = torch.compile(model, backend="aot_eager")
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x = torch.randn(32, 4, device=device)
    ms = torch.zeros(6)
    for i in range(6):
        start = time.process_time()  # CPU time
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        ms[i] = 1000 * (time.process_time() - start)
    expect(first_call_compiles(device), "the first call compiles; later calls reuse it")
    expect(ms[0] > ms[1:].min(), "the first step, compiling included, is slower than the fastest later one")
    expect(compiled_training_matches(device), "compiled training ends on the plain training's weights")
    return {"ms": ms.round(decimals=1), "fastest": f"{ms[1:].min():.1f}", "where": str(x.device)}


@lesson.beat(
    "Recap",
    narration="""The monster is leaner and quicker! | float16 keeps precision but overflows early; bfloat16 keeps
    float32's range with coarser steps. | int8 with one scale stores weights in about a quarter of the bytes. |
    Accumulate gradients by dividing each micro-batch loss by their count and stepping once. | torch dot compile
    wraps the model, and the first call pays for compiling. | And never trust a shortcut unchecked: compare its
    outputs and gradients with torch dot allclose.""",
    visual=Title(heading="What we optimised", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    expect(torch.tensor(70000.0).half().isinf() and torch.tensor(70000.0).bfloat16().isfinite(),
           "float16 overflows where bfloat16 does not")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Your trial, apprentice! | Take our small model, Linear, GELU, Linear, split a batch of {{ n }}
    into {{ parts }} micro-batches of {{ micro }}, and train it through torch dot compile with backend AOT eager,
    accumulating before each step. Then train a same-weights copy plainly on the full batch, and prove with
    torch dot allclose that the two loss curves agree. Bonus: time the first step of each.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["8 micro-batches of 4: one step per 32 samples", "Through `torch.compile(..., backend='aot_eager')`",
           "`torch.allclose` against a plain batch of 32"],
)
def challenge(device):
    x, y = regression_data(device)
    parts = 8
    expect(len(x.chunk(parts)) == parts and len(x) // parts == 4, "32 samples make 8 micro-batches of 4")
    expect_each(range(2), lambda seed: challenge_works(seed, device),
                "the challenge as written: compiled micro-batch losses allclose to the plain batch's")
    return {"n": len(x), "parts": parts, "micro": len(x) // parts}
