"""1.1.3 Tensor Metamorphosis: change a tensor's shape without changing its numbers (reshape, view,
transpose, permute, squeeze, unsqueeze, expand, repeat, flatten), and know when memory is shared."""

import torch

from render.lesson import Lesson, capture_error, expect, expect_each
from scenes.vocabulary import Expand, MemoryStrip, Reshape, Show, Squeeze, Title, Transpose

lesson = Lesson(
    objectives=[
        "Reshape and view: new shapes, same numbers",
        "Shared storage, strides and contiguity",
        "Swap axes with `transpose` and `permute`",
        "Add and remove size-1 axes: `unsqueeze`, `squeeze`",
        "`expand` against `repeat`, and `flatten`",
    ],
    recap=[
        "`reshape` and `view` reread the numbers in row-major order",
        "A view shares storage: write through it, the base changes",
        "`transpose` and `permute` change strides, not memory",
        "`squeeze` removes and `unsqueeze` adds size-1 axes",
        "`expand` fakes copies, `repeat` makes them",
        "`flatten` merges axes into one",
    ],
    challenge="Take a batch of images shaped batch, height, width, channels. Turn it into batch, "
    "channels, height, width, then flatten each image into one vector. Which step needs a copy, and why?",
)


def decoded_shape(width, height, mode="RGB"):
    """The shape of an image (RGB by default) decoded by PIL and read through NumPy into torch."""
    import numpy as np
    from PIL import Image

    return tuple(torch.tensor(np.array(Image.new(mode, (width, height)))).shape)



@lesson.beat(
    "What you will learn",
    narration="""Apprentices, prepare the transmutation circle! | Today we change a tensor's form without
    touching its essence: reshape and view. | We peer into memory to see when tensors secretly share storage.
    | We swap axes with transpose and permute, | summon and banish lonely axes with unsqueeze and squeeze, |
    and fake copies with expand, make real ones with repeat, and merge axes with flatten.""",
    visual=Title(heading="Today in the laboratory", lines=lesson.objectives),
    slide=lesson.objectives,
)
def objectives(device):
    return {}


@lesson.beat(
    "reshape: same numbers, new form",
    narration="""Our specimen: a vector of {{ flat.numel }} numbers, counting from {{ flat.values[0] }}. |
    Reshape reads them one after another, in row-major order. | Then it pours them into
    {{ grid.shape }}, filling each row before the next, so the first row reads {{ grid.values[0] }}. Nothing
    is added or lost; the element count must match, and a minus one lets torch work out one size for you.""",
    visual=Reshape("flat", "grid", op="reshape"),
    slide=["`t.reshape(2, -1)`: same elements, new shape", "Rows fill in row-major order",
           "`-1` means: work this size out"],
)
def reshaping(device):
    flat = torch.arange(6, device=device)
    grid = flat.reshape(2, -1)
    expect(grid.shape == (2, 3), "minus one is worked out")
    expect(torch.equal(grid[0], flat[:3]), "each row fills before the next")
    expect(capture_error(lambda: flat.reshape(4, -1)) != "", "the element count must match")
    return {"flat": flat, "grid": grid}


@lesson.beat(
    "view: the shared storage",
    narration="""A darker secret: beneath every tensor lies a flat strip of storage. Ours came from arange,
    yet its first cell reads {{ base.values[0] }}. Who did this? | base reads the strip in order,
    {{ base.numel }} numbers in a row. | viewed reads the very same cells as a {{ viewed.shape }} grid. We wrote
    {{ viewed.values[0][0] }} into the view's first cell, and the base changed too. | One storage, two
    readings, each with its own strides in the note: that is why views are free, and why writing through them
    is dangerous.""",
    visual=MemoryStrip("base", "viewed"),
    slide=["`t.view(shape)` shares storage", "Writes through a view change the base", "No copy, no cost"],
)
def viewing(device):
    base = torch.arange(6, device=device)
    viewed = base.view(3, 2)
    viewed[0, 0] = 100
    ptr = viewed.untyped_storage().data_ptr()
    expect(ptr == base.untyped_storage().data_ptr(), "the view shares the base's storage")
    expect(base[0] == 100, "writing through the view changed the base")
    expect(torch.equal(base[1:], torch.arange(1, 6, device=device)), "the rest still counts up from arange")
    return {"base": base, "viewed": viewed}


