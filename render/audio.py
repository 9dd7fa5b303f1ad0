"""Audio assembly: beat audio fitted to its clip, the lesson's audio joined sample-exactly, loudness
normalised (-16 LUFS integrated, true peak <= -1.5 dBTP), AAC-encoded and muxed beside copied video.

Every length is counted in samples at 48 kHz from the clips' own durations, so audio and picture cannot
drift: the lesson's audio ends where its video ends.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

from render.errors import ToolMissing
from render.files import atomic_path, temp_name, write_bytes

RATE = 48000
TARGET_LUFS = -16.0
TRUE_PEAK_DBTP = -1.5
CEILING_DB = -2.5  # the limiter's ceiling: a margin below TRUE_PEAK_DBTP for AAC's small overshoot
AAC_BITRATE = "128k"
DRAFT_BITRATE = "64k"
_OVERSAMPLE = 4


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise ToolMissing(f"{name} is not installed; install it with: sudo apt-get install ffmpeg "
                          f"(macOS: brew install ffmpeg)")
    return exe


def _run(cmd: list[str], stdin: bytes | None = None) -> bytes:
    proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=1800)
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(f"{Path(cmd[0]).name} failed ({' '.join(cmd[1:4])} ...):\n" + "\n".join(tail))
    return proc.stdout


def decode(media: Path, rate: int = RATE) -> np.ndarray:
    """The first audio stream of any media file as mono float32 at `rate` (ffmpeg)."""
    data = _run([_tool("ffmpeg"), "-v", "error", "-i", str(media), "-vn", "-ac", "1", "-ar", str(rate),
                 "-f", "f32le", "-"])
    return np.frombuffer(data, dtype="<f4").copy()


def probe_duration(media: Path, stream: str = "v:0") -> float:
    """Duration in seconds of one stream (`v:0`, `a:0`), or of the container when the stream has none."""
    out = _run([_tool("ffprobe"), "-v", "error", "-select_streams", stream, "-show_entries",
                "stream=duration:format=duration", "-of", "json", str(media)])
    info = json.loads(out)
    for s in info.get("streams", []):
        if s.get("duration") not in (None, "N/A"):
            return float(s["duration"])
    return float(info["format"]["duration"])


def _write_wav(dest: Path, samples: np.ndarray, rate: int) -> None:
    from render.narrate import wav_bytes

    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)
    write_bytes(dest, wav_bytes(pcm, rate))


def _fit(samples: np.ndarray, length: int) -> np.ndarray:
    if len(samples) >= length:
        return samples[:length]
    return np.concatenate([samples, np.zeros(length - len(samples), dtype=samples.dtype)])


def fit_audio(wav: Path, duration: float, out: Path) -> None:
    """Pad with silence or trim a beat's audio to exactly `duration` seconds (its clip's video length)."""
    samples = decode(Path(wav))
    _write_wav(Path(out), _fit(samples, round(duration * RATE)), RATE)


def read_f32(path: Path) -> np.ndarray:
    """Raw mono float32 samples at RATE, as `normalise_beat` writes them."""
    return np.fromfile(path, dtype="<f4")


def normalise_beat(wav: Path, duration: float, out: Path, target: float = TARGET_LUFS) -> None:
    """A beat's audio fitted to its clip's length and normalised, kept as raw float32 (`.f32`), so the
    lesson's audio is joined from finished beats instead of measuring and limiting the whole lesson again."""
    samples = normalise(_fit(decode(Path(wav)), round(duration * RATE)), RATE, target)
    write_bytes(Path(out), samples.astype("<f4").tobytes())


def quick_beat(wav: Path, duration: float, out: Path, target: float = TARGET_LUFS) -> None:
    """A draft beat's audio (`render serve --draft`): fitted like `normalise_beat`, brought to the target loudness
    by one gain that keeps the sample peak under the ceiling, with no true-peak limiter: a fraction of the time,
    for clips a full render makes again."""
    samples = _fit(decode(Path(wav)), round(duration * RATE))
    measured = loudness(samples, RATE)
    peak = float(np.abs(samples).max()) if len(samples) else 0.0
    if np.isfinite(measured) and peak > 0:
        gain = min(10 ** ((target - measured) / 20), 10 ** (CEILING_DB / 20) / peak)
        samples = (samples * gain).astype(np.float32)
    write_bytes(Path(out), samples.astype("<f4").tobytes())


