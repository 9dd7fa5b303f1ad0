"""1.1.4 DTypes & Devices: Choose Your Weapons. What each dtype can hold and where it loses, and how to
pick a device, move tensors there, and measure what it buys (a real timing, only when a GPU is present)."""

import time

import torch

from render.lesson import Lesson, capture_error, expect, expect_each
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
    narration="""torch reads your data and picks a dtype. | Whole numbers become {{ ints.dtype }}. |
    Decimals become {{ floats.dtype }}, torch's default float. | Truth values become {{ flags.dtype }}. | Add a
    float to the integers and the result takes the float's dtype, here {{ mixed.dtype }}. | Cast the sum back
    to whole numbers, and look at the last cell: {{ ints.values[1] }} plus {{ floats.values[0] }} came back as
    {{ back.values[1] }}. float32 cannot hold every whole number that large, so the promotion rounded without
    a word.""",
    visual=Show("ints", "floats", "flags", "mixed", "back", digits=1),
    slide=["Integers: `int64`", "Decimals: `float32`", "Comparisons and flags: `bool`",
           "int + float takes the float's dtype; float32 may round"],
)
def defaults(device):
    ints = torch.tensor([1, 16777217], device=device)
    floats = torch.tensor([0.5, 1.5], device=device)
    flags = torch.tensor([True, False], device=device)
    mixed = ints + floats[0]
    expect(mixed.dtype == torch.float32, "promoted")
    expect_each([torch.float16, torch.bfloat16, torch.float32, torch.float64],
                lambda d: (ints + torch.tensor(0.5, dtype=d, device=device)).dtype == d
                and (ints + torch.tensor([0.5, 1.5], dtype=d, device=device)).dtype == d,
                "int + float takes the float's dtype, whichever float it is")
    back = mixed.to(torch.int64)
    expect(back[1] != ints[1], "rounded")
    return {"ints": ints, "floats": floats,
            "flags": flags, "mixed": mixed, "back": back}


@lesson.beat(
    "Three ways to store a float",
    narration="""Let us dissect one humble number in three formats. | float32 spends its bits on a wide
    exponent and a long mantissa, and comes closest: to five decimals, {{ f32_text }}. | float16 has half the
    bits and lands on {{ f16_text }}: the error already shows in the fifth decimal. | bfloat16 keeps float32's
    exponent but only a stub of mantissa, and lands on {{ bf16_text }}, further off still. | The exponent buys
    range, the mantissa buys precision.""",
    visual=BitFields("f32", "f16", "bf16"),
    slide=["Sign, exponent (range), mantissa (precision)", "`float16`: short exponent",
           "`bfloat16`: float32's exponent, short mantissa"],
)
def float_bits(device):
    f32 = torch.tensor([0.1], device=device)
    f16 = f32.to(torch.float16)
    bf16 = f32.to(torch.bfloat16)
    expect(1e-5 <= abs(f16.item() - 0.1) < 1e-4, "float16's error on 0.1 is in the fifth decimal")
    expect(abs(bf16.item() - 0.1) > abs(f16.item() - 0.1), "bfloat16 is further off")
    expect(torch.finfo(torch.bfloat16).smallest_normal == torch.finfo(torch.float32).smallest_normal,
           "bfloat16 keeps float32's exponent range")
    expect(torch.finfo(torch.bfloat16).bits == 16 and torch.finfo(torch.float16).bits == 16, "half the bits")
    return {"f32": f32, "f16": f16, "bf16": bf16,
            "f32_text": f"{f32.item():.5f}",
            "f16_text": f"{f16.item():.5f}",
            "bf16_text": f"{bf16.item():.5f}"}


