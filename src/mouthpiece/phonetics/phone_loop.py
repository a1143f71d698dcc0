"""Phones from speech alone with pocketsphinx's phone loop: fast, rough phone identities.

The phone loop (``allphone``) decodes with a phone trigram instead of words. It is the
fastest recognizer (real-time factor ~0.03 with ``ds=2``, scoring every second frame)
but confuses phones within a place of articulation often, so mouth shapes are less
accurate than with :mod:`.words`. It serves where speed matters most, and live: a
:class:`PhoneLoop` hears speech a block at a time, and :func:`recognize_phones` is one
fed a whole recording in blocks, so a file and a live stream of the same speech are
recognized alike.

Its cepstral mean normalisation is live (a running mean, as audio arrives), started
from the mean of typical speech (``PRIMED_CMN``) at every utterance. On the dev corpus
this scores as whole-utterance normalisation did on frame accuracy and openness, and
~0.03 lower on closures.

Decoders are pooled, and some of a pocketsphinx decoder's state outlives an utterance
and ``reinit_feat`` (the same speech came out with other phones after other speech).
So before each use the decoder is settled (:func:`.sphinx.settle`: it hears a fixed, quiet
noise), which leaves it in the same state whatever it heard before: the same speech always
gives the same phones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..audio.features import voice_activity
from ..types import SAMPLE_RATE, Audio, Phone, PhoneTrack
from ..vocabulary import SILENCE
from . import sphinx
from .inventory import cmu_to_arpabet

PHONE_LOOP_OPTIONS = {"ds": 2, "lw": 2.0, "cmn": "live"}  # ds and lw chosen by mouth-shape accuracy on a dev corpus
# Cepstral mean of speech recordings (dev corpus and real speech pooled): where live
# normalisation starts. pocketsphinx's own start (40,3,-1) costs ~0.04 frame accuracy on
# the first seconds of a recording.
PRIMED_CMN = "51.9,10.9,2.0,12.4,-6.5,2.2,-1.1,-3.0,-1.6,-2.9,2.4,0.2,1.5"
BLOCK_SECONDS = 10.0  # of a recording read at once
# pocketsphinx's live normalisation moves on at every call, so the decoder is always fed
# this many samples a call: the result does not depend on how the audio arrives.
FEED = 320
MIN_UTTERANCE = 3.0  # s, shortest utterance ended in a pause
MAX_UTTERANCE = 10.0  # s, longest utterance: ended wherever it is
CUT_PAUSE = 0.3  # s, of silence at the end of what was heard that ends an utterance
CUT_CHECK = 10 * FEED  # samples heard between looks for a pause


class PhoneLoop:
    """Phones of speech recognized while it arrives: :meth:`hear` blocks of 16 kHz samples,
    read :meth:`heard` at any time, :meth:`finish` at the end. Use it in a ``with`` block
    (or call :meth:`close`): it holds a decoder of its own until then.

    The decoder's utterance is ended in a pause (``CUT_PAUSE`` of silence once it is
    ``MIN_UTTERANCE`` long, or anywhere past ``MAX_UTTERANCE``) and a new one started, so
    reading the phones heard costs the same an hour into a stream as at its start.
    """

    def __init__(self) -> None:
        self._borrowed = sphinx.borrowed("phones", **PHONE_LOOP_OPTIONS)
        self._decoder = self._borrowed.__enter__()
        sphinx.settle(self._decoder, PRIMED_CMN)
        self._open = self._in_utterance = True
        self._pending = np.zeros(0, np.float32)  # samples short of a whole FEED
        self._fed = 0  # samples given to the decoder
        self._final: list[Phone] = []  # of the utterances ended
        self._start_utterance()
        self.samples = 0  # heard so far

    def __enter__(self) -> PhoneLoop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def hear(self, samples: np.ndarray) -> None:
        """Decode the next block of speech (float samples in [-1, 1] at 16 kHz)."""
        self.samples += len(samples)
        if len(self._pending):
            samples = np.concatenate([self._pending, samples])
        whole = len(samples) // FEED * FEED
        self._pending = samples[whole:]
        for start in range(0, whole, FEED):
            self._decoder.process_raw(sphinx.pcm16(samples[start : start + FEED]), full_utt=False)
            self._fed += FEED
            if (self._fed - self._utterance_start) % CUT_CHECK == 0:
                self._cut_in_pause()

    def heard(self) -> list[Phone]:
        """The best phones for the speech so far, in seconds from its start. They reach
        ~50 ms short of what was heard (the features' context), and the last one or two
        may still change as more speech arrives."""
        return self._final + self._utterance_phones()

    def forget_before(self, seconds: float) -> None:
        """Drop the final phones that end before ``seconds``: a long stream's caller that
        needs only recent ones keeps memory flat."""
        self._final = [p for p in self._final if p.end > seconds]

    def finish(self) -> list[Phone]:
        """The final phones of all the speech heard; the loop takes no more."""
        if len(self._pending):
            self._decoder.process_raw(sphinx.pcm16(self._pending), full_utt=False)
            self._fed += len(self._pending)
        self._end_utterance()
        phones = self._final
        self.close()
        return phones

    def close(self) -> None:
        """Give the decoder back (a loop closed before :meth:`finish` drops what it heard)."""
        if self._open:
            self._open = False
            if self._in_utterance:
                self._in_utterance = False
                self._decoder.end_utt()
            self._borrowed.__exit__(None, None, None)

    def _start_utterance(self) -> None:
        self._decoder.start_utt()
        self._in_utterance = True
        self._utterance_start = self._fed

    def _end_utterance(self) -> None:
        self._decoder.end_utt()
        self._in_utterance = False
        self._final += self._utterance_phones()

    def _utterance_phones(self) -> list[Phone]:
        offset = self._utterance_start / SAMPLE_RATE
        rate = sphinx.FRAME_RATE
        return [
            Phone(s.start_frame / rate + offset, (s.end_frame + 1) / rate + offset, cmu_to_arpabet(s.word))
            for s in self._decoder.seg() or ()
        ]

    def _cut_in_pause(self) -> None:
        length = (self._fed - self._utterance_start) / SAMPLE_RATE
        if length < MIN_UTTERANCE:
            return
        if length < MAX_UTTERANCE:
            last = self._utterance_phones()[-1:]
            if not last or last[0].label != SILENCE or last[0].end - last[0].start < CUT_PAUSE:
                return
        self._end_utterance()
        self._start_utterance()


def phones_as_heard(blocks: Iterable[np.ndarray]) -> Iterator[list[Phone]]:
    """After each block of 16 kHz samples, the phones heard so far (see :meth:`PhoneLoop.heard`);
    last, the final phones of the whole stream."""
    with PhoneLoop() as loop:
        for block in blocks:
            loop.hear(block)
            yield loop.heard()
        yield loop.finish()


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
    step = int(BLOCK_SECONDS * audio.sample_rate)
    *_, segments = phones_as_heard(audio.samples[i : i + step] for i in range(0, len(audio.samples), step))
    return tidy(silence_where_quiet(segments, voice_activity(audio, fps=sphinx.FRAME_RATE)), audio.duration)


def silence_where_quiet(phones: list[Phone], speech: np.ndarray, *, start: int = 0) -> list[Phone]:
    """Relabel as silence the phones with no voice activity (``speech``, one flag per
    pocketsphinx frame, the first for frame ``start``) at all: recognizers hear phones in
    digital silence and noise. Phones before or after the flags are left as they are."""
    out = []
    for p in phones:
        a = int(p.start * sphinx.FRAME_RATE) - start
        b = max(a + 1, int(p.end * sphinx.FRAME_RATE) - start)
        judged = b > 0 and a < len(speech)
        out.append(p if not judged or speech[max(a, 0) : b].any() else p._replace(label=SILENCE))
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
