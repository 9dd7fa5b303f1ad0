"""1.3.2 Advanced Einsum Incantations: multi-tensor contractions and attention, against matmul + permute."""

import math

import torch

from render.lesson import Lesson, expect, expect_each
from scenes.vocabulary import Einsum, Show, Title

lesson = Lesson(
    objectives=[
        "Contract three tensors in one einsum",
        "Compute attention scores with einsum",
        "Weight the values with einsum",
        "Handle batches and heads without permute",
        "Match einsum against matmul + permute",
    ],
    recap=[
        "einsum takes two, three or more inputs",
        "Attention scores: 'qd,kd->qk', then scale",
        "Softmax rows into weights; 'qk,kd->qd' mixes values",
        "Heads: 'bqhd,bkhd->bhqk' replaces permute + matmul",
        "Both paths agree; einsum names every axis",
    ],
    challenge="Write multi-head attention with einsum for float32 queries and keys of different lengths, and "
    "check it against torch.nn.functional.scaled_dot_product_attention (it takes batch, heads, tokens, features) "
    "with torch.allclose and atol=1e-5.",
)


def einsum_attention(Q, K, V):
    """Multi-head attention by einsum on (batch, tokens, heads, features) inputs: the challenge, solved."""
    scores = torch.einsum("bqhd,bkhd->bhqk", Q, K) / math.sqrt(Q.shape[-1])
    return torch.einsum("bhqk,bkhd->bqhd", scores.softmax(dim=-1), V)


def attention_both_ways(Q, K, V):
    """Attention by einsum and by torch's scaled_dot_product_attention, on (batch, tokens, heads, features)."""
    heads_first = [t.transpose(1, 2) for t in (Q, K, V)]
    return einsum_attention(Q, K, V), torch.nn.functional.scaled_dot_product_attention(*heads_first).transpose(1, 2)


def agrees(equation, plain, seed, *shapes, atol=1e-4):
    """einsum(equation) against `plain` on seeded random inputs of `shapes`, up to rounding."""
    inputs = seeded(seed, *shapes)
    return torch.allclose(torch.einsum(equation, *inputs), plain(*inputs), atol=atol)


def values_like_keys(Q, K, V):
    """Cross-attention shapes: V laid out like K works, the output comes out like Q and agrees with the
    matmul + permute ritual; V laid out like Q (a different length) is refused."""
    weights = (torch.einsum("bqhd,bkhd->bhqk", Q, K) / math.sqrt(Q.shape[-1])).softmax(dim=-1)
    out = torch.einsum("bhqk,bkhd->bqhd", weights, V)
    by_matmul = (weights @ V.permute(0, 2, 1, 3)).permute(0, 2, 1, 3)
    try:
        torch.einsum("bhqk,bkhd->bqhd", weights, torch.zeros_like(Q))
        refused = False
    except RuntimeError:
        refused = True
    return out.shape == Q.shape and torch.allclose(out, by_matmul, atol=1e-6) and refused


def weights_in_range(weights):
    """Softmax weights: each in [0, 1], each row summing to one up to 16-bit rounding."""
    rows = weights.float().sum(dim=-1)
    in_range = bool((weights >= 0).all() and (weights <= 1).all())
    return in_range and torch.allclose(rows, torch.ones_like(rows), atol=1e-2)


def seeded(seed, *shapes):
    """Random float32 tensors of `shapes` from a seeded generator."""
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, generator=gen) for shape in shapes]