@lesson.beat(
    "Where the small floats lose",
    narration="""Now we push them to breaking point. | Here are {{ big.values }}, safe in float32. | float16
    holds nothing above {{ f16_max }}: the first fits exactly, the second becomes infinity. Disaster! |
    bfloat16 survives both, but rounds them to {{ bigbf.values }}. | And its mantissa is so short it cannot
    hold every whole number: take {{ whole.item }}. | In bfloat16 it becomes {{ wholebf.item }}:
    every whole number up to that fits; here the gaps begin. So float16 overflows while bfloat16 blurs:
    for mixed precision, prefer bfloat16 where your hardware has it, and watch float16 for infinities.""",
    visual=Show("big", "big16", "bigbf", "whole", "wholebf"),
    slide=["`float16`: overflows to inf early", "`bfloat16`: huge range, few digits",
           "`torch.finfo(dtype)` tells the limits"],
)
def float_limits(device):
    big = torch.tensor([65504.0, 70000.0], device=device)
    big16, bigbf = big.half(), big.bfloat16()
    f16_max = int(torch.finfo(torch.float16).max)
    expect(big16[0] == f16_max and big16[1].isinf(), "the largest float16 fits exactly; the next overflows")
    expect_each([65520.0, 70000.0, 1e6, 3e38],
                lambda v: torch.tensor(v).half().isinf() and torch.tensor(v).bfloat16().isfinite(),
                "float16 overflows where bfloat16 survives")
    expect(bigbf.isfinite().all() and not torch.equal(bigbf.float(), big), "bfloat16 survives, rounded")
    whole = torch.tensor([257.0], device=device)
    wholebf = whole.bfloat16()
    expect(wholebf.item() == whole.item() - 1, "257 becomes 256")
    expect_each(range(int(wholebf.item()) + 1), lambda i: torch.tensor(float(i)).bfloat16().item() == i,
                "bfloat16 holds every whole number up to 256 exactly")
    expect_each([torch.float32, torch.float16, torch.bfloat16],
                lambda d: torch.tensor(257.0).to(d).item() == (256 if d == torch.bfloat16 else 257),
                "257 is the first whole number bfloat16 cannot hold (float16 and float32 can)")
    return {"big": big, "big16": big16, "bigbf": bigbf,
            "whole": whole, "wholebf": wholebf, "f16_max": f16_max}


@lesson.beat(
    "Integers",
    narration="""Integers are exact, until they are not. | An int8 holds at most {{ top.item }}. | Add one
    more and it wraps around to {{ wrapped.item }}, without a word of warning. | Now cast the decimals
    {{ decimals.values }} to a signed integer type. | The cast neither rounds nor floors: it truncates toward
    zero, giving {{ truncated.values }}. Unsigned types such as uint8 hold no negatives at all: keep
    negatives away from them.""",
    visual=Show("top", "wrapped", "decimals", "truncated"),
    slide=["`int8` wraps silently past its maximum", "float to signed int truncates toward zero",
           "`torch.iinfo(dtype)` tells the limits"],
)
def integers(device):
    int8 = torch.iinfo(torch.int8)
    top = torch.tensor([int8.max], dtype=torch.int8, device=device)
    wrapped = top + 1
    expect(wrapped == int8.min, "it wraps to the minimum")
    expect_each([torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8],
                lambda d: (torch.tensor([torch.iinfo(d).max], dtype=d, device=device) + 1) == torch.iinfo(d).min,
                "every integer type wraps past its maximum, silently")
    decimals = torch.tensor([2.7, -2.7], device=device)
    truncated = decimals.to(torch.int64)
    expect((truncated == decimals.trunc()).all(), "toward zero")
    expect_each([(f, i) for f in (torch.float16, torch.bfloat16, torch.float32, torch.float64)
                 for i in (torch.int8, torch.int16, torch.int32, torch.int64)],
                lambda c: (lambda x: torch.equal(x.to(c[1]).double(), x.trunc().double()))(
                    torch.tensor([2.7, -2.7, 0.5, -0.5, 99.9, -99.9], dtype=c[0], device=device)),
                "casting in-range floats to a signed integer type truncates toward zero")
    expect(torch.iinfo(torch.uint8).min == 0 and decimals.to(torch.uint8)[1] != truncated[1],
           "uint8 holds no negatives: -2.7 does not become -2")
    return {"top": top, "wrapped": wrapped,
            "decimals": decimals, "truncated": truncated}


