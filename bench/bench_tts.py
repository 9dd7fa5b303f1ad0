"""Real-time factor of speech synthesis (seconds of compute per second of audio) for piper and espeak-ng.

    .venv/bin/python bench/bench_tts.py [--repeat 3]

No cache is used: every sentence is synthesised afresh. piper's one-off model load is reported apart.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from render.narrate import Voice, _piper_voice, check_voice, speakable, synthesise  # noqa: E402

SENTENCES = [
    "Behold, apprentices! We hand torch.tensor a humble nested list, and it returns a 2x3 tensor of float32.",
    "Its first row holds 1, 2 and 3.",
    "No data? No matter! torch.zeros and torch.arange conjure tensors from the void.",
    "torch.cat joins tensors along an existing dimension, while torch.stack adds a new one at dim=-1.",
    "Multiply a 3x4 matrix by a 4x2 matrix with the @ operator, and out comes a 3x2 result.",
]


def bench(voice: Voice, repeat: int) -> tuple[float, float, float]:
    """(compute seconds, audio seconds, real-time factor) over `repeat` passes of SENTENCES."""
    texts = [speakable(s) for s in SENTENCES]
    synthesise(texts[0], voice)  # warm-up: model load, caches
    compute = audio = 0.0
    for _ in range(repeat):
        for text in texts:
            t0 = time.perf_counter()
            samples, rate = synthesise(text, voice)
            compute += time.perf_counter() - t0
            audio += len(samples) / rate
    return compute, audio, compute / audio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'engine':<8} {'compute s':>10} {'audio s':>9} {'RTF':>7}  {'x real time':>11}")
    for voice in (Voice("piper"), Voice("espeak")):
        check_voice(voice)
        if voice.engine == "piper":
            t0 = time.perf_counter()
            _piper_voice.cache_clear()
            _piper_voice(voice.model_path())
            print(f"(piper model load: {time.perf_counter() - t0:.2f} s, once per process)")
        compute, audio, rtf = bench(voice, args.repeat)
        print(f"{voice.engine:<8} {compute:>10.2f} {audio:>9.1f} {rtf:>7.3f}  {1 / rtf:>10.0f}x")


if __name__ == "__main__":
    main()
