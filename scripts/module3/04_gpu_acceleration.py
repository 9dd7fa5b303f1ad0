"""3.4.1 GPU Acceleration: Lightning in a Bottle.

Device discovery and placement, moving models and batches (`pin_memory`, `non_blocking`), the classic
device-mismatch errors, and mixed precision with `autocast` and `GradScaler`, trained for real.

Module 0's rule for what the trace cannot run: this machine has no GPU, so a GPU-only output is written in the
code as a comment labelled "expected on a CUDA GPU" (the NumPy message is the one torch gives here for a "meta"
tensor, with cuda:0 in its place). Everything else runs where the trace runs and is captured: device discovery,
`.to`, a DataLoader, a real device-mismatch error (a "meta" model fed a cpu batch here; a cuda model on a GPU),
and float16 autocast with a GradScaler, trained for real.
"""

import torch
import torch.nn.functional as F  # noqa: N812  (the name every torch user writes)
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from render.lesson import Lesson, capture_error, expect, expect_each
from scenes.vocabulary import Show, Title

lesson = Lesson(
    objectives=[
        "Find the devices torch can use, and pick one",
        "Move models and tensors with .to(device)",
        "Feed batches: pin_memory and non_blocking",
        "Read the classic device-mismatch errors",
        "Train in mixed precision: autocast, GradScaler",
    ],
    recap=[
        "device = 'cuda' if torch.cuda.is_available() else 'cpu'",
        "model.to(device) moves in place; x = x.to(device)",
        "pin_memory=True with non_blocking=True copies",
        "Mismatch errors: move the odd tensor, .cpu() for NumPy",
        "autocast: float16 math; GradScaler: no underflow",
    ],
    challenge="Train the same small model twice, in float32 and under autocast with float16 and a GradScaler, "
    "from the same start: how close are the final losses? Then start the scaler at init_scale=2.0**24 and "
    "count the steps it skips.",
    seed=34,
)


def to_is_identity(case):
    """Whether .to(the device it is on) returns the tensor itself, for one (shape, dtype)."""
    shape, dtype = case
    x = torch.zeros(shape, dtype=dtype)
    return x.to("cpu") is x and x.to("cpu", non_blocking=True) is x


def module_moves_in_place(case):
    """Whether model.to(other device) returns the module itself with its parameters moved, while tensor.to
    returns a new tensor and leaves the original where it was, for one (module, target device)."""
    make, target = case
    model = make()
    x = torch.ones(2, 3)
    moved = x.to(target)
    return (model.to(target) is model and all(p.device.type == target for p in model.parameters())
            and moved is not x and x.device.type == "cpu" and moved.device.type == target)


def mismatch(case):
    """The error a layer on one device raises for an input on another, for one (layer, parameter device)."""
    make, where = case
    layer = make().to(where)
    x = torch.ones(2, 3)
    return capture_error(lambda: layer(x))


def numpy_refuses():
    """Whether .numpy() of a tensor off the cpu raises the TypeError that names its device and the fix."""
    error = capture_error(lambda: torch.ones(2, device="meta").numpy())
    needs_grad = capture_error(lambda: torch.ones(2, device="meta", requires_grad=True).numpy())
    return error == needs_grad == ("TypeError: can't convert meta device type tensor to numpy. Use Tensor.cpu() to "
                                   "copy the tensor to host memory first.")


def numpy_needs_detach():
    """Whether a model's output (it requires grad) refuses .cpu().numpy() on the cpu, and .detach().cpu().numpy()
    converts it."""
    out = nn.Linear(3, 2)(torch.ones(2, 3))
    error = capture_error(lambda: out.cpu().numpy())
    return (error.startswith("RuntimeError: Can't call numpy() on Tensor that requires grad")
            and out.detach().cpu().numpy().shape == (2, 2))


def autocast_dtypes(case):
    """(output dtype, loss dtype, weight dtype) of a Linear and a loss under autocast, for one (half dtype, loss)."""
    dtype, loss_fn = case
    model = nn.Linear(4, 3)
    x, target = torch.randn(2, 4), torch.tensor([0, 2])
    with torch.autocast(device_type="cpu", dtype=dtype):
        out = model(x)
        loss = loss_fn(out, target if loss_fn is F.cross_entropy else torch.zeros(2, 3))
    return out.dtype == dtype and loss.dtype == torch.float32 and model.weight.dtype == torch.float32