@lesson.beat(
    "Booleans",
    narration="""And bool keeps only truth. | Take these numbers: {{ raw.values }}. | Cast them to bool and
    every nonzero value becomes True, the half and the negative too; only the zero stays False. | Each flag
    costs {{ size }} byte, and summing flags counts the True ones: {{ count.item }}.""",
    visual=Show("raw", "flags", "count"),
    slide=["Any nonzero becomes `True`", "One byte per flag", "`flags.sum()` counts the True ones"],
)
def booleans(device):
    raw = torch.tensor([0.0, 0.5, -3.0, 2.0], device=device)
    flags = raw.to(torch.bool)
    expect(torch.equal(flags, raw != 0), "nonzero is True")
    expect_each([torch.float16, torch.bfloat16, torch.float64, torch.int8, torch.int64],
                lambda d: (lambda r: torch.equal(r.to(torch.bool), r != 0))(
                    torch.tensor([0, 1, -3, 2, 0], device=device).to(d) / (2 if d.is_floating_point else 1)),
                "in every dtype, exactly the nonzero values become True")
    count = flags.sum()
    expect(count == (raw != 0).sum(), "the sum counts them")
    return {"raw": raw, "flags": flags, "count": count,
            "size": flags.element_size()}


@lesson.beat(
    "Converting an embedding table",
    narration="""A real weapon: an embedding table, one vector per word. | Here is a small one in float32,
    {{ table.shape }}. | Convert it with dot to, passing torch.bfloat16, and the values move only a little, as
    the two grids show. | But each number shrinks from {{ nbytes.values[0] }} bytes to {{ nbytes.values[1] }}.
    | For a vocabulary of {{ vocab }} words and width {{ width }}, that is {{ megabytes.values[0] }} megabytes
    in float32 against {{ megabytes.values[1] }} in bfloat16. Mwahaha, half the memory!""",
    visual=Show("table", "bf16", "nbytes", "megabytes"),
    slide=["`t.to(torch.bfloat16)` or `t.bfloat16()`", "`t.half()` is float16, not bfloat16",
           "16-bit: half the bytes per number", "Pick the dtype at creation with `dtype=`"],
)
def converting(device):
    table = torch.randn(2, 3, device=device)
    bf16 = table.to(torch.bfloat16)
    expect(((bf16 - table) / table).abs().max() < 0.01, "values move a little")
    expect_each([torch.randn(64, 64, generator=torch.Generator().manual_seed(s)) * 10.0 ** s for s in (-3, 0, 3)],
                lambda t: ((t.bfloat16().float() - t) / t).abs().max() <= 2 ** -8,
                "bfloat16 moves any float32 (in its normal range) by at most 1 part in 256")
    vocab, width = 50257, 768
    sizes = [table.itemsize, bf16.itemsize]
    nbytes = torch.tensor(sizes)
    megabytes = nbytes * vocab * width // 10**6
    expect(nbytes[1] * 2 == nbytes[0], "half the bytes")
    return {"table": table, "bf16": bf16, "nbytes": nbytes, "megabytes": megabytes, "vocab": vocab, "width": width}


@lesson.beat(
    "Choosing a device",
    narration="""Now, where shall the arithmetic happen? We ask torch for the best device: cuda on NVIDIA
    cards, mps on Apple silicon, else the cpu. {% if best == "cpu" %}This machine has no GPU, so best is
    cpu.{% else %}Here the answer is {{ best }}.{% endif %} | Create a tensor with device equals best, and it is
    born there: its badge reads {{ x.device }}.""",
    visual=Show("x"),
    slide=["`torch.cuda.is_available()`", "`torch.backends.mps.is_available()`",
           "`torch.arange(4, device=best)`: born on that device"],
)
def devices(device):
    if torch.cuda.is_available():
        best = "cuda"
    elif torch.backends.mps.is_available():
        best = "mps"
    else:
        best = "cpu"
    x = torch.arange(4, device=best)
    expect(x.device.type == best, "created on the chosen device")
    return {"x": x, "best": best}


@lesson.beat(
    "Moving a tensor",
    narration="""A tensor made without a device lands on the cpu. | {% if moved.device != x.device %}Dot to
    copies it into the GPU's memory; x itself stays on the cpu, so keep both operands of an operation on the
    same device.{% else %}Asked to move it to the cpu, where it already lives, dot to hands back the very same
    tensor, with no copy at all. With a GPU, the same call would copy it into the GPU's memory.{% endif %}""",
    visual=DeviceMove("x", "moved"),
    slide=["`t.to(device)` copies across devices", "Already there: the same tensor, no copy",
           "Keep an operation's tensors on one device"],
)
def moving(device):
    x = torch.arange(4)
    moved = x.to(device)
    expect(x.device.type == "cpu", "a tensor made without a device lands on the cpu")
    expect(moved is x if moved.device == x.device else moved.data_ptr() != x.data_ptr(),
           "to the same device: the very same tensor; to another: a copy")
    expect(moved.device == x.device or capture_error(lambda: x + moved) != "", "tensors on two devices do not mix")
    return {"x": x, "moved": moved}


