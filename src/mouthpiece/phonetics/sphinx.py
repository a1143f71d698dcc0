"""pocketsphinx, set up once per process: its decoders (cached, or borrowed from a pool) and its input.

pocketsphinx 5 ships its US English acoustic model, dictionary and phone language model
inside the wheel, so nothing is downloaded. Its phone names are ARPAbet without stress;
fillers (``SIL``, ``+NSN+``, ...) become silence (``inventory.cmu_to_arpabet``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import numpy as np
from pocketsphinx import Decoder, get_model_path, set_loglevel

from ..audio.save import to_pcm16

FRAME_RATE = 100  # frames/s of pocketsphinx's features
_lock = threading.Lock()
_idle: dict[tuple[str, tuple[tuple[str, Any], ...]], list[Decoder]] = {}  # decoders not borrowed, by setup
_initial_cmn: dict[int, str] = {}  # each decoder's cepstral mean when made (decoders live as long as the process)
# A fixed, quiet noise a live decoder hears before each use (:func:`settle`), which leaves
# it in the same state whatever it heard before: for the phone loop's live normalisation,
# reinit_feat alone did not (the same speech came out with other phones after other speech).
SETTLE_NOISE = np.random.default_rng(0).standard_normal(4800).astype(np.float32) * 0.05  # 0.3 s


@cache
def decoder(kind: str, **options: Any) -> Decoder:
    """A cached decoder: ``kind`` 'phones' (phone loop), 'words' (word recognition, give
    ``lm``) or 'align' (forced alignment)."""
    return _new_decoder(kind, **options)


@contextmanager
def borrowed(kind: str, **options: Any) -> Iterator[Decoder]:
    """A decoder of its own for the caller (:func:`decoder`'s arguments) while the block runs:
    for decoding that spans many calls, like a live stream, beside other such decodings. It
    goes back to a pool on exit, so creating one (~0.1 s) is paid once per concurrent use."""
    key = (kind, tuple(sorted(options.items())))
    with _lock:
        idle = _idle.setdefault(key, [])
        taken = idle.pop() if idle else None
    taken = taken or _new_decoder(kind, **options)
    try:
        yield taken
    finally:
        with _lock:
            _idle[key].append(taken)


def settle(decoder: Decoder, cmn: str | None = None) -> None:
    """Put ``decoder`` in the same state whatever it decoded before: it hears ``SETTLE_NOISE``,
    forgets its normalisation and starts again from ``cmn`` (default: its own first one)."""
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(pcm16(SETTLE_NOISE), full_utt=False)
    decoder.end_utt()
    decoder.reinit_feat()
    decoder.set_cmn(cmn or _initial_cmn[id(decoder)])


def _new_decoder(kind: str, **options: Any) -> Decoder:
    set_loglevel("FATAL")
    if kind == "phones":
        config = {"allphone": get_model_path("en-us/en-us-phone.lm.bin"), "lm": None, "loglevel": "FATAL", **options}
    elif kind in ("align", "words"):
        config = {"lm": None, "loglevel": "FATAL", **options}
    else:
        raise ValueError(f"unknown decoder kind {kind!r}")
    made = Decoder(**config)
    _initial_cmn[id(made)] = made.get_cmn()
    return made


def pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] as 16-bit little-endian PCM, what pocketsphinx reads."""
    return to_pcm16(samples).tobytes()


def decode(decoder: Decoder, raw: bytes) -> None:
    """Run one whole utterance of 16-bit PCM through ``decoder`` (hold :func:`lock`), from
    the same state whatever it decoded before: its features' normalisation starts again
    from its first cepstral mean. (Not :func:`settle`: an utterance of noise would use up
    the search an aligner has just set for this one.)"""
    decoder.reinit_feat()
    decoder.set_cmn(_initial_cmn[id(decoder)])
    decoder.start_utt()
    decoder.process_raw(raw, full_utt=True)
    decoder.end_utt()


def lock() -> threading.Lock:
    """pocketsphinx decoders are not thread-safe: hold this while one decodes."""
    return _lock