def scaler_run(seed):
    """(scales, losses) of eight float16 autocast steps with a default GradScaler, for one data seed."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(32, 4, generator=gen)
    y = 3 * x.sum(dim=1, keepdim=True)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu")
    scales, losses, weights = [], [], []
    for _ in range(8):
        with torch.autocast(device_type="cpu", dtype=torch.float16):
            loss = F.mse_loss(model(x), y)
        scales.append(int(scaler.get_scale()))
        weights.append(model.weight.detach().clone())
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()
        losses.append(loss.item())
    return torch.tensor(scales), torch.tensor(losses), weights + [model.weight.detach().clone()]


def scales_halve_then_settle(scales, losses):
    """Whether the scale halves for some first steps, with the loss unchanged (those steps were skipped), then
    stays put while the loss falls."""
    skipped = int((scales[1:] < scales[:-1]).sum())
    return (skipped > 0 and bool((scales[1:skipped + 1] == scales[:skipped] / 2).all())
            and bool((scales[skipped:] == scales[-1]).all()) and bool((losses[:skipped + 1] == losses[0]).all())
            and bool((losses[skipped + 1:] < losses[skipped:-1]).all()))


def skips_halve(seed):
    """Whether every step whose scale fell left the weights untouched (skipped), and every other step moved them."""
    scales, _, weights = scaler_run(seed)
    for k in range(len(scales) - 1):
        skipped = bool(scales[k + 1] < scales[k])
        if skipped != torch.equal(weights[k], weights[k + 1]) or (skipped and scales[k + 1] != scales[k] / 2):
            return False
    return True


def challenge_works():
    """The challenge as written: float32 and float16-with-scaler training end on close losses, and a scaler
    starting at 2**24 skips more steps than the default one."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(32, 4, generator=gen)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    start = nn.Linear(4, 1)

    def train(half, init_scale=2.0**16):
        model = nn.Linear(4, 1)
        model.load_state_dict(start.state_dict())
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, enabled=half)
        skipped = 0
        for _ in range(60):
            with torch.autocast(device_type="cpu", dtype=torch.float16, enabled=half):
                loss = F.mse_loss(model(x), y)
            before = scaler.get_scale()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            opt.zero_grad()
            skipped += int(half and scaler.get_scale() < before)
        return loss.item(), skipped

    full, _ = train(False)
    half, skips = train(True)
    _, more = train(True, 2.0**24)
    return abs(full - half) < 0.05 * max(full, 1e-3) + 1e-3 and more > skips