def _peak_envelope(x: np.ndarray) -> np.ndarray:
    """Per-sample true-peak estimate: the largest |value| among 4x-oversampled points (ITU-R BS.1770)."""
    from scipy.signal import resample_poly

    out = np.abs(x).astype(np.float32)
    step, pad = 1 << 18, 64
    for start in range(0, len(x), step):
        lo, hi = max(0, start - pad), min(len(x), start + step + pad)
        up = np.abs(resample_poly(x[lo:hi].astype(np.float32), _OVERSAMPLE, 1)).astype(np.float32)
        end = min(len(x), start + step)
        view = out[start:end]
        for phase in range(_OVERSAMPLE):
            np.maximum(view, up[phase::_OVERSAMPLE][start - lo: end - lo], out=view)
    return out


def true_peak_db(x: np.ndarray) -> float:
    peak = float(_peak_envelope(x).max()) if len(x) else 0.0
    return float(20 * np.log10(peak)) if peak > 0 else float("-inf")


def _gain_curve(envelope: np.ndarray, rate: int, ceiling: float) -> np.ndarray:
    """A smooth gain (5 ms look-ahead, hold and release) that brings every peak under `ceiling`."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    need = np.minimum(1.0, ceiling / np.maximum(envelope, 1e-9)).astype(np.float32)
    if need.min() >= 1.0:
        return need
    w = int(0.005 * rate) | 1
    gain = uniform_filter1d(minimum_filter1d(need, size=2 * w + 1), size=w)
    return np.minimum(gain, need)


def loudness(x: np.ndarray, rate: int = RATE) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4, mono): pyloudnorm's K-weighting filters with the
    gating vectorised, so a long lesson measures in a fraction of a second. -inf for silence or < 0.4 s."""
    import pyloudnorm
    from scipy.signal import lfilter

    block, hop = int(0.4 * rate), int(0.1 * rate)
    if len(x) < block or not np.any(x):
        return float("-inf")
    y = x.astype(np.float64)
    for stage in pyloudnorm.Meter(rate)._filters.values():
        y = lfilter(stage.b, stage.a, y) * stage.passband_gain
    energy = np.concatenate([[0.0], np.cumsum(y * y)])
    starts = np.arange(0, len(y) - block + 1, hop)
    z = (energy[starts + block] - energy[starts]) / block
    with np.errstate(divide="ignore"):
        lj = -0.691 + 10 * np.log10(z)
    z = z[lj >= -70.0]
    if z.size == 0:
        return float("-inf")
    relative = -0.691 + 10 * np.log10(z.mean()) - 10.0
    with np.errstate(divide="ignore"):
        z = z[-0.691 + 10 * np.log10(z) >= relative]
    return float(-0.691 + 10 * np.log10(z.mean()))


def normalise(x: np.ndarray, rate: int = RATE, target: float = TARGET_LUFS,
              ceiling_db: float = CEILING_DB) -> np.ndarray:
    """Gain to `target` LUFS integrated with a look-ahead limiter keeping true peaks under `ceiling_db`.

    The oversampled envelope is computed once (scaling the signal scales it), and the gain is found by the
    secant method, since limiting makes loudness grow slower than the gain; a last pass limits again if a
    peak still pokes through."""
    measured = loudness(x, rate)
    if not np.isfinite(measured):
        return x
    ceiling = 10 ** (ceiling_db / 20)
    envelope = _peak_envelope(x)

    def apply(gain_db: float) -> tuple[np.ndarray, float]:
        g = 10 ** (gain_db / 20)
        out = (x * (g * _gain_curve(g * envelope, rate, ceiling))).astype(np.float32)
        return out, loudness(out, rate)

    prev_gain, prev_loud = 0.0, measured
    gain = target - measured
    y, loud = apply(gain)
    for _ in range(8):
        if abs(target - loud) < 0.05 or loud == prev_loud:
            break
        slope = (loud - prev_loud) / (gain - prev_gain)
        prev_gain, prev_loud = gain, loud
        gain += (target - loud) / max(slope, 0.05)
        y, loud = apply(gain)
    for _ in range(3):
        curve = _gain_curve(_peak_envelope(y), rate, ceiling)
        if curve.min() >= 1.0:
            break
        y = (y * curve).astype(np.float32)
    return y


