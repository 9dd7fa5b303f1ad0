"""2.5.2 Preparing Sacrificial Inputs & Targets.

Logits, not probabilities, go into CrossEntropyLoss; class-index targets are long, shape (N,) or (N, d1, ...),
with the class axis of the input at 1, so (B, T, C) logits are permuted or flattened; probability targets and
label smoothing; BCE takes float targets of the input's shape; the real errors torch raises otherwise.
"""

import torch
import torch.nn.functional as F  # noqa: N812  (the name every torch user writes)

from render.lesson import Lesson, capture_error, expect, expect_each
from scenes.vocabulary import Loss, Show, Title

SMOOTH = 0.1  # the label smoothing the soft-target beat uses (written in its caption)

def weaker_through_double_softmax(n, c, scale, dtype, device):
    """Whether cross-entropy of softmax(logits) sends a smaller gradient to random logits than cross-entropy of the
    logits themselves (n samples, c classes, logits of this scale and dtype)."""
    logits = (torch.randn(n, c, device=device) * scale).to(dtype).requires_grad_()
    target = torch.randint(0, c, (n,), device=device)
    (right,) = torch.autograd.grad(F.cross_entropy(logits, target), logits)
    (double,) = torch.autograd.grad(F.cross_entropy(logits.softmax(1), target), logits)
    return bool(double.float().norm() < right.float().norm())


def silent_differs(seed, device):
    """Whether (B, T, C) logits with T == C, unpermuted, give a loss other than the permuted one (a fresh draw)."""
    torch.manual_seed(seed)
    square = torch.randn(4, 5, 5, device=device)
    target = torch.randint(0, 5, (4, 5), device=device)
    return not torch.allclose(F.cross_entropy(square, target), F.cross_entropy(square.permute(0, 2, 1), target))


def out_of_range_refused(index):
    """Whether cross_entropy refuses a class index outside 0..C-1 (checked on the CPU: on a GPU a bad index is a
    device-side assert that breaks the process)."""
    return capture_error(lambda: F.cross_entropy(torch.randn(2, 3), torch.tensor([0, index]))) != ""


lesson = Lesson(
    objectives=[
        "Feed logits, not probabilities, to cross-entropy",
        "Give class indices as long targets of shape (N,)",
        "Put the class axis at 1: permute or flatten (B, T, C)",
        "Use probability targets, label smoothing, BCE targets",
        "Read the real errors for a wrong dtype or shape",
    ],
    recap=[
        "cross_entropy applies log_softmax itself: raw logits",
        "Class targets: long, (N,) or (N, d1, ...)",
        "Logits (N, C, d1, ...): permute(0, 2, 1) or flatten",
        "Soft targets: float (N, C); label_smoothing blends",
        "BCE: float targets, the same shape as the logits",
    ],
    challenge="Logits of shape (4, 10, 7) from a language model and targets of shape (4, 10): write two correct "
    "calls to F.cross_entropy (one with permute, one with flatten), predict that they agree, and check it.",
    seed=13,
)