@lesson.beat(
    "Advanced Einsum Incantations",
    narration="""Welcome back, apprentices, to the inner sanctum! Last time, einsum tamed pairs of tensors. |
    Today it swallows several at once, | and then builds the beating heart of every transformer: attention.
    We compute the scores, | turn them into weights and mix the values, | then add batches and heads. |
    Finally we pit einsum against the old ritual of matmul and permute, and check they agree.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def opening(device):
    return {}


@lesson.beat(
    "Three tensors, one spell",
    narration="""A single einsum call accepts three inputs, or more, apprentices: i comma i j comma j arrow
    nothing. | The letter i pairs u with the rows of M, and j pairs v with its columns. | Both letters vanish, so
    everything is summed into a single number: u times M times v. | Every product of u, M and v is added up,
    giving {{ s.item }}, matching the matmul chain u at M at v.""",
    visual=Einsum("u", "M", "v", "s", equation="i,ij,j->"),
    slide=["`einsum('i,ij,j->', u, M, v)`", "Matches `u @ M @ v`, up to rounding", "Every shared letter pairs axes"],
)
def three_tensors(device):
    u = torch.tensor([1.0, 2.0], device=device)
    M = torch.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    v = torch.tensor([1.0, 1.0], device=device)
    s = torch.einsum("i,ij,j->", u, M, v)
    expect(torch.equal(s, u @ M @ v), "einsum('i,ij,j->', u, M, v) equals u @ M @ v")
    expect_each(range(5), lambda seed: agrees("i,ij,j->", lambda a, m, b: a @ m @ b, seed, (30,), (30, 20), (20,)),
                "it matches u @ M @ v on random inputs too, up to rounding")
    return {"u": u, "M": M, "v": v, "s": s}


@lesson.beat(
    "A chain of matrices",
    narration="""Now a chain: i j comma j k comma k l arrow i l. | Shapes {{ A.shape }}, {{ B.shape }} and {{
    C.shape }}: j links `A` to B, and k links B to C. | Both j and k vanish, so a whole chain of contractions
    happens in one call, giving {{ D.shape }}. | The first cell adds up every path from i to l: {{ D[0][0]
    }}. It matches `A` at B at C, and the letters themselves say which sizes must agree.""",
    visual=Einsum("A", "B", "C", "D", equation="ij,jk,kl->il"),
    slide=["`einsum('ij,jk,kl->il', A, B, C)`", "Matches `A @ B @ C`, up to rounding"],
)
def chain(device):
    A = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]], device=device)
    B = torch.tensor([[1.0, 1.0], [0.0, 2.0], [1.0, 0.0]], device=device)
    C = torch.tensor([[2.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 2.0]], device=device)
    D = torch.einsum("ij,jk,kl->il", A, B, C)
    expect(torch.equal(D, A @ B @ C), "einsum('ij,jk,kl->il', A, B, C) equals A @ B @ C")
    expect(torch.einsum("ij,jk,kl,lm->im", A, B, C, C.T).shape == (2, 2), "four inputs work too")
    expect_each(range(5), lambda seed: agrees("ij,jk,kl->il", lambda a, b, c: a @ b @ c, seed, (6, 9), (9, 5), (5, 7)),
                "it matches A @ B @ C on random inputs, up to rounding")
    return {"A": A, "B": B, "C": C, "D": D}


@lesson.beat(
    "Attention scores",
    narration="""Now, the heart of the transformer! Each token carries a query and a key: q d comma k d arrow
    q k. | Here {{ n }} tokens, {{ d }} features each. The feature letter d is shared, so each query meets
    each key, feature by feature. | d vanishes; q and k are kept: every query meets every key, with no
    transpose to write. | The top-left score is {{ raw[0][0] }}, just as Q at K transposed gives. Next,
    attention scales these raw scores and turns them into weights.""",
    visual=Einsum("Q", "K", "raw", equation="qd,kd->qk"),
    slide=["`einsum('qd,kd->qk', Q, K) / sqrt(d)`", "Matches `Q @ K.T / sqrt(d)`, up to rounding",
           "No transpose to write"],
)
def attention_scores(device):
    torch.manual_seed(7)
    Q = torch.randn(3, 4, device=device)
    K = torch.randn(3, 4, device=device)
    n, d = Q.shape
    raw = torch.einsum("qd,kd->qk", Q, K)
    expect(torch.allclose(raw, Q @ K.T), "einsum('qd,kd->qk', Q, K) equals Q @ K.T")
    expect_each(range(5), lambda seed: agrees("qd,kd->qk", lambda q, k: q @ k.T, seed, (5, 8), (7, 8)),
                "it matches Q @ K.T at other sizes, with fewer queries than keys too, up to rounding")
    return {"Q": Q, "K": K, "raw": raw, "n": n, "d": d}


@lesson.beat(
    "Scores become weights",
    narration="""Same seed, same tokens: the raw scores are divided by the square root of d, here {{ d }},
    then softmaxed along the last axis. | Scaled, the scores are still plain numbers, positive and negative. |
    Softmax along the key axis turns them into weights: the first query spreads its attention as {{
    weights.values[0] }}. | Every weight now lies between zero and one, and every row sums to one, up to
    rounding. These weights decide how much of each token's value flows into the answer.""",
    visual=Show("scores", "weights", caption="softmax along each row"),
    slide=["`weights = scores.softmax(dim=-1)`", "Each row: weights from zero to one, summing to one"],
)
def softmax_weights(device):
    torch.manual_seed(7)
    Q = torch.randn(3, 4, device=device)
    K = torch.randn(3, 4, device=device)
    d = Q.shape[1]
    scores = torch.einsum("qd,kd->qk", Q, K) / math.sqrt(d)
    weights = scores.softmax(dim=-1)
    expect(bool((scores > 0).any() and (scores < 0).any()), "the scores are positive and negative")
    expect(bool((weights > 0).all()), "every weight is positive")
    expect(torch.allclose(weights.sum(dim=-1), torch.ones(3, device=device)), "every row sums to one")
    expect_each([(seed, scale, dtype) for seed in range(5) for scale in (1.0, 30.0, 300.0)
                 for dtype in (torch.float32, torch.float16, torch.bfloat16)],
                lambda c: weights_in_range((seeded(c[0], (4, 6))[0] * c[1]).to(c[2]).softmax(dim=-1)),
                "softmax weights lie in [0, 1] and each row sums to one, for large scores and 16-bit dtypes")
    expect(torch.tensor([0.0, -200.0]).softmax(dim=-1)[1] == 0, "a weight can be exactly zero: not always positive")
    return {"scores": scores, "weights": weights, "d": d}