def _encode_aac(samples: np.ndarray, out: Path, fast: bool = False) -> None:
    coder = ["-aac_coder", "fast"] if fast else []  # half the CPU of the default coder, for previews
    with atomic_path(out) as tmp:
        _run([_tool("ffmpeg"), "-v", "error", "-y", "-f", "f32le", "-ar", str(RATE), "-ac", "1", "-i", "-",
              "-c:a", "aac", *coder, "-b:a", AAC_BITRATE, "-movflags", "+faststart", str(tmp)],
             stdin=samples.astype("<f4").tobytes())


def lesson_audio(beat_wavs: list[Path], durations: list[float], out_m4a: Path,
                 target: float = TARGET_LUFS, preview: bool = False) -> None:
    """Join the beats' audio, each padded or trimmed to its clip's duration (boundaries rounded on the
    cumulative time, so no rounding error accumulates), normalise the whole and encode it as AAC.

    A `preview` (render serve) trusts the beats' own normalisation and encodes with the fast coder:
    the same length to the sample, a second or more sooner on a long lesson."""
    if len(beat_wavs) != len(durations):
        raise ValueError(f"{len(beat_wavs)} beat audio files but {len(durations)} durations")
    bounds = np.round(np.cumsum([0.0, *durations]) * RATE).astype(np.int64)
    parts = [_fit(read_f32(Path(w)) if Path(w).suffix == ".f32" else decode(Path(w)), int(bounds[k + 1] - bounds[k]))
             for k, w in enumerate(beat_wavs)]
    joined = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    if not all(Path(w).suffix == ".f32" for w in beat_wavs):
        joined = normalise(joined, RATE, target)
    elif not preview:
        # beats already normalised and limited: the whole is at the target unless beats are very uneven
        measured = loudness(joined, RATE)
        if np.isfinite(measured) and abs(measured - target) > 0.3:
            joined = normalise(joined, RATE, target)
    _encode_aac(joined, Path(out_m4a), fast=preview)


def mux(video: Path, audio: Path, out: Path, target: float | None = TARGET_LUFS) -> None:
    """Video stream copied, audio as AAC exactly as long as the video, written atomically.

    AAC audio (.m4a/.aac/.mp4, e.g. from `lesson_audio`) whose length already matches is copied; any
    other audio is fitted to the video's length, normalised to `target` LUFS (None: as is) and encoded."""
    video, audio, out = Path(video), Path(audio), Path(out)
    length = probe_duration(video, "v:0")
    aac = audio.suffix.lower() in (".m4a", ".aac", ".mp4")
    ready = aac and abs(probe_duration(audio, "a:0") - length) < 0.005
    encoded = temp_name(out.with_suffix(".m4a"))  # an intermediate, never kept
    try:
        if not ready:
            samples = _fit(read_f32(audio) if audio.suffix == ".f32" else decode(audio), round(length * RATE))
            if target is not None:
                samples = normalise(samples, RATE, target)
            _encode_aac(samples, encoded)
            audio = encoded
        with atomic_path(out) as tmp:
            _run([_tool("ffmpeg"), "-v", "error", "-y", "-i", str(video), "-i", str(audio), "-map", "0:v:0",
                  "-map", "1:a:0", "-c", "copy", "-map_metadata", "0", "-map_chapters", "0",
                  "-movflags", "+faststart", str(tmp)])
    finally:
        encoded.unlink(missing_ok=True)


def mux_samples(video: Path, samples: Path, out: Path) -> None:
    """Video stream copied and raw samples (`.f32`, already fitted to the video) encoded as AAC with the fast
    coder at the draft bitrate (half the time of 128k; plenty for one voice), in one ffmpeg call, written
    atomically: the quick mux of a draft beat."""
    with atomic_path(Path(out)) as tmp:
        _run([_tool("ffmpeg"), "-v", "error", "-y", "-i", str(video), "-f", "f32le", "-ar", str(RATE), "-ac", "1",
              "-i", str(samples), "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-aac_coder",
              "fast", "-b:a", DRAFT_BITRATE, "-movflags", "+faststart", "-f", "mp4", str(tmp)])


def measure_loudness(media: Path) -> float:
    """Integrated loudness of a file's audio in LUFS."""
    return loudness(decode(Path(media)))


def measure_true_peak(media: Path) -> float:
    """True peak of a file's audio in dBTP (4x oversampled)."""
    return true_peak_db(decode(Path(media)))
