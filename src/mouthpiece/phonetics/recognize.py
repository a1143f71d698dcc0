"""Phones with timings from speech alone: pocketsphinx's phone loop.

The phone loop (``allphone``) decodes with a phone trigram instead of words, ~20 times
faster than word recognition. Its phone identities are rough, but lip sync needs the
viseme class and the timing, which it gets mostly right; ``ds=2`` (score every second
frame) halves the cost again for a small loss of accuracy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..audio.features import voice_activity
from ..types import Audio, Phone, PhoneTrack
from ..vocabulary import SILENCE
from . import sphinx

# Decoder settings, chosen on the dev corpus by mouth-shape accuracy (benchmarks/accuracy.py).
PHONE_LOOP_OPTIONS = {"ds": 2, "lw": 2.0}
CHUNK_SECONDS = 30.0  # s, longest stretch decoded at once (bounds memory on long files)
CUT_SEARCH = 5.0  # s, the window before a chunk's limit searched for the quietest cut


def recognize(audio: Audio) -> PhoneTrack:
    """Recognize phones without a transcript.

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
        decoder.start_utt()
        decoder.process_raw(sphinx.pcm16(audio), full_utt=True)
        decoder.end_utt()
        segments = [sphinx.segment_phone(s.start_frame, s.end_frame, s.word, s.ascore) for s in decoder.seg()]
    return tidy(_silence_where_quiet(segments, voice_activity(audio, fps=sphinx.FRAME_RATE)), audio.duration)


def _silence_where_quiet(phones: list[Phone], speech: np.ndarray) -> list[Phone]:
    """Relabel as silence the phones with no voice activity at all (the phone loop hears
    phones in digital silence and faint noise)."""
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


def split_at_pauses(
    blocks: Iterable[np.ndarray], *, sample_rate: int, max_seconds: float = CHUNK_SECONDS
) -> Iterator[tuple[float, Audio]]:
    """Cut a stream of sample blocks into chunks of at most ``max_seconds``, at pauses.

    Each cut falls on the quietest 10 ms in the last ``CUT_SEARCH`` seconds of the chunk,
    so words are not split; chunks start on a 10 ms boundary. Memory holds one chunk.

    Yields
    ------
    (offset, audio) : the chunk's start in seconds and its samples
    """
    hop = sample_rate // sphinx.FRAME_RATE
    limit = int(max_seconds * sample_rate) // hop * hop
    search = int(CUT_SEARCH * sample_rate) // hop * hop
    pending = np.zeros(0, np.float32)
    offset = 0
    for block in blocks:
        pending = np.concatenate([pending, block])
        while len(pending) >= limit:
            tail = pending[limit - search : limit].reshape(-1, hop)
            cut = limit - search + int(np.argmin(np.square(tail).sum(1))) * hop
            yield offset / sample_rate, Audio(pending[:cut], sample_rate)
            offset += cut
            pending = pending[cut:]
    if len(pending) or offset == 0:
        yield offset / sample_rate, Audio(pending, sample_rate)