@lesson.beat(
    "The weighted sum of values",
    narration="""Each token also carries a value vector: q k comma k d arrow q d. | The key letter k is
    shared, so each query's weights pair with the rows of V. | k vanishes: every query takes a weighted sum
    of all the values. | With these hand-picked weights, the first query takes {{ weights[0][0] }} of the
    first value and {{ weights[0][1] }} of the second, so its first feature is {{ out[0][0] }}. It matches
    weights at V, up to rounding: the output of attention!""",
    visual=Einsum("weights", "V", "out", equation="qk,kd->qd"),
    slide=["`einsum('qk,kd->qd', weights, V)`", "Matches `weights @ V`, up to rounding",
           "Each output: a weighted mix of values"],
)
def weighted_values(device):
    weights = torch.tensor([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.25, 0.25, 0.5]], device=device)
    V = torch.tensor([[2.0, 0.0], [0.0, 4.0], [1.0, 1.0]], device=device)
    out = torch.einsum("qk,kd->qd", weights, V)
    expect(torch.equal(out, weights @ V), "einsum('qk,kd->qd', weights, V) equals weights @ V")
    expect_each(range(5), lambda seed: agrees("qk,kd->qd", lambda w, v: w @ v, seed, (7, 9), (9, 5)),
                "it matches weights @ V on random inputs, up to rounding (not always bit for bit)")
    return {"weights": weights, "V": V, "out": out}


@lesson.beat(
    "Batches and heads",
    narration="""Real models add a batch axis and several heads: b q h d comma b k h d arrow b h q k. | The
    projections arrive shaped batch, tokens, heads, features: {{ Q.shape }}. | d is summed; b, h, q and k
    are kept, in the order the arrow names: one score grid per head, {{ scores.shape }}. | The first score,
    {{ scores[0][0][0][0] }}, works out as before. The old ritual must permute the heads forward and
    transpose the keys before multiplying, and it gives the same grids, up to rounding.""",
    visual=Einsum("Q", "K", "scores", equation="bqhd,bkhd->bhqk"),
    slide=["`einsum('bqhd,bkhd->bhqk', Q, K)`", "vs `Q.permute(0, 2, 1, 3) @ K.permute(0, 2, 3, 1)`",
           "No permute, no transpose"],
)
def heads(device):
    torch.manual_seed(26)
    Q = torch.randn(1, 2, 2, 3, device=device)
    K = torch.randn(1, 2, 2, 3, device=device)
    scores = torch.einsum("bqhd,bkhd->bhqk", Q, K)
    permuted = Q.permute(0, 2, 1, 3) @ K.permute(0, 2, 3, 1)
    expect(torch.allclose(scores, permuted), "einsum agrees with permute + matmul")
    expect_each(range(5), lambda seed: agrees("bqhd,bkhd->bhqk",
                                              lambda q, k: q.permute(0, 2, 1, 3) @ k.permute(0, 2, 3, 1),
                                              seed, (2, 3, 4, 8), (2, 5, 4, 8)),
                "permute + matmul agrees at other sizes too, up to rounding")
    return {"Q": Q, "K": K, "scores": scores}


