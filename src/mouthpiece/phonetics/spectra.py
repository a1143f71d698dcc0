"""What rendered and heard speech are compared by when one is warped onto the other.

A frame is a log mel spectrum's deviation from a mean (the voice's own, so a different
voice and microphone matter less) beside its change over ``DELTA`` frames, scaled to unit
length: two frames are compared by their cosine. Used by the live follower
(:mod:`.follow`) and the offline aligner of any language (:mod:`.warp_align`).
"""

from __future__ import annotations

import functools

import numpy as np

from ..audio.features import MEL_HOP, MEL_WINDOW, log_mel
from ..types import SAMPLE_RATE, Phone
from ..vocabulary import SILENCE
from .tts import tts

HOP, WINDOW = MEL_HOP, MEL_WINDOW  # samples between frames (10 ms), and of each frame's spectrum
FRAME_RATE = SAMPLE_RATE / HOP  # frames a second
DELTA = 3  # frames over which the spectral change is taken
PAUSE_KEPT = 3  # frames of each pause in the rendering kept
SPEECH_RANGE = np.log(1e3)  # frames within 30 dB of the loudest count towards the mean
MEAN_TEXT = "Please bring the big blue map; we shall watch how each voice shapes its vowels, and the quiet sounds."


@functools.cache
def voice_mean(voice: str) -> np.ndarray:
    """The mean log mel spectrum of ``voice``'s speech (of ``MEAN_TEXT``)."""
    audio, phones = tts(MEAN_TEXT, voice=voice)
    spectra = log_mel(audio.samples)
    return spectra[[label != SILENCE for label in frame_phones(phones.phones, len(spectra))]].mean(0)


def frame_phones(phones: tuple[Phone, ...], frames: int) -> list[str]:
    """The phone at the centre of each of ``frames`` spectra's windows."""
    centres = np.arange(frames) / FRAME_RATE + WINDOW / 2 / SAMPLE_RATE
    starts = np.array([p.start for p in phones])
    return [phones[i].label for i in np.clip(np.searchsorted(starts, centres, "right") - 1, 0, None)]


def compared(deviations: np.ndarray) -> np.ndarray:
    """Spectral deviations from the mean plus their change over ``DELTA`` frames, as unit
    rows (the first frames' change is taken from the first frame)."""
    return unit_rows(deviations, deviations - deviations[np.maximum(np.arange(len(deviations)) - DELTA, 0)])


def unit_rows(deviations: np.ndarray, changes: np.ndarray) -> np.ndarray:
    """What frames are compared by: deviation and change side by side, scaled to unit length."""
    rows = np.concatenate([deviations, changes], axis=1)
    return (rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)).astype(np.float32)


def shortened_pauses(speech: np.ndarray) -> np.ndarray:
    """Indices of the frames kept: all speech, and the first ``PAUSE_KEPT`` of each pause."""
    kept, run = [], 0
    for i, is_speech in enumerate(speech):
        run = 0 if is_speech else run + 1
        if run <= PAUSE_KEPT:
            kept.append(i)
    return np.array(kept, int)
