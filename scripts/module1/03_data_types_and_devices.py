"""1.1.4 DTypes & Devices: Choose Your Weapons. What each dtype can hold and where it loses, and how to
pick a device, move tensors there, and measure what it buys (a real timing, only when a GPU is present)."""

import time

import torch

from render.lesson import Lesson, capture_error, expect
from scenes.vocabulary import BitFields, DeviceMove, Show, Title

lesson = Lesson(
    objectives=[
        "The default dtypes: int64, float32, bool",
        "float32, float16, bfloat16: range against precision",
        "Integers and bools: what they hold, how they break",
        "Convert dtypes and count the memory saved",
        "Devices: cpu, cuda, mps; move tensors; pick the best",
    ],
    recap=[
        "Integers default to int64, decimals to float32",
        "float16 overflows early; bfloat16 keeps range, loses digits",
        "Small ints wrap, int casts truncate, nonzero is True",
        "`.to(torch.bfloat16)` halves a float32 tensor's memory",
        "`.to(device)` copies across; pick cuda, mps, then cpu",
    ],
    challenge="Write a function best_device() that returns cuda, mps or cpu. Then time a large matrix "
    "product in float32 and in bfloat16 on it, and explain any difference you see.",
)


def synchronize(device):
    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


def time_ms(fn, device, repeats=5):
    """Median wall time of `fn` in milliseconds, after a warm-up call, waiting for the device to finish."""
    fn()
    synchronize(device)
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        runs.append((time.perf_counter() - start) * 1000)
    return sorted(runs)[len(runs) // 2]


def gpu_name(device):
    """The accelerator's own name, for narration."""
    if device == "cuda":
        return torch.cuda.get_device_name()
    return "Apple GPU" if device == "mps" else "cpu"


def race(n, cpu_ms, gpu_ms, device):
    """The timing beat's figures, rounded once, and its claims about them checked."""
    cpu_ms, gpu_ms = round(cpu_ms, 1), gpu_ms and round(gpu_ms, 2)
    expect(bool(gpu_ms) == (device != "cpu"), "a GPU figure exactly when a GPU ran, none invented")
    ratio = verdict = None
    if gpu_ms:
        ratio = round(max(cpu_ms, gpu_ms) / min(cpu_ms, gpu_ms))
        verdict = "faster" if gpu_ms < cpu_ms else "slower"
        expect(tiny_copy_loses(device), "a tiny product gains nothing from the trip to the GPU")
    timings = torch.tensor([t for t in (cpu_ms, gpu_ms) if t], device=device)
    return {"n": n, "cpu_ms": cpu_ms, "gpu_ms": gpu_ms, "gpu": gpu_name(device),
            "ratio": ratio, "verdict": verdict, "timings": timings}


def tiny_copy_loses(device):
    """An 8x8 product on the CPU against copying it to `device`, multiplying there and copying back."""
    tiny = torch.randn(8, 8)
    here = time_ms(lambda: tiny @ tiny, "cpu")
    there = time_ms(lambda: (tiny.to(device) @ tiny.to(device)).cpu(), device)
    return there > here



@lesson.beat(
    "What you will learn",
    narration="""Every archmage chooses spell components with care, and so shall you. | We meet the default
    dtypes torch picks for you. | We pit float32, float16 and bfloat16 against each other, range against
    precision. | We see what integers and booleans can hold, and how they break. | We convert, and count the
    memory saved. | And we choose a device, move tensors onto it, and time the difference.""",
    visual=Title(heading="Today in the laboratory", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "The default dtypes",
    narration="""torch reads your data and picks a dtype. | Whole numbers become {{ ints.dtype }}, at
    {{ size[0] }} bytes each. | Decimals become {{ floats.dtype }}, at {{ size[1] }} bytes. | Truth values
    become {{ flags.dtype }}, at {{ size[2] }} byte each. | Add a float to the integers and the result is
    promoted to {{ mixed.dtype }}. But look at the last cell: {{ ints.values[1] }} plus {{ floats.values[0] }}
    came out as {{ mixed.values[1] }}. float32 cannot hold every whole number that large, so the promotion
    rounded without a word.""",
    visual=Show("ints", "floats", "flags", "mixed", digits=1),
    slide=["Integers: `int64`", "Decimals: `float32`", "Comparisons and flags: `bool`",
           "int + float promotes to float32, which may round"],
)
def defaults(device):
    ints = torch.tensor([1, 16777217], device=device)
    floats = torch.tensor([0.5, 1.5], device=device)
    flags = torch.tensor([True, False], device=device)
    mixed = ints + floats[0]
    expect(mixed.dtype == torch.float32, "promoted")
    expect(mixed[1].item() != 16777217.5, "rounded")
    size = [t.itemsize for t in (ints, floats, flags)]
    return {"ints": ints, "floats": floats,
            "flags": flags, "mixed": mixed, "size": size}


@lesson.beat(
    "Three ways to store a float",
    narration="""Let us dissect one humble number in three formats. | float32 spends its bits on a wide
    exponent and a long mantissa, and stores {{ f32_text }}. | float16 has half the bits and stores
    {{ f16_text }}: the error already shows in the fifth decimal. | bfloat16 keeps float32's exponent but
    only a stub of mantissa, and stores {{ bf16_text }}, {{ ratio }} times further off. | The exponent buys
    range, the mantissa buys precision.""",
    visual=BitFields("f32", "f16", "bf16"),
    slide=["Sign, exponent (range), mantissa (precision)", "`float16`: short exponent",
           "`bfloat16`: float32's exponent, short mantissa"],
)
def float_bits(device):
    f32 = torch.tensor([0.1], device=device)
    f16 = f32.to(torch.float16)
    bf16 = f32.to(torch.bfloat16)
    err16, err_bf = (abs(t.item() - 0.1) for t in (f16, bf16))
    expect(1e-5 <= err16 < 1e-4, "float16's error on 0.1 is in the fifth decimal")
    expect(err_bf > err16, "bfloat16 is further off")
    f32_info, bf16_info = torch.finfo(torch.float32), torch.finfo(torch.bfloat16)
    expect(bf16_info.smallest_normal == f32_info.smallest_normal, "bfloat16 keeps float32's exponent range")
    expect(bf16_info.bits == 16 and torch.finfo(torch.float16).bits == 16, "half the bits")
    return {"f32": f32, "f16": f16, "bf16": bf16, "ratio": round(err_bf / err16),
            "f32_text": f"{f32.item():.5f}",
            "f16_text": f"{f16.item():.5f}",
            "bf16_text": f"{bf16.item():.5f}"}


@lesson.beat(
    "Where the small floats lose",
    narration="""Now we push them to breaking point. | Here is {{ big.item }}, safe in float32. | float16 can
    hold nothing above {{ f16_max }}, so it becomes {{ big16.item }}. Disaster! | bfloat16 survives the same
    number, but rounds it to {{ bigbf.item }}. | And its coarse mantissa turns {{ texts[0] }} into
    {{ texts[1] }}. So float16 overflows while bfloat16 blurs: train in bfloat16 when you can, and watch
    float16 for infinities.""",
    visual=Show("big", "big16", "bigbf", "smallbf"),
    slide=["`float16`: overflows to inf early", "`bfloat16`: huge range, few digits",
           "`torch.finfo(dtype)` tells the limits"],
)
def float_limits(device):
    big = torch.tensor([70000.0], device=device)
    big16, bigbf = big.half(), big.bfloat16()
    f16_max = int(torch.finfo(torch.float16).max)
    expect(big16.isinf().all(), "float16 overflows")
    expect(bigbf.isfinite().all(), "bfloat16 survives")
    small = torch.tensor([1.001], device=device)
    smallbf = small.bfloat16()
    texts = [f"{t.item():.3f}" for t in (small, smallbf)]
    return {"big": big, "big16": big16, "bigbf": bigbf,
            "smallbf": smallbf, "f16_max": f16_max,
            "texts": texts}


@lesson.beat(
    "Integers",
    narration="""Integers are exact, until they are not. | An int8 holds at most {{ int8_max }}; add one more
    and it wraps around to {{ wrapped.item }}, without a word of warning. | Casting floats to an integer type
    neither rounds nor floors: it truncates towards zero, so {{ decimals.values }} become
    {{ truncated.values }}.""",
    visual=Show("wrapped", "truncated"),
    slide=["`int8` wraps silently past its maximum", "float to int truncates toward zero",
           "`torch.iinfo(dtype)` tells the limits"],
)
def integers(device):
    int8 = torch.iinfo(torch.int8)
    top = torch.tensor([int8.max], dtype=torch.int8)
    wrapped = top.to(device) + 1
    expect(wrapped == int8.min, "it wraps to the minimum")
    decimals = torch.tensor([2.7, -2.7], device=device)
    truncated = decimals.to(torch.int64)
    expect((truncated == decimals.trunc()).all(), "toward zero")
    return {"int8_max": int8.max, "wrapped": wrapped,
            "decimals": decimals, "truncated": truncated}


@lesson.beat(
    "Booleans",
    narration="""And bool keeps only truth. | Take these numbers: {{ raw.values }}. | Cast them to bool and
    every nonzero value becomes True, the half and the negative too: {{ flags.values }}. | Each flag costs
    {{ size }} byte, and summing flags counts the True ones: {{ count.item }}.""",
    visual=Show("raw", "flags", "count"),
    slide=["Any nonzero becomes `True`", "One byte per flag", "`flags.sum()` counts the True ones"],
)
def booleans(device):
    raw = torch.tensor([0.0, 0.5, -3.0, 2.0], device=device)
    flags = raw.to(torch.bool)
    expect(torch.equal(flags, raw != 0), "nonzero is True")
    count = flags.sum()
    expect(count == (raw != 0).sum(), "the sum counts them")
    return {"raw": raw, "flags": flags, "count": count,
            "size": flags.element_size()}


@lesson.beat(
    "Converting an embedding table",
    narration="""A real weapon: an embedding table, one vector per word. | Convert it with to bfloat16 and
    each number shrinks from {{ size[0] }} bytes to {{ size[1] }}, while the values move only a little, as
    the two grids show. | For a vocabulary of {{ vocab }} words and width {{ width }}, that is {{ mb[0] }}
    megabytes in float32 against {{ mb[1] }} in bfloat16. Mwahaha, half the memory!""",
    visual=Show("table", "half"),
    slide=["`t.to(torch.bfloat16)` or `t.bfloat16()`", "`t.half()` is float16, not bfloat16",
           "16-bit: half the bytes per number", "Pick the dtype at creation with `dtype=`"],
)
def converting(device):
    table = torch.randn(4, 4, device=device)
    half = table.to(torch.bfloat16)
    drift = ((half - table) / table).abs().max()
    expect(drift < 0.01, "values move a little")
    size = [t.itemsize for t in (table, half)]
    expect(size[1] * 2 == size[0], "half the bytes")
    vocab, width = 50257, 768
    mb = [vocab * width * s // 10**6 for s in size]
    return {"table": table, "half": half,
            "size": size, "mb": mb,
            "vocab": vocab, "width": width}


@lesson.beat(
    "Choosing and moving devices",
    narration="""Now, where shall the arithmetic happen? We ask torch for the best device: cuda on NVIDIA
    cards, mps on Apple silicon, else the cpu. Here torch answers {{ best }}{% if best != device %}, though
    this render was told to use {{ device }}{% endif %}. {% if mix_error %}| The to method copies our tensor from
    {{ x.device }} to {{ moved.device }}. Mix the two in one operation and torch refuses: tensors must share a
    device.{% else %}| Asked to move our tensor to {{ moved.device }}, where it already lives, the to method hands back
    the very same tensor, with no copy at all.{% endif %}""",
    visual=DeviceMove("x", "moved"),
    slide=["`torch.cuda.is_available()`", "`torch.backends.mps.is_available()`",
           "`t.to(device)` copies across devices", "Operands must share a device"],
)
def devices(device):
    if torch.cuda.is_available():
        best = "cuda"
    elif torch.backends.mps.is_available():
        best = "mps"
    else:
        best = "cpu"
    x = torch.arange(4)
    moved = x.to(best)
    mix_error = ""
    if moved.device != x.device:
        mix_error = capture_error(lambda: x + moved)
        expect(mix_error != "", "tensors on two devices do not mix")
        expect(moved.data_ptr() != x.data_ptr(), "to copies across devices")
    else:
        expect(moved is x, "to the same device: the very same tensor")
    return {"x": x, "moved": moved, "best": best, "mix_error": mix_error}


@lesson.beat(
    "CPU against GPU",
    narration="""The decisive experiment: the same matrix product, {{ n }} by {{ n }}, on each device. | The
    cpu takes {{ cpu_ms }} milliseconds. {% if gpu_ms %}| On the {{ gpu }}, it takes {{ gpu_ms }}
    milliseconds, about {{ ratio }} times {{ verdict }}. Small tensors gain nothing, though: copying them
    across costs more than it saves.{% else %}| This render found no GPU, so there is nothing to
    compare, and we will not invent a figure. Run this lesson on a machine with cuda or mps and this beat
    measures both. {% endif %}""",
    visual=Show("timings", caption="milliseconds per product: cpu, then GPU if present"),
    slide=["Time with `torch.cuda.synchronize()`", "Big products: the GPU usually wins",
           "Tiny tensors: the copy costs more"],
)
def timing(device):
    n = 1024
    a = torch.randn(n, n)
    cpu_ms = time_ms(lambda: a @ a, "cpu")
    gpu_ms = None
    if device != "cpu":
        g = a.to(device)
        gpu_ms = time_ms(lambda: g @ g, device)
    return race(n, cpu_ms, gpu_ms, device)


@lesson.beat(
    "Recap",
    narration="""Your arsenal is assembled! | Integers default to int64 and decimals to float32. | float16
    overflows early, while bfloat16 keeps the range and sacrifices digits. | Small integers wrap, casts
    truncate, and any nonzero value is True. | Converting float32 to bfloat16 or float16 halves the memory. |
    And the to method copies tensors across devices: cuda first, then mps, then the cpu.""",
    visual=Title(heading="What we conjured", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    expect(torch.tensor([1]).dtype == torch.int64 and torch.tensor([1.0]).dtype == torch.float32, "defaults")
    f16, bf16 = torch.finfo(torch.float16), torch.finfo(torch.bfloat16)
    expect(f16.max < bf16.max and f16.eps < bf16.eps, "bfloat16: more range, fewer digits")
    x = torch.ones(4, device=device)
    expect(x.to(torch.bfloat16).element_size() * 2 == x.element_size(), "16-bit halves the memory")
    expect(x.to(torch.float16).element_size() * 2 == x.element_size(), "for float16 too")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Your final trial, apprentice. | Write a function called best device that returns cuda, mps or
    cpu, whichever your machine offers first. Then time a large matrix product on that device, once in float32
    and once in bfloat16. Remember to synchronize before you stop the clock! Explain the difference, and then,
    only then, may you cackle.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["Write `best_device()`: cuda, mps or cpu", "Time a big matmul in float32 and bfloat16",
           "Synchronize before you stop the clock"],
)
def challenge(device):
    a = torch.randn(8, 8, device=device, dtype=torch.bfloat16)
    expect(capture_error(lambda: a @ a) == "", "bfloat16 products run on this device")
    return {}