@lesson.beat(
    "Preparing the sacrifice",
    narration="""Apprentices, a loss function is a fussy deity: offer it the wrong shape or the wrong type and it
    rejects the sacrifice, or worse, silently accepts nonsense. | Today we offer logits, not probabilities, |
    give targets the right type and shape, | put the class axis where torch expects it, | try soft targets,
    smoothing and binary targets, | and read the errors torch hurls when we get it wrong.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "Logits, not probabilities",
    narration="""The model's raw scores are logits, one per class. | Softmax turns them into probabilities that sum
    to one. | Cross entropy applies log softmax itself, so it wants the raw logits: the loss is {{ from_logits
    }}. | Feed it the probabilities instead and softmax runs twice, squashing everything: the loss becomes {{
    from_probs }}. | The gradient the right call sends back to the logits, | and the one through the
    double softmax: weaker, as it always is, so learning crawls. | Torch raises no error; only your training
    suffers. Never softmax before cross entropy!""",
    visual=Show("logits", "probs", "from_logits", "from_probs", "grad_from_logits", "grad_from_probs", code=False,
                caption="no error from torch: softmax belongs inside cross_entropy, once"),
    slide=["`F.cross_entropy(logits, y)`: raw scores", "No softmax first: it would be applied twice",
           "No error: a wrong loss, a weaker gradient"],
)
def logits_not_probs(device):
    logits = torch.tensor([[3.0, 0.5, -1.0]], device=device, requires_grad=True)
    target = torch.tensor([0], device=device)
    probs = logits.softmax(dim=1)
    from_logits = F.cross_entropy(logits, target)
    from_probs = F.cross_entropy(probs, target)
    (grad_from_logits,) = torch.autograd.grad(from_logits, logits, retain_graph=True)
    (grad_from_probs,) = torch.autograd.grad(from_probs, logits)
    expect(torch.allclose(probs.sum(), torch.tensor(1.0, device=device)), "the probabilities sum to one")
    expect(torch.allclose(from_logits, -probs[0, 0].log()), "cross-entropy applies log_softmax to the logits")
    expect(torch.allclose(from_probs, -probs.softmax(1)[0, 0].log()), "probabilities get a second softmax")
    expect_each(
        [(n, c, scale, dt) for n, c in [(1, 3), (8, 10), (32, 1000)] for scale in (0.1, 3.0, 20.0)
         for dt in (torch.float32, torch.float64, torch.bfloat16)],
        lambda case: weaker_through_double_softmax(*case, device),
        "the gradient through the double softmax is always weaker (smaller norm)")
    return {"logits": logits.detach()[0], "probs": probs.detach()[0], "from_logits": from_logits.detach(),
            "from_probs": from_probs.detach(), "grad_from_logits": grad_from_logits[0],
            "grad_from_probs": grad_from_probs[0]}


@lesson.beat(
    "Class-index targets",
    narration="""The usual target is one class index per sample, no one hot needed: {{ n }} indices for {{ n }}
    samples. Logits are {{ logits.shape }}, samples by classes. | Log softmax, and each
    index picks its entry. | The loss per sample. | And the mean. Each index names a column of the logits, so
    it must lie between zero and the number of classes minus one, here {{ last }}; torch refuses any other,
    except the ignore index of the next lesson.""",
    visual=Loss("logits", "target", "per", "loss", kind="cross_entropy", logp="logp"),
    slide=["Indices: one per sample, shape `(N,)`", "Values in `0 .. C-1`, or `ignore_index` (-100)",
           "Logits: `(N, C)`, class axis 1"],
)
def class_targets(device):
    logits = torch.randn(4, 3, device=device)
    target = torch.tensor([2, 0, 1, 2], device=device)
    logp = logits.log_softmax(dim=1)
    per = F.cross_entropy(logits, target, reduction="none")
    loss = F.cross_entropy(logits, target)
    expect(target.dtype == torch.long and target.shape == logits.shape[:1], "long targets of shape (N,)")
    expect(torch.allclose(per, -logp[torch.arange(4), target]), "each index picks its log-probability")
    expect(torch.long == torch.int64, "long is int64")
    expect_each([torch.int32, torch.int16, torch.float32],
                lambda dt: "Long or Byte" in capture_error(lambda: F.cross_entropy(logits, target.to(dt))),
                "int32 (and other non-long) index targets raise an error naming Long or Byte")
    expect(torch.equal(F.cross_entropy(logits, target.to(torch.uint8)), loss), "uint8 indices are accepted")
    expect_each([3, 5, -1, -2], out_of_range_refused, "an index outside 0..C-1 is refused")
    ignored = torch.tensor([2, -100, 1, 2], device=device)
    expect(torch.allclose(F.cross_entropy(logits, ignored), per[[0, 2, 3]].mean()), "-100 is valid: ignored")
    soft = logits.softmax(1)
    expect(capture_error(lambda: F.cross_entropy(logits, soft)) == "", "float targets shaped like the logits work")
    return {"logits": logits, "target": target, "logp": logp, "per": per, "loss": loss,
            "n": target.numel(), "last": logits.shape[1] - 1}


@lesson.beat(
    "Sequences: the class axis at 1",
    narration="""A language model gives logits shaped batch, time, classes, and cross entropy wants the classes
    at axis one. Reduction none keeps one loss per token. | Either permute to batch, classes, time: the losses
    come back shaped like the targets, {{ per_permuted.shape }}. | Or flatten to one row per token and flatten
    the targets to match: {{ tokens }} losses in a row, the same numbers. | Both give the same mean, {{ loss
    }}. | Choose whichever reads best.""",
    visual=Show("per_permuted", "per_flat", "loss",
                caption="permute(0, 2, 1) or reshape(-1, C): the same losses"),
    slide=["`F.cross_entropy(logits.permute(0, 2, 1), y)`", "or flatten: `logits.reshape(-1, C)`, `y.reshape(-1)`",
           "Targets `(B, T)`; logits `(B, C, T)`"],
)
def sequences(device):
    logits = torch.randn(2, 4, 5, device=device)
    target = torch.randint(0, 5, (2, 4), device=device)
    b, t, c = logits.shape
    per_permuted = F.cross_entropy(logits.permute(0, 2, 1), target, reduction="none")
    per_flat = F.cross_entropy(logits.reshape(-1, c), target.reshape(-1), reduction="none")
    loss = F.cross_entropy(logits.permute(0, 2, 1), target)
    expect(torch.allclose(per_permuted.reshape(-1), per_flat), "permute and flatten give the same per-token losses")
    expect(torch.allclose(loss, per_flat.mean()), "and the same mean")
    expect(torch.allclose(loss, F.cross_entropy(logits.reshape(-1, c), target.reshape(-1))), "flatten's mean too")
    return {"per_permuted": per_permuted, "per_flat": per_flat, "loss": loss, "tokens": b * t}


@lesson.beat(
    "Soft targets and smoothing",
    narration="""Targets may also be probabilities: a float tensor shaped like the logits, each row summing to
    one, like these one hot rows. | Label smoothing softens them: the true class keeps {{ keep }}, and every
    class, the true one too, gets an equal share of the rest. | Cross entropy with label smoothing, | and
    cross entropy against the smoothed rows: the same loss, as torch confirms. | Without class weights, label
    smoothing is just this soft target: a cure for overconfident models.""",
    visual=Show("one_hot", "smoothed", "smooth_loss", "soft_loss", code=False, digits=3,
                caption=f"label_smoothing={SMOOTH}: the soft target (1 - {SMOOTH}) one_hot + {SMOOTH} / C"),
    slide=["Soft targets: float `(N, C)`, rows sum to 1", "`label_smoothing=0.1`",
           "= soft target `(1 - e) one_hot + e / C`"],
)
def soft_targets(device):
    logits = torch.randn(2, 4, device=device)
    target = torch.tensor([1, 3], device=device)
    eps = SMOOTH
    one_hot = F.one_hot(target, 4).float()
    smoothed = (1 - eps) * one_hot + eps / 4
    smooth_loss = F.cross_entropy(logits, target, label_smoothing=eps)
    soft_loss = F.cross_entropy(logits, smoothed)
    expect(torch.allclose(smooth_loss, soft_loss), "label smoothing equals CE against the smoothed row")
    w = torch.tensor([1.0, 2.0, 3.0, 4.0], device=device)
    expect(not torch.allclose(F.cross_entropy(logits, target, label_smoothing=eps, weight=w),
                              F.cross_entropy(logits, smoothed, weight=w)), "with class weights they differ")
    expect(torch.allclose(F.cross_entropy(logits, one_hot), F.cross_entropy(logits, target)), "one-hot = index")
    expect(torch.allclose(smoothed.sum(1), torch.ones(2, device=device)), "each row sums to one")
    expect_each([torch.float32, torch.float64, torch.bfloat16],
                lambda dt: torch.allclose(F.cross_entropy(logits.to(dt), target, label_smoothing=eps).float(),
                                          F.cross_entropy(logits.to(dt), smoothed.to(dt)).float(), atol=1e-2),
                "label smoothing equals the soft target in other dtypes too")
    return {"one_hot": one_hot, "smoothed": smoothed, "smooth_loss": smooth_loss, "soft_loss": soft_loss,
            "eps": eps, "keep": f"{smoothed[0, 1].item():.3f}"}


@lesson.beat(
    "BCE targets: floats, same shape",
    narration="""Binary cross entropy with logits is stricter: its targets are floats of exactly the logits'
    shape, {{ logits.shape }}, a zero or a one for each output, or anything in between. | Every entry gets its own
    loss. | And the mean, {{ loss }}. Hand it long integer targets and torch refuses, as we will soon
    see.""",
    visual=Loss("logits", "target", "per", "loss", kind="bce_with_logits"),
    slide=["`F.binary_cross_entropy_with_logits(x, y)`", "y: float, `y.shape == x.shape`",
           "Values in [0, 1]: hard or soft labels"],
)
def bce_targets(device):
    logits = torch.randn(2, 3, device=device)
    target = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], device=device)
    per = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    loss = F.binary_cross_entropy_with_logits(logits, target)
    expect(target.dtype == torch.float32 and target.shape == logits.shape, "float targets of the same shape")
    expect(torch.allclose(loss, per.mean()), "the mean of every entry's loss")
    expect_each([target[:1], target[..., None], target.reshape(-1)],
                lambda y: "must be the same as input size" in capture_error(
                    lambda: F.binary_cross_entropy_with_logits(logits, y)),
                "exactly the logits' shape: even a broadcastable target is refused")
    return {"logits": logits, "target": target, "per": per, "loss": loss}


@lesson.beat(
    "Error: the wrong dtype",
    narration="""Now the classic curses. The first: class indices stored as
    floats, a common slip after loading labels from a file. | Logits as before, samples by classes, | and
    their targets, as floats. | Torch refuses: it wants Long or Byte, that is int64 or uint8. Float is refused,
    and so is int32. The cure is target dot long, best done once, where the dataset builds its labels.""",
    visual=Show("logits", "float_target", error="err_dtype"),
    slide=["Class indices: `torch.long` (or uint8)", "float or int32 indices: an error",
           "Fix: `target.long()`"],
)
def wrong_dtype(device):
    logits = torch.randn(4, 3, device=device)
    float_target = torch.tensor([2.0, 0.0, 1.0, 2.0], device=device)
    err_dtype = capture_error(lambda: F.cross_entropy(logits, float_target))
    expect("Long or Byte" in err_dtype, "float class indices raise an error naming Long or Byte")
    expect_each([torch.int32, torch.int16, torch.float64],
                lambda dt: "Long or Byte" in capture_error(lambda: F.cross_entropy(logits, float_target.to(dt))),
                "int32 (and other non-long) index targets are refused too")
    expect(capture_error(lambda: F.cross_entropy(logits, float_target.to(torch.uint8))) == "", "uint8 passes")
    expect(capture_error(lambda: F.cross_entropy(logits, float_target.long())) == "", "long() fixes it")
    return {"logits": logits, "float_target": float_target, "err_dtype": err_dtype}


@lesson.beat(
    "Error: BCE with long targets",
    narration="""Binary cross entropy curses the other way round. | Here its zeros and ones are stored as long
    integers, straight from a label file. | Torch refuses again, with a different message: it cannot cast its
    float result to long. The cure is target dot float, and the targets keep the logits' shape.""",
    visual=Show("long_target", error="err_bce"),
    slide=["BCE with long targets: error", "Fix: `target.float()`"],
)
def wrong_bce_dtype(device):
    logits = torch.randn(2, 3, device=device)
    long_target = torch.tensor([[1, 0, 1], [0, 1, 1]], device=device)
    err_bce = capture_error(lambda: F.binary_cross_entropy_with_logits(logits, long_target))
    expect(err_bce != "", "BCE with long targets raises an error")
    expect(capture_error(lambda: F.binary_cross_entropy_with_logits(logits, long_target.float())) == "",
           "float() fixes it")
    return {"long_target": long_target, "err_bce": err_bce}