@lesson.beat(
    "transpose and contiguity",
    narration="""Our specimen: a {{ grid.shape }} grid with strides {{ grid.stride }}. | transpose swaps two
    axes, giving {{ flipped.shape }}. No number moves in memory; only the strides swap, to
    {{ flipped.stride }}, so this result is no longer contiguous: reading it row by row jumps around memory. |
    Ask view to flatten it and torch refuses with this error: the two axes' strides no longer line up, so
    no single stride can walk them. reshape, or contiguous followed by view, makes a fresh copy and
    succeeds.""",
    visual=Transpose("grid", "flipped", op="transpose", error="error"),
    slide=["`t.transpose(0, 1)` swaps axes and strides", "Here the result is not contiguous",
           "`view(6)` must merge the axes: it fails", "`reshape` copies when it must"],
)
def transposing(device):
    grid = torch.arange(6, device=device).reshape(2, 3)
    flipped = grid.transpose(0, 1)
    expect(flipped.data_ptr() == grid.data_ptr(), "no number moves")
    expect(flipped.stride() == grid.stride()[::-1], "the strides swap")
    expect(not flipped.is_contiguous(), "the result is not contiguous")
    expect(torch.zeros(1, 3).t().is_contiguous(), "not always: a transpose around a size-1 axis stays contiguous")
    error = capture_error(lambda: flipped.view(6))
    expect(error != "", "view refuses")
    expect(flipped.view(3, 1, 2).shape == (3, 1, 2), "a view that merges nothing still works")
    copy = flipped.reshape(6)
    expect(copy.data_ptr() != grid.data_ptr(), "reshape makes a fresh copy")
    expect(torch.equal(copy, flipped.contiguous().view(6)), "as contiguous then view does")
    return {"grid": grid, "flipped": flipped, "error": error}


@lesson.beat(
    "permute: an image batch",
    narration="""PIL and NumPy hold a decoded colour image as height, width and channels; stack
    images into a batch and it reads batch, height, width, channels: {{ images.shape }}. | But convolution layers
    want batch, channels, height, width, so permute reorders every axis at once, and we get {{ chw.shape }}.
    Like transpose, it only rewrites the strides, now {{ chw.stride }}, so the pixels stay where they
    were.""",
    visual=Transpose("images", "chw", op="permute"),
    slide=["`permute(0, 3, 1, 2)`: NHWC to NCHW", "Any order of all the axes",
           "Strides change, memory stays"],
)
def permuting(device):
    images = torch.rand(1, 2, 2, 3, device=device)
    expect(decoded_shape(4, 5) == (5, 4, 3), "PIL and NumPy give a colour image as height, width, channels")
    expect(decoded_shape(4, 5, "L") == (5, 4), "a grayscale one has no channel axis at all")
    chw = images.permute(0, 3, 1, 2)
    expect(chw.data_ptr() == images.data_ptr(), "the pixels stay where they were")
    expect(chw.stride() == tuple(images.stride()[i] for i in (0, 3, 1, 2)), "only the strides change")
    conv = torch.nn.Conv2d(3, 4, kernel_size=1).to(device)
    expect(capture_error(lambda: conv(images)) != "", "a convolution refuses channels last")
    expect(conv(chw).shape[1] == 4, "and accepts channels first")
    return {"images": images, "chw": chw}


@lesson.beat(
    "unsqueeze: a batch of one",
    narration="""A single image enters as {{ image.shape }}, but models expect a batch. | unsqueeze at
    position zero summons a new axis of size one, in front. | Now it is {{ batch.shape }}: the same
    {{ image.numel }} numbers, in the same order and the same memory, as the caption says, wearing a batch costume.""",
    visual=Squeeze("image", "batch", op="unsqueeze"),
    slide=["`t.unsqueeze(0)` adds a size-1 axis in front", "Same numbers, same memory",
           "`t[None]` does the same"],
)
def squeezing(device):
    image = torch.rand(3, 2, 2, device=device)
    batch = image.unsqueeze(0)
    expect(batch.shape == (1, *image.shape), "unsqueeze adds a size-one axis")
    expect(torch.equal(batch[0], image), "the same numbers")
    expect(batch.data_ptr() == image.data_ptr(), "the same memory")
    expect(torch.equal(image[None], batch), "indexing with None does the same")
    return {"image": image, "batch": batch}


