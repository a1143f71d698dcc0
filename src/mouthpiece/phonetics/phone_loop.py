"""Phones from speech alone with pocketsphinx's phone loop: fast, rough phone identities.

The phone loop (``allphone``) decodes with a phone trigram instead of words. It is the
fastest recognizer (real-time factor ~0.035 with ``ds=2``, scoring every second frame)
but confuses phones within a place of articulation often, so mouth shapes are less
accurate than with :mod:`.words`. It serves where speed matters most.
"""

from __future__ import annotations

import numpy as np

from ..audio.features import voice_activity
from ..types import Audio, Phone, PhoneTrack
from ..vocabulary import SILENCE
from . import sphinx

PHONE_LOOP_OPTIONS = {"ds": 2, "lw": 2.0}  # chosen by mouth-shape accuracy on a dev corpus


def recognize_phones(audio: Audio) -> PhoneTrack:
    """Recognize phones without a transcript, with the phone loop.

    Parameters
    ----------
    audio : Audio, 16 kHz mono

    Returns
    -------
    PhoneTrack
        Phones covering ``[0, audio.duration)``, silence included, no words.
    """
    if len(audio.samples) == 0:
        return PhoneTrack((), audio.duration)
    decoder = sphinx.decoder("phones", **PHONE_LOOP_OPTIONS)
    with sphinx.lock():
        sphinx.decode(decoder, sphinx.pcm16(audio))
        segments = [sphinx.segment_phone(s.start_frame, s.end_frame, s.word) for s in decoder.seg()]
    return tidy(silence_where_quiet(segments, voice_activity(audio, fps=sphinx.FRAME_RATE)), audio.duration)


def silence_where_quiet(phones: list[Phone], speech: np.ndarray) -> list[Phone]:
    """Relabel as silence the phones with no voice activity (``speech``, one flag per
    pocketsphinx frame) at all: recognizers hear phones in digital silence and noise."""
    out = []
    for p in phones:
        a, b = (
            int(p.start * sphinx.FRAME_RATE),
            max(int(p.start * sphinx.FRAME_RATE) + 1, int(p.end * sphinx.FRAME_RATE)),
        )
        out.append(p if speech[a:b].any() else p._replace(label=SILENCE))
    return out


def tidy(phones: list[Phone], duration: float) -> PhoneTrack:
    """Clip to the audio, close gaps with silence and merge neighbouring silences."""
    out: list[Phone] = []
    t = 0.0
    for p in phones:
        start, end = max(p.start, t), min(p.end, duration)
        if end <= start + 1e-9:
            continue
        if start > t + 1e-9:
            out.append(Phone(t, start, SILENCE, 1.0))
        out.append(Phone(start, end, p.label, p.score))
        t = end
    if t < duration - 1e-9:
        out.append(Phone(t, duration, SILENCE, 1.0))
    merged: list[Phone] = []
    for p in out:
        if merged and p.label == SILENCE and merged[-1].label == SILENCE:
            merged[-1] = Phone(merged[-1].start, p.end, SILENCE, min(merged[-1].score, p.score))
        else:
            merged.append(p)
    return PhoneTrack(tuple(merged), duration)
