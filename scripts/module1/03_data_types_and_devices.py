"""1.1.4 DTypes & Devices: Choose Your Weapons. What each dtype can hold and where it loses, and how to
pick a device, move tensors there, and measure what it buys (a real timing, only when a GPU is present)."""

import time

import torch

from render.lesson import Lesson, capture_error
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
        "Small ints wrap, int casts truncate, bool is True/False",
        "`.to(dtype)` halves memory from float32 to 16-bit",
        "`.to(device)` copies; pick cuda, then mps, then cpu",
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
    {{ int_bytes }} bytes each. | Decimals become {{ floats.dtype }}, at {{ float_bytes }} bytes. | Truth
    values become {{ flags.dtype }}, at {{ bool_bytes }} byte each. Mix an integer with a float and the result
    is promoted to {{ mixed.dtype }}, so nothing is silently lost.""",
    visual=Show("ints", "floats", "flags"),
    slide=["Integers: `int64`", "Decimals: `float32`", "Comparisons and flags: `bool`",
           "Mixed arithmetic promotes to float"],
)
def defaults(device):
    ints = torch.tensor([1, 2, 3], device=device)
    floats = torch.tensor([0.5, 1.5], device=device)
    flags = torch.tensor([True, False], device=device)
    mixed = ints + floats[0]
    return {
        "ints": ints, "floats": floats,
        "flags": flags, "mixed": mixed,
        "int_bytes": ints.element_size(),
        "float_bytes": floats.element_size(),
        "bool_bytes": flags.element_size(),
    }


@lesson.beat(
    "Three ways to store a float",
    narration="""Let us dissect one humble number in three formats. | float32 spends its bits on a wide
    exponent and a long mantissa, and stores {{ f32_text }}. | float16 has half the bits and stores
    {{ f16_text }}, already off in the fourth decimal. | bfloat16 keeps float32's exponent but only a stub of
    mantissa, and stores {{ bf16_text }}. | The exponent buys range, the mantissa buys precision.""",
    visual=BitFields("f32", "f16", "bf16"),
    slide=["Sign, exponent (range), mantissa (precision)", "`float16`: short exponent",
           "`bfloat16`: float32's exponent, short mantissa"],
)
def float_bits(device):
    f32 = torch.tensor([0.1], device=device)
    f16 = f32.to(torch.float16)
    bf16 = f32.to(torch.bfloat16)
    return {"f32": f32, "f16": f16, "bf16": bf16,
            "f32_text": f"{f32.item():.5f}",
            "f16_text": f"{f16.item():.5f}",
            "bf16_text": f"{bf16.item():.5f}"}


@lesson.beat(
    "Where the small floats lose",
    narration="""Now we push them to breaking point. | Here is {{ big.item }}, safe in float32. | float16 can
    hold nothing above {{ f16_max }}, so it becomes {{ big16.item }}. Disaster! | bfloat16 survives the same
    number, but rounds it to {{ bigbf.item }}. | And its coarse mantissa turns {{ small_text }} into
    {{ smallbf_text }}. So float16 overflows while bfloat16 blurs: train in bfloat16 when you can, and watch
    float16 for infinities.""",
    visual=Show("big", "big16", "bigbf", "smallbf"),
    slide=["`float16`: overflows to inf early", "`bfloat16`: huge range, few digits",
           "`torch.finfo(dtype)` tells the limits"],
)
def float_limits(device):
    big = torch.tensor([70000.0], device=device)
    big16 = big.to(torch.float16)
    bigbf = big.to(torch.bfloat16)
    small = torch.tensor([1.001], device=device)
    smallbf = small.to(torch.bfloat16)
    f16_max = torch.finfo(torch.float16).max
    return {
        "big": big, "big16": big16, "bigbf": bigbf,
        "small": small, "smallbf": smallbf,
        "f16_max": int(f16_max),
        "small_text": f"{small.item():.3f}",
        "smallbf_text": f"{smallbf.item():.3f}",
    }


@lesson.beat(
    "Integers and booleans",
    narration="""Integers are exact, until they are not. | An int8 holds at most {{ int8_max }}; add one more
    and it wraps around to {{ wrapped.item }}, without a word of warning. | Casting floats to an integer type
    truncates towards zero: {{ decimals.values }} become {{ truncated.values }}. | And bool keeps only truth:
    every nonzero value becomes True, so {{ raw.values }} turn into {{ flags.values }}.""",
    visual=Show("wrapped", "truncated", "flags"),
    slide=["`int8` wraps silently past its maximum", "float to int truncates toward zero",
           "Any nonzero becomes `True`"],
)
def integers_and_bools(device):
    int8_max = torch.iinfo(torch.int8).max
    top = torch.tensor([int8_max], dtype=torch.int8, device=device)
    wrapped = top + 1
    decimals = torch.tensor([2.7, -2.7], device=device)
    truncated = decimals.to(torch.int64)
    raw = torch.tensor([0.0, 0.5, -3.0], device=device)
    flags = raw.to(torch.bool)
    return {
        "int8_max": int8_max, "wrapped": wrapped,
        "decimals": decimals,
        "truncated": truncated, "raw": raw,
        "flags": flags,
    }


@lesson.beat(
    "Converting an embedding table",
    narration="""A real weapon: an embedding table, one vector per word. | Convert it with to bfloat16 and
    each number shrinks from {{ bytes32 }} bytes to {{ bytes16 }}, while the values move only a little:
    {{ before }} is stored as {{ after }}. | For a vocabulary of {{ vocab }} words and width {{ width }}, that
    is {{ mb32 }} megabytes in float32 against {{ mb16 }} in bfloat16. Mwahaha, half the memory!""",
    visual=Show("table", "half"),
    slide=["`t.to(torch.bfloat16)`, `t.half()`, `t.float()`", "16-bit: half the bytes per number",
           "Pick the dtype at creation with `dtype=`"],
)
def converting(device):
    table = torch.randn(5, 4, device=device)
    half = table.to(torch.bfloat16)
    bytes32, bytes16 = table.element_size(), half.element_size()
    before = f"{table[0, 0].item():.4f}"
    after = f"{half[0, 0].item():.4f}"
    vocab, width = 50257, 768
    mb32 = round(vocab * width * bytes32 / 1e6)
    mb16 = round(vocab * width * bytes16 / 1e6)
    return {
        "table": table, "half": half,
        "bytes32": bytes32, "bytes16": bytes16,
        "vocab": vocab, "width": width,
        "mb32": mb32, "mb16": mb16,
        "before": before, "after": after,
    }


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
           "`t.to(device)` copies across", "Operands must share a device"],
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
    return {
        "x": x, "moved": moved, "best": best,
        "mix_error": mix_error,
    }


@lesson.beat(
    "CPU against GPU",
    narration="""The decisive experiment: the same matrix product, {{ n }} by {{ n }}, on each device. | The
    cpu takes {{ cpu_ms }} milliseconds. {% if gpu_ms %}| On the {{ gpu }}, it takes {{ gpu_ms }}
    milliseconds, about {{ speedup }} times faster. Such power! Small tensors gain little, though: copying
    them across can cost more than it saves.{% else %}| This render found no GPU, so there is nothing to
    compare, and we will not invent a figure. Run this lesson on a machine with cuda or mps and this beat
    measures both. {% endif %}""",
    visual=Show("timings", caption="milliseconds per product: cpu, then GPU if present"),
    slide=["Time with `torch.cuda.synchronize()`", "Big products: GPUs win by far",
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
    speedup = round(cpu_ms / gpu_ms) if gpu_ms else None
    cpu_ms, gpu_ms = round(cpu_ms, 1), gpu_ms and round(gpu_ms, 2)
    measured = [t for t in (cpu_ms, gpu_ms) if t]
    timings = torch.tensor(measured, device=device)
    return {
        "n": n, "cpu_ms": cpu_ms,
        "gpu_ms": gpu_ms, "gpu": gpu_name(device),
        "speedup": speedup, "timings": timings,
    }


@lesson.beat(
    "Recap",
    narration="""Your arsenal is assembled! | Integers default to int64 and decimals to float32. | float16
    overflows early, while bfloat16 keeps the range and sacrifices digits. | Small integers wrap, casts
    truncate, and bool keeps only truth. | Converting to half precision halves the memory. | And to moves
    tensors between devices: cuda first, then mps, then the cpu.""",
    visual=Title(heading="What we conjured", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
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
    return {}
