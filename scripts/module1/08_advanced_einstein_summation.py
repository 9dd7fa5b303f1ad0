"""1.3.2 Advanced Einsum Incantations: multi-tensor contractions and attention, against matmul + permute."""

import math

import torch

from render.lesson import Lesson
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
        "einsum takes any number of inputs",
        "Attention scores: 'qd,kd->qk', then scale",
        "Softmax rows into weights; 'qk,kd->qd' mixes values",
        "Heads: 'bqhd,bkhd->bhqk' replaces permute + matmul",
        "Both paths agree; einsum names every axis",
    ],
    challenge="Write multi-head attention with einsum for queries and keys of different lengths, "
    "and check it against torch.nn.functional.scaled_dot_product_attention.",
)


@lesson.beat(
    "Advanced Einsum Incantations",
    narration="""Welcome back, apprentices, to the inner sanctum! Last time, einsum tamed pairs of tensors.
    Today it swallows several at once, and then we use it to build the beating heart of every transformer:
    attention. We will compute the scores, turn them into weights, mix the values, and then add batches and
    heads. Finally we pit einsum against the old ritual of matmul and permute, and check they agree.""",
    visual=Title(heading="What you will learn", lines=lesson.objectives),
    slide=lesson.objectives,
)
def opening(device):
    return {}


@lesson.beat(
    "Three tensors, one spell",
    narration="""Einsum accepts as many inputs as you like, apprentices. In i comma i j comma j arrow
    nothing, the letter i pairs u with the rows of M, j pairs v with its columns, and both vanish, so
    everything is summed. That is u times M times v, a single number: {{ s.item }}. Check it by hand: M
    times v gives {{ Mv.values }}, and u dotted with that gives {{ s.item }} again. Same as the matmul
    chain? {{ same }}.""",
    visual=Einsum("u", "M", "v", "s", equation="i,ij,j->"),
    slide=["`einsum('i,ij,j->', u, M, v)`", "Same as `u @ M @ v`", "Every shared letter pairs axes"],
)
def three_tensors(device):
    u = torch.tensor([1.0, 2.0], device=device)
    M = torch.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    v = torch.tensor([1.0, 1.0], device=device)
    s = torch.einsum("i,ij,j->", u, M, v)
    Mv = M @ v
    same = bool(torch.equal(s, u @ M @ v))
    return {"u": u, "M": M, "v": v, "s": s, "Mv": Mv, "same": same}


@lesson.beat(
    "A chain of matrices",
    narration="""Now a chain. In i j comma j k comma k l arrow i l, both j and k are shared and vanish, so a
    whole chain of contractions happens in one call. Shapes {{ A.shape }}, {{ B.shape }} and {{ C.shape }}
    become {{ D.shape }}, exactly as the chain of matrix products would. Same as A at B at C? {{ same }}.
    The letters themselves tell you which axes must agree in size.""",
    visual=Einsum("A", "B", "C", "D", equation="ij,jk,kl->il"),
    slide=["`einsum('ij,jk,kl->il', A, B, C)`", "Same as `A @ B @ C`"],
)
def chain(device):
    A = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]], device=device)
    B = torch.tensor([[1.0, 1.0], [0.0, 2.0], [1.0, 0.0]], device=device)
    C = torch.tensor([[2.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 2.0]], device=device)
    D = torch.einsum("ij,jk,kl->il", A, B, C)
    same = bool(torch.equal(D, A @ B @ C))
    return {"A": A, "B": B, "C": C, "D": D, "same": same}


@lesson.beat(
    "Attention scores",
    narration="""Now, the heart of the transformer! Each of {{ n }} tokens carries a query and a key of {{ d
    }} features. In q d comma k d arrow q k, the feature letter d is shared and summed, while q and k are
    kept: every query meets every key. We divide by the square root of {{ d }} to keep the scores tame. The
    first row holds {{ scores.values[0] }}. Same as Q at K transposed? {{ same }}. No transpose needed!""",
    visual=Einsum("Q", "K", "scores", equation="qd,kd->qk"),
    slide=["`einsum('qd,kd->qk', Q, K) / sqrt(d)`", "Same as `Q @ K.T / sqrt(d)`", "No transpose to write"],
)
def attention_scores(device):
    Q = torch.randn(3, 4, device=device)
    K = torch.randn(3, 4, device=device)
    n, d = Q.shape
    scores = torch.einsum("qd,kd->qk", Q, K) / math.sqrt(d)
    same = bool(torch.allclose(scores, Q @ K.T / math.sqrt(d)))
    return {"Q": Q, "K": K, "scores": scores, "n": n, "d": d, "same": same}


@lesson.beat(
    "Scores become weights",
    narration="""Scores are wild numbers, positive and negative. Softmax along the key axis tames them into
    weights: each row becomes positive numbers that sum to one. The first query spreads its attention as {{
    weights.values[0] }}. Every row sums to {{ row_sums.values }}, just as promised. These weights decide
    how much of each token's value flows into the answer.""",
    visual=Show("scores", "weights", code=False, caption="softmax along each row"),
    slide=["`weights = scores.softmax(dim=-1)`", "Each row: positive, sums to one"],
)
def softmax_weights(device):
    Q = torch.randn(3, 4, device=device)
    K = torch.randn(3, 4, device=device)
    scores = torch.einsum("qd,kd->qk", Q, K) / math.sqrt(Q.shape[1])
    weights = scores.softmax(dim=-1)
    row_sums = weights.sum(dim=-1)
    return {"scores": scores, "weights": weights, "row_sums": row_sums}


