"""Real, decodable MP3 audio for the emulator's finished tracks.

A constant-bit-rate MPEG-2 layer III stream at 16 kHz, 32 kbit/s, mono has no
padding and every frame is exactly 144 bytes and 36 ms long, so a stream of any
length is a prefix of one longer stream cut at a frame boundary. One base
stream (a soft 440 Hz tone) is encoded once with LAME and sliced; encoding is
the only costly step and happens at most once per process per length reached.
"""

from __future__ import annotations

import array
import math
import threading
from typing import Final

import lameenc

__all__ = ["BITRATE", "CHANNELS", "FRAME_BYTES", "FRAME_SECONDS", "SAMPLE_RATE", "mp3_bytes"]

SAMPLE_RATE: Final = 16_000
BITRATE: Final = 32_000
CHANNELS: Final = 1
FRAME_SAMPLES: Final = 576  # MPEG-2 layer III
FRAME_SECONDS: Final = FRAME_SAMPLES / SAMPLE_RATE
FRAME_BYTES: Final = FRAME_SAMPLES // 8 * BITRATE // SAMPLE_RATE  # 144, no padding

_lock = threading.Lock()
_base = b""


def _encode(seconds: int) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(BITRATE // 1000)
    encoder.set_in_sample_rate(SAMPLE_RATE)
    encoder.set_channels(CHANNELS)
    encoder.set_quality(7)
    one_second = array.array(
        "h",
        (int(6000 * math.sin(2 * math.pi * 440 * i / SAMPLE_RATE)) for i in range(SAMPLE_RATE)),
    ).tobytes()
    out = bytearray()
    for _ in range(seconds):
        out += encoder.encode(one_second)
    out += encoder.flush()
    return bytes(out)


def frames_for(seconds: float) -> int:
    """The number of frames closest to ``seconds`` (at least one)."""
    return max(1, round(seconds / FRAME_SECONDS))


def mp3_bytes(seconds: float) -> bytes:
    """An MP3 of ``seconds`` (to within one 36 ms frame) of a soft tone."""
    global _base
    size = frames_for(seconds) * FRAME_BYTES
    with _lock:
        if len(_base) < size:
            _base = _encode(max(60, math.ceil(seconds * 1.5) + 1))
        return _base[:size]


def mp3_size(seconds: float) -> int:
    """The byte size `mp3_bytes` returns for ``seconds``, without encoding."""
    return frames_for(seconds) * FRAME_BYTES
