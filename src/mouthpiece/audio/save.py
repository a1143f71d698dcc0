"""Write Audio to a file atomically: 16-bit WAV, or any format PyAV encodes by extension."""

from __future__ import annotations

import os
import wave

import av
import numpy as np

from ..atomic import atomic_output
from ..errors import InputError
from ..types import Audio

# Codec per extension for the compressed formats (WAV is written with the stdlib).
CODECS = {".flac": "flac", ".mp3": "libmp3lame", ".ogg": "libopus", ".opus": "libopus", ".m4a": "aac"}


def save(audio: Audio, path: str | os.PathLike[str]) -> None:
    """Write ``audio`` to ``path``, all or nothing (see :func:`~mouthpiece.atomic.atomic_output`).

    Parameters
    ----------
    audio : Audio
    path : str or os.PathLike; ``.wav`` (16-bit PCM), ``.flac``, ``.mp3``, ``.ogg``,
        ``.opus`` or ``.m4a``

    Raises
    ------
    InputError
        The extension is not one of these, the folder does not exist, or the file
        cannot be written.
    """
    name = os.fspath(path)
    extension = os.path.splitext(name)[1].lower()
    if extension != ".wav" and extension not in CODECS:
        raise InputError(f"Cannot write audio to '{name}': use .wav, {', '.join(CODECS)}.")
    with atomic_output(name, what="audio file") as temp:
        if extension == ".wav":
            _write_wav(audio, temp)
        else:
            _write_encoded(audio, temp, CODECS[extension])


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    """Float samples as 16-bit integers, the inverse of decoding (which divides by 32768):
    16-bit audio that was decoded comes back exactly.

    >>> to_pcm16(np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 12 / 32768])).tolist()
    [-32768, -16384, 0, 16384, 32767, 12]
    """
    return np.clip(np.round(np.asarray(samples, np.float64) * 32768.0), -32768, 32767).astype("<i2")


def _write_wav(audio: Audio, path: str) -> None:
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.sample_rate)
        w.writeframes(to_pcm16(audio.samples).tobytes())


def _write_encoded(audio: Audio, path: str, codec: str) -> None:
    container_format = {"aac": "ipod", "libopus": "ogg"}.get(codec)
    rate = 48_000 if codec == "libopus" else audio.sample_rate  # Opus encodes at 48 kHz only
    with av.open(path, "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(audio.samples[None, :], format="flt", layout="mono")
        frame.sample_rate = audio.sample_rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:  # type: ignore[union-attr, arg-type]
            container.mux(packet)
