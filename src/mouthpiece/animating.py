"""A file's speech animated in bounded memory (:func:`mouthpiece.api.animate_file` without a transcript).

The file is decoded a block at a time and cut at pauses
(:func:`~mouthpiece.phonetics.split_at_pauses`); each chunk is recognized and its phones
shifted to the file's time, while its loudness and the frames :class:`motion.Hearing`
makes of it are kept (an hour of them: 29 MB). The whole file's phones, loudness and
heard frames then make one Animation through :func:`mouthpiece.api.to_animation`, so an
hour of audio takes the memory of a few seconds of it (plus the result).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import av
import numpy as np

from . import audio as audio_stage
from . import motion, phonetics
from .errors import InputError
from .types import SAMPLE_RATE, Animation, Phone, PhoneTrack, Word


def animate_stream(
    path: str | os.PathLike[str],
    *,
    fps: float,
    recognizer: str,
    progress: Callable[[float], None] | None,
    max_seconds: float | None = None,
) -> Animation:
    """The Animation of the speech in ``path``, recognized with ``recognizer`` chunk by chunk;
    ``progress`` is told the fraction decoded (up to 0.99) when the container knows its duration."""
    from . import api  # the speech's Animation comes from the pipeline's own stage

    total = _duration_hint(path) if progress else 0.0
    chunks = phonetics.split_at_pauses(audio_stage.stream(path, max_seconds=max_seconds), sample_rate=SAMPLE_RATE)
    phones: list[Phone] = []
    words: list[Word] = []
    levels: list[np.ndarray] = []
    sounds: list[np.ndarray] = []
    hearing = motion.Hearing()
    duration = 0.0
    for offset, chunk in chunks:
        levels.append(audio_stage.loudness(chunk, fps=api.ANALYSIS_FPS)[: round(chunk.duration * api.ANALYSIS_FPS)])
        sounds.append(hearing.samples(chunk.samples).astype(np.float16))  # the whole file's frames; an hour: 98 MB
        heard = phonetics.recognize(chunk, recognizer=recognizer)
        phones.extend(p._replace(start=p.start + offset, end=p.end + offset) for p in heard.phones)
        words.extend(w._replace(start=w.start + offset, end=w.end + offset) for w in heard.words)
        duration = offset + chunk.duration
        if progress and total:
            progress(min(0.99, duration / total))
    if duration == 0.0:
        raise InputError(f"'{os.fspath(path)}' contains no audio samples.")
    sounds.append(hearing.finish().astype(np.float16))
    track = PhoneTrack(phonetics.tidy(phones, duration).phones, duration, tuple(words))
    heard = np.concatenate(sounds).astype(np.float32)
    return api.to_animation(track, fps=fps, loudness_db=np.concatenate(levels), heard=heard)


def _duration_hint(path: str | os.PathLike[str]) -> float:
    """The container's idea of the duration, for progress only (0 when unknown)."""
    try:
        with av.open(os.fspath(path)) as container:
            return float(container.duration or 0) / 1e6
    except Exception:  # progress is cosmetic; decoding reports real problems
        return 0.0