@lesson.beat(
    "squeeze: name the axis",
    narration="""Now banish. A batch of one grayscale image, {{ gray.shape }}: the batch axis and the
    channel axis both have size one. | A bare squeeze, with no axis named, banishes every size-one axis it
    finds: both of them. | We are left with {{ squeezed.shape }}. The channel axis is gone too, and a
    convolution would now refuse this image. squeeze at position zero would have removed only the batch.
    Name the axis you mean!""",
    visual=Squeeze("gray", "squeezed", op="squeeze"),
    slide=["`t.squeeze()` removes every size-1 axis", "`t.squeeze(0)` removes only axis 0",
           "Name the axis you mean"],
)
def bare_squeeze(device):
    gray = torch.rand(1, 1, 2, 2, device=device)
    squeezed = gray.squeeze()
    expect(squeezed.shape == (2, 2), "a bare squeeze drops every size-one axis")
    expect(gray.squeeze(0).shape == (1, 2, 2), "squeeze(0) drops only the batch axis")
    conv = torch.nn.Conv2d(1, 4, kernel_size=1).to(device)
    expect(capture_error(lambda: conv(squeezed)) != "", "a convolution refuses the squeezed image")
    expect_each([(3, 2, 2), (1, 28, 28), (5, 1), (1,), (2, 1, 1, 4)],
                lambda shape: torch.zeros(shape).unsqueeze(0).squeeze(0).shape == shape,
                "squeeze(0) undoes unsqueeze(0) for every shape")
    return {"gray": gray, "squeezed": squeezed}


@lesson.beat(
    "expand against repeat",
    narration="""A bias vector, {{ bias.values }}, must reach every row. | expand pretends to copy it into
    {{ expanded.shape }}, but its strides are {{ expanded.stride }}: every row reads the same
    {{ expanded_storage }} stored numbers. | repeat really copies, storing {{ repeated_storage }}. Expand is
    free, repeat costs memory, and only repeat gives rows you may safely write into.""",
    visual=Expand("bias", "expanded", "repeated"),
    slide=["`expand`: stride 0, no new memory", "`repeat`: real copies",
           "Never write into an expanded tensor"],
)
def expanding(device):
    bias = torch.tensor([1, 2, 3], device=device)
    expanded = bias.expand(2, 3)
    repeated = bias.repeat(2, 1)
    size = bias.element_size()
    expanded_storage = expanded.untyped_storage().nbytes() // size
    repeated_storage = repeated.untyped_storage().nbytes() // size
    expect(expanded.stride()[0] == 0 and expanded_storage == bias.numel(), "expand stores nothing new")
    expect(repeated_storage == repeated.numel(), "repeat stores every copy")
    expect(torch.equal(expanded, repeated), "both read the same values")
    expect(capture_error(lambda: bias.expand(2, 3).add_(1)) != "", "an in-place op on an expanded tensor is refused")
    ghost = bias.clone().expand(2, 3)
    ghost[0, 0] = 9
    expect(ghost[1, 0] == 9, "but an indexed write goes through, into every row at once: never write")
    return {"bias": bias, "expanded": expanded, "repeated": repeated,
            "expanded_storage": expanded_storage, "repeated_storage": repeated_storage}


@lesson.beat(
    "flatten for a linear layer",
    narration="""Before a linear layer can judge our grayscale images, each must become a flat vector. | flatten
    with a start_dim of {{ start }} keeps the batch axis and merges everything after it, reading the values
    in row-major order, the last axis fastest. | So {{ images.shape }} becomes {{ flat.shape }}:
    {{ per_image }} numbers per image, exactly as reshape would arrange them. For a contiguous tensor like this
    one, that order is also the order in memory.""",
    visual=Reshape("images", "flat", op="flatten"),
    slide=["`t.flatten(start_dim=1)` keeps the batch", "Height and width merge into one",
           "Row-major order, the same as reshape"],
)
def flattening(device):
    images = torch.arange(12, device=device).reshape(2, 2, 3)
    start = 1
    flat = images.flatten(start_dim=start)
    per_image = flat.shape[start]
    expect(torch.equal(flat, images.reshape(2, -1)), "flatten arranges them as reshape does")
    expect_each([torch.randn(2, 3, 4), torch.randn(2, 3, 4).transpose(1, 2),
                 torch.randn(3, 1, 2, 5).permute(0, 3, 1, 2)],
                lambda t: torch.equal(t.flatten(1), t.reshape(t.shape[0], -1)),
                "flatten reads in the same order as reshape, contiguous or not")
    expect(images.is_contiguous() and flat.data_ptr() == images.data_ptr(), "here that is memory order")
    swapped = images.transpose(1, 2)
    expect(not torch.equal(swapped.flatten(1), flat), "a transposed tensor reads in its own index order")
    return {"images": images, "flat": flat, "per_image": per_image, "start": start}