@lesson.beat(
    "Lightning in a bottle",
    narration="""Apprentices, our monster thinks at the speed of a candle. Today we bottle lightning: the GPU! |
    We will ask torch which devices it can use, and pick one, | move models and tensors onto it, | feed it
    batches quickly with pinned memory, | read the errors every apprentice meets when tensors sit on different
    devices, | and train in mixed precision, with auto cast and a grad scaler.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "Which devices are there?",
    narration="""First, ask what this machine has. Torch dot cuda dot is available says whether a CUDA GPU can
    be used, and device count says how many. Pick the device once, at the top, and create tensors straight on
    it. | Here x was made straight on the {{ device }}, as its label says. | Is available answered
    {{ available }}, and device count {{ count }}, as the caption shows. On a GPU machine the same lines
    pick cuda, and every line that uses device follows.""",
    visual=Show("x", caption="is_available(): {{ available }}, device_count(): {{ count }}"),
    slide=["`torch.cuda.is_available()`, `torch.cuda.device_count()`",
           "`device = 'cuda' if ... else 'cpu'`, picked once",
           "`torch.randn(2, 3, device=device)`"],
)
def discovery(device):
    available = torch.cuda.is_available()
    count = torch.cuda.device_count()
    device = "cuda" if available else "cpu"
    x = torch.randn(2, 3, device=device)
    expect(x.device.type == device, "a tensor is created on the device it is given")
    expect(available == (count > 0), "is_available is True exactly when some GPU is counted")
    return {"x": x, "available": available, "count": count, "device": device}


@lesson.beat(
    "Moving with .to(device)",
    narration="""To move a tensor, call dot to with the device. It returns a tensor on that device and leaves
    the original where it was, so assign the result. | Here is x, made on the cpu. | {% if device == "cpu" %}And
    here is what dot to returned: both sit on the cpu, so it hands back the very same tensor, no copy.{% else %}And
    here is what dot to returned: a copy on {{ device }}, while x stays on the cpu.{% endif %} | A model is
    different: model dot to moves every parameter in place and returns the model itself, so the caption
    says {{ same }}.""",
    visual=Show("x", "x_moved", caption="model.to(device) is model: {{ same }}"),
    slide=["`x = x.to(device)`: a new tensor; assign it", "Same device: the very same tensor, no copy",
           "`model.to(device)` moves parameters in place"],
)
def moving(device):
    x = torch.randn(2, 3)
    x_moved = x.to(device)  # a tensor: assign the result
    model = nn.Linear(3, 2)
    same = model.to(device) is model  # a module: moved in place
    expect((x_moved is x) == (x_moved.device == x.device), "on its own device, .to returns the very same tensor; "
           "on another, a copy")
    expect(same and model.weight.device.type == torch.device(device).type, "the module itself, its weights moved")
    expect_each([((2, 3), torch.float32), ((4,), torch.float16), ((2, 2, 2), torch.int64)], to_is_identity,
                "to() onto the tensor's own device returns the tensor itself")
    expect_each([(lambda: nn.Linear(3, 2), "meta"), (lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU()), "meta")],
                module_moves_in_place,
                "a module moves in place and returns itself; a tensor's to() returns a new one, the original stays")
    return {"x": x, "x_moved": x_moved, "same": same}


@lesson.beat(
    "Batches: pin_memory, non_blocking",
    narration="""Batches come from the data loader on the cpu, and every step must ship them across. | With pin
    memory equals True, the loader puts each batch in page-locked memory, which the GPU can copy from directly;
    with non blocking equals True, the copy is queued and the cpu runs on instead of waiting for it. | Pinning
    needs a GPU, so we ask for it only when cuda is available: here pinned is {{ pinned }}.""",
    visual=Show("xb", caption="pinned: {{ pinned }}"),
    slide=["`DataLoader(..., pin_memory=True)` on a GPU machine", "`xb.to(device, non_blocking=True)`",
           "Pinned memory: faster copies the cpu need not wait for"],
)
def batches(device):
    data = TensorDataset(torch.randn(8, 3), torch.randn(8, 1))
    loader = DataLoader(data, batch_size=4, pin_memory=torch.cuda.is_available())
    for xb, yb in loader:
        pinned = xb.is_pinned()
        xb = xb.to(device, non_blocking=True)
        yb = yb.to(device, non_blocking=True)
    # expected on a CUDA GPU: pinned is True
    expect(pinned == torch.cuda.is_available(), "the loader pins batches exactly when asked to")
    expect(torch.cuda.is_available() or capture_error(lambda: torch.ones(2).pin_memory()) != "",
           "without a GPU, pinning memory raises")
    expect(xb.shape == (4, 3) and xb.device.type == torch.device(device).type, "the batch arrived on the device")
    return {"xb": xb, "pinned": pinned}


@lesson.beat(
    "Device-mismatch errors",
    narration="""The classic accident: the model went to one device, the batch stayed behind. With no GPU
    here, the model goes to the meta device: shapes, no data. | The batch x sits on the
    cpu. | Torch refuses to mix them: {{ error }} On a GPU, the message names cuda and cpu, as the comment
    shows. The fix, in the code below: move the batch to the model's device. And NumPy lives on the cpu: detach,
    dot cpu, then dot numpy.""",
    visual=Show("x", error="error"),
    slide=["A model on one device, its batch on another", "Fix: `x = x.to(device)` before the forward",
           "NumPy needs the cpu: `out.detach().cpu().numpy()`"],
)
def mismatch_error(device):
    # other: the GPU, else meta (shapes, no data)
    other = "meta" if device == "cpu" else device
    model = nn.Linear(3, 2).to(other)
    x = torch.ones(2, 3)  # the batch stayed on the cpu
    error = capture_error(lambda: model(x))
    # expected on a CUDA GPU (recent torch):
    # RuntimeError: Expected all tensors to be on
    #   the same device, but got mat1 is on cpu,
    #   different from other tensors on cuda:0 ...
    out = model(x.to(other))  # the fix: move the batch
    # out.numpy() on a GPU: TypeError: can't convert
    #   cuda:0 device type tensor to numpy. Use
    #   Tensor.cpu() to copy the tensor to host
    #   memory first. So: out.detach().cpu().numpy()
    expect(error.startswith("RuntimeError") and ("meta" in error or "cuda" in error),
           "the forward pass refuses a batch on another device, naming the device")
    expect(out.device == model.weight.device and out.shape == (2, 2), "with the batch moved, the forward runs")
    expect_each([(lambda: nn.Linear(3, 2), "meta"), (lambda: nn.Sequential(nn.Linear(3, 4)), "meta"),
                 (lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)), "meta")],
                lambda case: mismatch(case).startswith("RuntimeError"),
                "a Linear with a bias refuses an input on another device")
    expect(numpy_refuses(), "numpy() refuses a tensor off the cpu with the message the comment shows for cuda:0, "
           "before any complaint about grad")
    expect(numpy_needs_detach(), "a model's output needs detach before numpy, even on the cpu; "
           "detach().cpu().numpy() works")
    return {"x": x, "error": error}


@lesson.beat(
    "Mixed precision: autocast",
    narration="""Now speed. A modern GPU's tensor cores multiply half-precision floats far faster than
    float32, so auto cast runs the heavy layers in float16 while the weights stay float32. | Inside the
    block, the Linear layer's output is {{ out.dtype }}. | The loss comes out {{ loss.dtype }}: auto cast
    runs built-in losses such as cross entropy in full precision. | And the weights themselves are still
    {{ weight_dtype }}, so every update lands in full precision.""",
    visual=Show("out", "loss", caption="model.weight.dtype: {{ weight_dtype }}"),
    slide=["`with torch.autocast(device, dtype=torch.float16):`",
           "Matmuls in float16; built-in losses in float32", "Weights stay float32: updates keep precision"],
)
def autocast(device):
    model = nn.Linear(4, 3).to(device)
    x = torch.randn(2, 4, device=device)
    target = torch.tensor([0, 2], device=device)
    with torch.autocast(device, dtype=torch.float16):
        out = model(x)
        loss = F.cross_entropy(out, target)
    expect(out.dtype == torch.float16 and loss.dtype == torch.float32, "float16 output, float32 loss")
    expect_each([(d, f) for d in (torch.float16, torch.bfloat16) for f in (F.cross_entropy, F.mse_loss, F.l1_loss)],
                autocast_dtypes, "under autocast: half-precision outputs, float32 built-in losses, float32 weights")
    weight_dtype = model.weight.dtype
    return {"out": out, "loss": loss, "weight_dtype": weight_dtype}


@lesson.beat(
    "GradScaler: no underflow",
    narration="""Float16 has a weakness: tiny gradients round to zero. The grad scaler multiplies the loss by a
    large scale before backward, then divides the gradients back before the step. | It starts at
    {{ scales[0] }}. When the scaled gradients overflow, the step is skipped and the scale halves, down to
    {{ scales[-1] }}. | Meanwhile the loss waits at {{ losses[0] }}, then falls to {{ losses[-1] }}: the
    scale found its level. Scale, step, update, and float16 trains safely, its tiny gradients kept alive.""",
    visual=Show("scales", "losses", stack=True),
    slide=["`scaler.scale(loss).backward()`", "`scaler.step(opt)`; `scaler.update()`",
           "Overflow: the step is skipped, the scale halves"],
)
def grad_scaler(device):
    x = torch.randn(32, 4, device=device)
    y = 3 * x.sum(dim=1, keepdim=True)
    model = nn.Linear(4, 1).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler(device)
    scales, losses = [], []
    for _ in range(6):
        with torch.autocast(device, dtype=torch.float16):
            loss = F.mse_loss(model(x), y)
        scales.append(int(scaler.get_scale()))
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()
        losses.append(loss.item())
    expect(scales[0] == 2.0**16, "the default scale starts at 65536")
    expect(scales_halve_then_settle(torch.tensor(scales), torch.tensor(losses)),
           "the first steps overflow and each halves the scale while the loss waits; then the loss falls")
    expect_each([0, 1, 2, 3], skips_halve, "an overflowing step is skipped and the scale halves")
    return {"scales": torch.tensor(scales), "losses": torch.tensor(losses)}


@lesson.beat(
    "Recap",
    narration="""The lightning is bottled, mwahahaha! | Ask torch dot cuda dot is available, and pick the device
    once. | Model dot to moves in place; for tensors, assign the result of dot to. | Pin memory and non blocking
    keep the GPU fed. | A mismatch error names both devices: move the odd tensor, and call dot cpu before
    NumPy. | Auto cast computes in float16, and the grad scaler keeps small gradients alive.""",
    visual=Title(heading="What we bottled", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    model = nn.Linear(3, 2)
    expect(model.to("cpu") is model, "model.to returns the model itself")
    expect(torch.amp.GradScaler("cpu", enabled=False).scale(torch.tensor(2.0)) == 2.0,
           "a disabled GradScaler passes the loss through, so the same code runs without a GPU")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Your trial, apprentice. | Train the same small model twice from the same start: once in
    float32, once under auto cast with float16 and a grad scaler. How close are the final losses? Then start
    the scaler at the much larger init scale on the card, and count the steps it skips before training
    begins.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["Train in float32 and in float16 with autocast", "Compare the final losses",
           "Start at `init_scale=2.0**24`: count skipped steps"],
)
def challenge(device):
    expect(challenge_works(), "float16 with a GradScaler ends near float32, and a larger start skips more steps")
    return {}