@lesson.beat(
    "Full attention, checked",
    narration="""Now the complete spell, mwahahaha! Scores by einsum, scaled and softmaxed, then b h q k comma
    b k h d arrow b q h d mixes the values. | The weights hold one grid per head; the values are laid out
    like the keys: batch, key tokens, heads, features. | k is summed, and the output lands back in the
    queries' layout, {{ out.shape }}, tokens before heads. | The matmul ritual permutes the values going in
    and the output coming out, and agrees; so does PyTorch's fused scaled dot product attention.""",
    visual=Einsum("weights", "V", "out", equation="bhqk,bkhd->bqhd"),
    slide=["`einsum('bhqk,bkhd->bqhd', weights, V)`", "Agrees with matmul + permute",
           "Agrees with `F.scaled_dot_product_attention`"],
)
def full_attention(device):
    torch.manual_seed(26)
    Q = torch.randn(1, 2, 2, 3, device=device)
    K = torch.randn(1, 2, 2, 3, device=device)
    V = torch.randn(1, 2, 2, 3, device=device)
    scores = torch.einsum("bqhd,bkhd->bhqk", Q, K) / math.sqrt(Q.shape[-1])
    weights = scores.softmax(dim=-1)
    out = torch.einsum("bhqk,bkhd->bqhd", weights, V)
    by_matmul = (weights @ V.permute(0, 2, 1, 3)).permute(0, 2, 1, 3)
    fused = torch.nn.functional.scaled_dot_product_attention(
        Q.transpose(1, 2), K.transpose(1, 2), V.transpose(1, 2)).transpose(1, 2)
    expect(torch.allclose(out, by_matmul, atol=1e-6), "einsum agrees with the matmul + permute ritual")
    expect(torch.allclose(out, fused, atol=1e-5), "einsum agrees with scaled_dot_product_attention")
    expect_each([(seed, q, k) for seed in range(5) for q, k in [(3, 5), (6, 2)]],
                lambda c: values_like_keys(*seeded(c[0], (2, c[1], 4, 8), (2, c[2], 4, 8), (2, c[2], 4, 8))),
                "with more or fewer keys than queries, the values follow the keys, the output the queries")
    return {"weights": weights, "V": V, "out": out}


@lesson.beat(
    "Recap and your challenge",
    narration="""Triumph, apprentices! | A single einsum takes two, three or more inputs, pairing every shared
    letter and summing every vanished one. | Attention scores are queries against keys, then scaled. | Softmax turns
    them into weights, and the weights mix the values. | With batches and heads, einsum names every axis and
    skips the permutes, | and it agrees with both the matmul ritual and PyTorch's fused kernel. | Your
    challenge: einsum attention where queries and keys differ in length, checked against scaled dot product
    attention with allclose and the small tolerance on the slide.""",
    visual=Title(heading="Recap", lines=[*lesson.recap, "Challenge: " + lesson.challenge]),
    slide=[*lesson.recap, "Challenge: einsum attention vs SDPA, atol=1e-5"],
)
def recap(device):
    expect_each([(seed, q, k) for seed in range(50) for q, k in [(3, 5), (7, 2), (1, 9)]],
                lambda c: torch.allclose(*attention_both_ways(*seeded(c[0], (2, c[1], 4, 8), (2, c[2], 4, 8),
                                                                      (2, c[2], 4, 8))), atol=1e-5),
                "the challenge's check with atol=1e-5 holds for queries and keys of different lengths")
    return {}