@lesson.beat(
    "The weighted sum of values",
    narration="""Each token also carries a value vector. In q k comma k d arrow q d, the key letter k is
    shared and summed: every query takes a weighted sum of all the values. With these hand-picked weights,
    the first query takes {{ weights[0][0] }} of the first value plus {{ weights[0][1] }} of the second,
    giving {{ out.values[0] }}. Same as weights at V? {{ same }}. That is the output of attention!""",
    visual=Einsum("weights", "V", "out", equation="qk,kd->qd"),
    slide=["`einsum('qk,kd->qd', weights, V)`", "Same as `weights @ V`",
           "Each output: a weighted mix of values"],
)
def weighted_values(device):
    weights = torch.tensor([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.25, 0.25, 0.5]], device=device)
    V = torch.tensor([[2.0, 0.0], [0.0, 4.0], [1.0, 1.0]], device=device)
    out = torch.einsum("qk,kd->qd", weights, V)
    same = bool(torch.allclose(out, weights @ V))
    return {"weights": weights, "V": V, "out": out, "same": same}


@lesson.beat(
    "Batches and heads",
    narration="""Real models add a batch axis and several heads. The projections arrive shaped batch,
    tokens, heads, features: {{ Q.shape }}. The old ritual permutes the heads forward, transposes the keys,
    then multiplies. With einsum you simply write b q h d comma b k h d arrow b h q k, and the result is {{
    scores.shape }}: one score grid per head. Do both rituals agree? {{ same }}.""",
    visual=Einsum("Q", "K", "scores", equation="bqhd,bkhd->bhqk"),
    slide=["`einsum('bqhd,bkhd->bhqk', Q, K)`", "vs `Q.permute(0, 2, 1, 3) @ K.permute(0, 2, 3, 1)`",
           "No permute, no transpose"],
)
def heads(device):
    Q = torch.randn(1, 3, 2, 2, device=device)
    K = torch.randn(1, 3, 2, 2, device=device)
    scores = torch.einsum("bqhd,bkhd->bhqk", Q, K)
    permuted = Q.permute(0, 2, 1, 3) @ K.permute(0, 2, 3, 1)
    same = bool(torch.allclose(scores, permuted))
    return {"Q": Q, "K": K, "scores": scores, "same": same}


@lesson.beat(
    "Full attention, checked",
    narration="""Now the complete spell, mwahahaha! Scores by einsum, scaled, softmaxed, and then b h q k
    comma b k h d arrow b q h d mixes the values, landing straight back in the shape {{ out.shape }}. The
    matmul ritual needs permutes going in and another coming out. Do they agree? {{ same_as_permute }}. And
    PyTorch's own fused scaled dot product attention? {{ same_as_sdpa }}. Every path, one truth.""",
    visual=Einsum("weights", "V", "out", equation="bhqk,bkhd->bqhd"),
    slide=["`einsum('bhqk,bkhd->bqhd', weights, V)`", "Agrees with matmul + permute",
           "Agrees with `F.scaled_dot_product_attention`"],
)
def full_attention(device):
    Q = torch.randn(1, 3, 2, 2, device=device)
    K = torch.randn(1, 3, 2, 2, device=device)
    V = torch.randn(1, 3, 2, 2, device=device)
    scores = torch.einsum("bqhd,bkhd->bhqk", Q, K) / math.sqrt(Q.shape[-1])
    weights = scores.softmax(dim=-1)
    out = torch.einsum("bhqk,bkhd->bqhd", weights, V)
    by_matmul = (weights @ V.permute(0, 2, 1, 3)).permute(0, 2, 1, 3)
    fused = torch.nn.functional.scaled_dot_product_attention(
        Q.transpose(1, 2), K.transpose(1, 2), V.transpose(1, 2)).transpose(1, 2)
    same_as_permute = bool(torch.allclose(out, by_matmul, atol=1e-6))
    same_as_sdpa = bool(torch.allclose(out, fused, atol=1e-5))
    return {"weights": weights, "V": V, "out": out, "same_as_permute": same_as_permute, "same_as_sdpa": same_as_sdpa}


@lesson.beat(
    "Recap and your challenge",
    narration="""Triumph, apprentices! Einsum takes any number of inputs, pairing every shared letter and
    summing every vanished one. Attention is a pair of contractions: queries against keys for the scores,
    then the softmaxed weights against the values. With batches and heads, einsum names every axis and skips
    the permutes, and it agrees with both the matmul ritual and PyTorch's fused kernel. Your challenge:
    write multi-head attention with einsum where queries and keys have different lengths, and check it
    against scaled dot product attention.""",
    visual=Title(heading="Recap", lines=[*lesson.recap, "Challenge: " + lesson.challenge]),
    slide=[*lesson.recap, "Challenge: einsum attention, different lengths"],
)
def recap(device):
    return {}
