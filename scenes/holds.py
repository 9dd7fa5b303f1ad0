"""Still holds encoded once: a segment that is one frame held for many frames is not pushed through the encoder
frame by frame. One chunk of the still (a closed group of pictures, about a second long) is encoded once, in a
scratch stream set up exactly like the segment's own, and its packets are written again and again with shifted
timestamps; a shorter chunk ends the hold. Every chunk starts with a key frame and carries the same pictures,
so the joins cannot show, the frame count is exact, and memory holds one frame and one chunk, at any size."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from manim._config.video_encoder import VideoEncoderSpec
from manim.scene.video_segment_encoder import VideoSegmentEncoder
from manim.typing import RGBAPixelArray


@dataclass(frozen=True)
class Chunk:
    """One encoded packet of a chunk, as bytes and frame-counted timestamps."""

    data: bytes
    pts: int
    dts: int
    key: bool


class HoldEncoder(VideoSegmentEncoder):
    """Manim's segment encoder, except that a segment holding one frame for at least two chunks is written
    from repeated chunks. Anything else (an animation, a short wait) is encoded frame by frame as before."""

    def __init__(self, *, target: Path, spec: VideoEncoderSpec, chunk: int):
        super().__init__(target=target, spec=spec)
        self.chunk = max(1, chunk)
        self._held: tuple[RGBAPixelArray, int] | None = None
        self._started = False
        self.held_frames = 0  # frames written from repeated chunks (for tests and the bench)

    def write_frame(self, pixels: RGBAPixelArray, *, repeat: int = 1) -> None:
        if not self._started and self._held is None and repeat >= 2 * self.chunk:
            self._validate_frame(pixels, repeat)
            self._held = (pixels, repeat)  # maybe the whole segment: decided at finish
            return
        self._release()
        self._started = True
        super().write_frame(pixels, repeat=repeat)

    def _release(self) -> None:
        if self._held is not None:
            pixels, repeat = self._held
            self._held = None
            self._started = True
            super().write_frame(pixels, repeat=repeat)

    def finish(self) -> None:
        if self._held is not None:
            pixels, repeat = self._held
            self._held = None
            try:
                self._write_hold(pixels, repeat)
            except BaseException as error:
                raise self._operation_error("encode", error) from error
        super().finish()

    def _write_hold(self, pixels: RGBAPixelArray, frames: int) -> None:
        full, rest = divmod(frames, self.chunk)
        lengths = [self.chunk] * full + ([rest] if rest else [])
        encoded: dict[int, list[Chunk]] = {}
        offset = 0
        for length in lengths:
            if length not in encoded:
                encoded[length] = self._encode_chunk(pixels, length)
            for part in encoded[length]:
                packet = av.Packet(part.data)
                packet.stream = self._stream
                packet.time_base = self._time_base
                packet.pts = part.pts + offset
                packet.dts = part.dts + offset
                packet.duration = 1
                packet.is_keyframe = part.key
                self._container.mux(packet)
            offset += length
        self._next_pts += frames
        self.held_frames += frames

    @property
    def _time_base(self) -> Fraction:
        return Fraction(self.spec.frame_rate.denominator, self.spec.frame_rate.numerator)

    def _encode_chunk(self, pixels: RGBAPixelArray, length: int) -> list[Chunk]:
        """`length` frames of `pixels` through a fresh encoder set up like the segment's stream."""
        scratch = av.open(io.BytesIO(), mode="w", format=self.spec.container_format)
        try:
            stream: Any = scratch.add_stream(self.spec.codec, rate=self.spec.frame_rate,
                                             options=dict(self.spec.options))
            stream.pix_fmt = self.spec.pixel_format
            stream.width = self.spec.width
            stream.height = self.spec.height
            rgba: Any = pixels
            frame = av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(format=self.spec.pixel_format)
            frame.time_base = self._time_base
            packets: list[Chunk] = []

            def keep(encoded: list[av.Packet]) -> None:
                for p in encoded:
                    assert p.pts is not None and p.dts is not None
                    packets.append(Chunk(bytes(p), _frames(p.pts, p.time_base, self._time_base),
                                         _frames(p.dts, p.time_base, self._time_base), p.is_keyframe))

            for index in range(length):
                frame.pts = index
                keep(stream.encode(frame))
            keep(stream.encode(None))
            return packets
        finally:
            with suppress(Exception):
                scratch.close()


def _frames(value: int, base: Fraction | None, frame: Fraction) -> int:
    """A timestamp in `base` units as a whole number of frames."""
    return value if base is None or base == frame else round(value * base / frame)


def hold_encoders(file_writer: Any, chunk_seconds: float = 1.0) -> Callable[[Path], VideoSegmentEncoder]:
    """A segment-encoder factory for `file_writer` whose holds are chunked (`chunk_seconds` per chunk)."""

    def create(target: Path) -> VideoSegmentEncoder:
        spec = file_writer.video_encoder
        if spec is None:
            raise RuntimeError("Video segment encoding requires resolved settings.")
        return HoldEncoder(target=target, spec=spec, chunk=round(float(spec.frame_rate) * chunk_seconds))

    return create