@lesson.beat(
    "Attention heads, reshaped",
    narration="""Behold the transformer's favourite trick! | Each of {{ tokens }} tokens carries {{ width }}
    features. | view splits those features into {{ heads_n }} heads of {{ head_dim }}, and transpose brings
    heads to the front: {{ heads.shape }}, heads, tokens, features. That transpose leaves the tensor
    non-contiguous, so the last line's view cannot merge its axes, and torch says so beside it. reshape,
    or contiguous first, can: they copy. Mwahaha!""",
    visual=Show("x", "heads"),
    slide=["`x.view(tokens, heads, head_dim)`", "`.transpose(0, 1)`: heads first",
           "Not contiguous now: merge with `reshape`"],
)
def attention_heads(device):
    x = torch.arange(12, device=device).reshape(3, 4)
    tokens, width = x.shape
    heads_n, head_dim = 2, width // 2
    heads = x.view(tokens, heads_n, -1).transpose(0, 1)
    expect(not heads.is_contiguous(), "not contiguous")
    failed = capture_error(lambda: heads.view(-1))
    expect(failed != "", "view cannot merge the axes")
    expect(torch.equal(heads.reshape(-1), heads.contiguous().view(-1)), "reshape, or contiguous first, can")
    expect(heads.reshape(-1).data_ptr() != x.data_ptr(), "they copy")
    return {"x": x, "heads": heads, "tokens": tokens,
            "width": width, "heads_n": heads_n,
            "head_dim": head_dim, "failed": failed}


@lesson.beat(
    "Recap",
    narration="""The metamorphosis is complete! | reshape and view reread the same numbers in row-major order.
    | A view shares storage, so writes flow back to the base. | transpose and permute change only strides,
    and usually leave tensors non-contiguous. | squeeze and unsqueeze banish and summon size-one axes. | expand fakes
    copies with zero strides, while repeat makes real ones. | And flatten merges many axes into one.""",
    visual=Title(heading="What we conjured", lines=lesson.recap),
    slide=lesson.recap,
)
def recap(device):
    t = torch.arange(6, device=device)
    v = t.view(2, 3)
    v[0, 0] = -1
    expect(t[0] == -1, "writes through a view flow back")
    expect(not v.t().is_contiguous() and v.t().data_ptr() == t.data_ptr(), "transpose changes strides only")
    expect(v.permute(0, 1).is_contiguous(), "usually: the identity permute stays contiguous")
    expect(v.unsqueeze(0).squeeze(0).shape == v.shape, "squeeze undoes unsqueeze")
    expect(t.expand(2, 6).stride(0) == 0, "expand fakes copies with zero strides")
    expect(v.flatten().shape == (6,), "flatten merges axes")
    return {}


@lesson.beat(
    "Your challenge",
    narration="""Your trial, apprentice! | Take a batch of images stored as batch, height, width and channels.
    Permute it into batch, channels, height and width, then flatten every image into a single vector. Now the
    real question: which of those steps must copy memory, and why? Check your answer with is_contiguous.""",
    visual=Title(heading="Your trial, apprentice", lines=[lesson.challenge]),
    slide=["Permute NHWC to NCHW", "Flatten each image to one vector",
           "Which step copies? Check `is_contiguous`"],
)
def challenge(device):
    nhwc = torch.rand(2, 4, 4, 3, device=device)
    nchw = nhwc.permute(0, 3, 1, 2)
    expect(nchw.data_ptr() == nhwc.data_ptr(), "the permute copies nothing")
    expect(nchw.flatten(1).data_ptr() != nhwc.data_ptr(), "the flatten must copy")
    return {}