@lesson.beat(
    "CPU against GPU",
    narration="""The decisive experiment: the same {{ n }} by {{ n }} matrix product on every device this
    machine has. The first run is a warm-up, and the clock stops only once the device has finished. |
    {% if middle.numel > 1 %}Five timed runs per device, in milliseconds: the first row is the cpu, the second
    the GPU.{% else %}This machine has no GPU, so there is a single row: the cpu's five timed runs, in
    milliseconds.{% endif %} | The median, the middle run, is {{ middle.values[0] }} milliseconds on the
    cpu{% if middle.numel > 1 %} against {{ middle.values[1] }} on the GPU, {% if middle.values[1] <
    middle.values[0] %}faster{% else %}slower{% endif %} here{% endif %}. | {% if middle.numel > 1 %}A GPU
    works asynchronously: without the synchronize, the clock would stop before the product was
    done.{% else %}With no GPU here, we invent no figure: on a machine with cuda or mps, this beat measures
    both.{% endif %}""",
    visual=Show("runs", "middle", caption="milliseconds per run, one row per device that ran"),
    slide=["Time several runs after a warm-up; take the median", "On a GPU, synchronize before reading the clock",
           "A GPU figure only where a GPU ran"],
)
def timing(device):
    n = 1024
    a = torch.randn(n, n)
    places = ["cpu"] if device == "cpu" else ["cpu", device]
    times = []
    for place in places:
        m = a.to(place)
        row = []
        for _ in range(6):  # the first run is a warm-up
            start = time.perf_counter()
            m @ m
            if place != "cpu":
                torch.accelerator.synchronize()
            row.append((time.perf_counter() - start) * 1000)
        times.append(row[1:])
    runs = torch.tensor(times)
    middle = runs.median(dim=1).values
    expect(runs.shape == (len(places), 5) and (runs > 0).all(), "five timed runs per device that ran, none invented")
    expect(torch.equal(middle, runs.sort(dim=1).values[:, 2]), "the median is the middle of the five runs")
    return {"n": n, "runs": runs, "middle": middle}


@lesson.beat(
    "Recap",
    narration="""Your arsenal is assembled! | Integers default to int64 and decimals to float32. | float16
    overflows early, while bfloat16 keeps the range and sacrifices digits. | Small integers wrap, float to
    integer casts truncate, and any nonzero value is True. | Converting float32 to bfloat16 or float16 halves
    the memory. | And dot to copies tensors across devices; pick cuda first, then mps, then the cpu.""",
    visual=Title(heading="What we conjured", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    expect(torch.tensor([1]).dtype == torch.int64 and torch.tensor([1.0]).dtype == torch.float32, "defaults")
    expect(torch.finfo(torch.float16).max < torch.finfo(torch.bfloat16).max
           and torch.finfo(torch.float16).eps < torch.finfo(torch.bfloat16).eps, "bfloat16: more range, fewer digits")
    expect_each([torch.bfloat16, torch.float16],
                lambda d: torch.ones(4, device=device).to(d).element_size() * 2 == torch.ones(4).element_size(),
                "converting float32 to bfloat16 or float16 halves the memory")
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
    def best_device():
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if torch.backends.mps.is_available() else "cpu"

    where = best_device()
    a = torch.randn(1024, 1024, device=where)
    ms = []
    for dtype in (torch.float32, torch.bfloat16):
        m = a.to(dtype)
        m @ m  # warm-up
        if where != "cpu":
            torch.accelerator.synchronize()
        start = time.perf_counter()
        for _ in range(5):
            m @ m
        if where != "cpu":  # a GPU runs ahead: wait for it, then read the clock
            torch.accelerator.synchronize()
        ms.append((time.perf_counter() - start) * 1000 / 5)
    expect(where in ("cuda", "mps", "cpu") and all(t > 0 for t in ms), "both dtypes timed on the best device")
    return {"where": where, "ms": ms}