@lesson.beat(
    "Error: the wrong shape",
    narration="""The third curse: handing cross entropy batch, time, classes logits without permuting. | The
    logits are {{ logits.shape }}: {{ b }} sequences of {{ t }} tokens, {{ c }} classes each. | The targets
    are {{ target.shape }}, one class per token. | Here is the real message. Torch read axis one, the {{ t }}
    time steps, as the classes, so it expected targets of {{ b }} by {{ c }}. The cure is permute, or flatten both.""",
    visual=Show("logits", "target", error="err_shape"),
    slide=["Logits `(B, T, C)` as-is: error", "Torch reads axis 1 as the classes",
           "Fix: `logits.permute(0, 2, 1)`"],
)
def wrong_shape(device):
    logits = torch.randn(2, 5, 3, device=device)
    target = torch.randint(0, 3, (2, 5), device=device)
    b, t, c = logits.shape
    err_shape = capture_error(lambda: F.cross_entropy(logits, target))
    expect(f"Expected target size [{b}, {c}]" in err_shape, "(B, T, C) logits: torch expects (B, C) targets")
    expect(capture_error(lambda: F.cross_entropy(logits.permute(0, 2, 1), target)) == "", "permute fixes it")
    return {"logits": logits, "target": target, "err_shape": err_shape, "b": b, "t": t, "c": c}


