"""pocketsphinx, set up once per process: the decoders and the translation of its output.

pocketsphinx 5 ships its US English acoustic model, dictionary and phone language model
inside the wheel, so nothing is downloaded. Its phone names are ARPAbet without stress;
fillers (``SIL``, ``+NSN+``, ...) become silence.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import numpy as np
from pocketsphinx import Decoder, get_model_path, set_loglevel

from ..types import Audio, Phone
from ..vocabulary import PHONES, SILENCE

FRAME_RATE = 100  # frames/s of pocketsphinx's features
_lock = threading.Lock()


@cache
def decoder(kind: str, **options: Any) -> Decoder:
    """A cached decoder: ``kind`` 'phones' (phone loop), 'words' (word recognition, give
    ``lm``) or 'align' (forced alignment)."""
    set_loglevel("FATAL")
    if kind == "phones":
        config = {"allphone": get_model_path("en-us/en-us-phone.lm.bin"), "lm": None, "loglevel": "FATAL", **options}
    elif kind in ("align", "words"):
        config = {"lm": None, "loglevel": "FATAL", **options}
    else:
        raise ValueError(f"unknown decoder kind {kind!r}")
    return Decoder(**config)


def pcm16(audio: Audio) -> bytes:
    """The samples as 16-bit little-endian PCM, what pocketsphinx reads."""
    return (np.clip(audio.samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def phone_label(name: str) -> str:
    """Our label for a pocketsphinx phone or filler name."""
    label = name.upper().rstrip("0123456789")
    return label if label in PHONES and label != SILENCE else SILENCE


def segment_phone(start_frame: int, end_frame: int, name: str, log_prob: float = 0.0) -> Phone:
    """A Phone from a pocketsphinx segment (inclusive frame range, log-probability)."""
    score = float(np.exp(max(log_prob, -700.0) / max(1, end_frame - start_frame + 1) / 1000.0))
    return Phone(start_frame / FRAME_RATE, (end_frame + 1) / FRAME_RATE, phone_label(name), min(1.0, score))


def decode(decoder: Decoder, raw: bytes) -> None:
    """Run one whole utterance of 16-bit PCM through ``decoder`` (hold :func:`lock`)."""
    decoder.start_utt()
    decoder.process_raw(raw, full_utt=True)
    decoder.end_utt()


def lock() -> threading.Lock:
    """pocketsphinx decoders are not thread-safe: hold this while one decodes."""
    return _lock