@lesson.beat(
    "The silent curse: T equals C",
    narration="""Worse is the curse that raises nothing: time and classes of the same size. | Logits of {{
    logits.shape }}, batch, time, classes, | and targets of {{ target.shape }}, which now fit what torch
    expects, so it raises nothing. | Without the permute, the loss is {{ silent }}, | but the right loss,
    classes at axis one, is {{ right }}. Torch trained you on the wrong number, in silence.""",
    visual=Show("logits", "target", "silent", "right"),
    slide=["If T == C: no error, a wrong loss", "Always: `logits.permute(0, 2, 1)`"],
)
def silent_shape(device):
    logits = torch.randn(2, 3, 3, device=device)
    target = torch.randint(0, 3, (2, 3), device=device)
    silent = F.cross_entropy(logits, target)
    right = F.cross_entropy(logits.permute(0, 2, 1), target)
    expect(not torch.allclose(silent, right), "with T == C there is no error, and the loss is wrong")
    expect_each(range(5), lambda seed: silent_differs(seed, device), "wrong on other draws too")
    return {"logits": logits, "target": target, "silent": silent, "right": right}


@lesson.beat(
    "Recap",
    narration="""The sacrifice is prepared! | Cross entropy applies log softmax itself, so feed raw logits. |
    Class targets are long, one index per sample or per token. | The class axis goes at one: permute or
    flatten sequences. | Soft targets and label smoothing use float rows that sum to one. | And binary cross
    entropy wants float targets of the logits' own shape.""",
    visual=Title(heading="What we prepared", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    logits = torch.randn(3, 4, device=device)
    target = torch.tensor([0, 3, 1], device=device)
    expect(torch.allclose(F.cross_entropy(logits, target), F.nll_loss(logits.log_softmax(1), target)), "raw")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Now, apprentice, prepare your own offering. | A language model gives logits shaped {{ shape }},
    and the targets are shaped {{ target_shape }}. Write two correct calls to cross entropy, one with permute
    and one with flatten. Predict that they agree, then let torch accept, or reject, your sacrifice.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["Logits (4, 10, 7), targets (4, 10)", "One call with permute, one with flatten",
           "Predict: the same loss"],
)
def challenge(device):
    logits = torch.randn(4, 10, 7, device=device)
    target = torch.randint(0, 7, (4, 10), device=device)
    a = F.cross_entropy(logits.permute(0, 2, 1), target)
    b = F.cross_entropy(logits.reshape(-1, 7), target.reshape(-1))
    expect(torch.allclose(a, b), "permute and flatten agree")
    return {"shape": "x".join(map(str, logits.shape)), "target_shape": "x".join(map(str, target.shape))}
