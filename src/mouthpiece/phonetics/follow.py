"""Phones of live speech whose text is known: the speech followed through a rendering of the text.

For apps that speak text they already have (a TTS-driven assistant, a storyteller), the
text says which phones come; only their timing is unknown. :class:`TextFollower` renders
the text with espeak-ng (:func:`.tts.tts`, whose phone times are exact) and, as the live
speech arrives, aligns it to that rendering frame by frame: online time warping on log
mel spectra, in the manner of Dixon (2005, "Live tracking of musical performances using
on-line time warping"), but as a left-to-right hidden Markov model whose states are the
rendering's frames. Each heard frame either stays on the rendering frame it matched or
moves one or two frames on (the speaker may be up to twice as fast as espeak-ng, and any
slower); a frame's likelihood of matching is ``exp(-cosine distance / SHARPNESS)``. The
forward probabilities are updated with every 10 ms frame, and every ``SMOOTH_EVERY``
frames the position of each of the last ``SMOOTHED`` frames is re-estimated from all the
speech heard so far (fixed-lag smoothing: the forward probability times that of the best
way on to the last frame, a max-product backward pass, which scores as the sum did at a
third of the cost), so a frame's phone is a guess at the frontier and settles as more
speech arrives. A heard frame takes the phone the rendering has where
the frame is matched. Pauses in the rendering are cut to ``PAUSE_KEPT`` frames, so
that speech the speaker does not pause in walks through them.

Spectra are compared as deviations from a mean (for the speech, a running mean of its
frames within ``SPEECH_RANGE`` of the loudest, begun at the rendering's: pauses would
drag it towards silence and blur every comparison after them; for the rendering, its
own) plus their change over ``DELTA`` frames, so a different voice and microphone matter
less. On the dev corpus (7 synthetic voices, sentences joined with pauses into ~30 s
streams sent at real-time rate) the streamed JawOpen, with the release rule of
:mod:`mouthpiece.live`, correlates 0.90 with forced alignment of the text
(:func:`.transcript.align`), against 0.73 for the phone loop that ignores the text
(``benchmarks/stream.py --only text``); 0.85 on real recordings. The same warp over
whole utterances reaches ~0.93: espeak-ng's phones and pocketsphinx's differ that much.

Text may be added while the speech goes on (:meth:`TextFollower.add_text`, e.g. a
sentence at a time as a TTS engine produces it). Text is rendered a sentence at a time,
only as the speech nears the end of what is rendered (``RENDER_AHEAD``): a long text
costs no wait at the start, and a worker serving other streams is never held up long.
Every sentence's spectra are taken from the same mean, the voice's
(:func:`.spectra.voice_mean`), so how the text is cut does not change them. Speech past the end
of the text stays on the text's last frame (silence).
"""

from __future__ import annotations

import itertools
import re
from collections import deque

import numpy as np

from ..audio.features import MEL_BANDS, log_mel
from ..errors import InputError
from ..types import SAMPLE_RATE, Phone
from ..vocabulary import SILENCE
from .espeak import check_voice
from .spectra import (
    DELTA,
    FRAME_RATE,
    HOP,
    SPEECH_RANGE,
    WINDOW,
    compared,
    frame_phones,
    shortened_pauses,
    unit_rows,
    voice_mean,
)
from .tts import tts

SHARPNESS = 0.3  # cosine distance that makes a match e times less likely
MOVES = np.log([0.2, 0.6, 0.2])  # log probabilities of staying, moving one frame on, moving two
SMOOTHED = 8  # last frames whose position is re-estimated as speech arrives
SMOOTH_EVERY = 2  # frames between re-estimates (each costs as much as following a frame)
PRIOR_FRAMES = 50  # weight, in frames, of the voice's mean in the speech's running mean
RENDER_AHEAD = 800  # frames of rendering kept ahead of the most probable position
LONGEST_PIECE = 300  # characters rendered at once where a sentence runs on
# What a voice's mean spectrum is taken from: most English sounds, in plain Latin letters
# that other languages' voices read too.
BAND = (200, 400)  # frames behind and ahead of the most probable position that are followed
DROP_AT = 1000  # frames of rendering behind every reachable band that are dropped at once
SMOOTHING_MARGIN = 40  # frames around the recent positions that smoothing looks at


class TextFollower:
    """Phones of speech that says ``text``, found while the speech arrives. The same
    calls as :class:`.phone_loop.PhoneLoop`: :meth:`hear` blocks of 16 kHz samples, read
    :meth:`heard` at any time, :meth:`finish` at the end.

    Parameters
    ----------
    text : str, what the speech says (may be empty, and added to with :meth:`add_text`)
    voice : str, the espeak-ng voice the text is rendered with (its language)

    Raises
    ------
    InputError
        For an unknown voice.
    """

    def __init__(self, text: str = "", *, voice: str = "en-us") -> None:
        check_voice(voice)
        self.voice = voice
        self.samples = 0  # heard so far
        # The rendering's frames from `_dropped` on (as unit rows), and their phones; frames
        # are numbered from the text's start, those far behind the speech dropped.
        self._template = np.zeros((0, 2 * MEL_BANDS), np.float32)
        self._labels: list[str] = []
        self._dropped = 0
        # log forward probabilities of template frames `_start..` for the last heard frame (-inf elsewhere)
        self._start, self._alpha = 0, np.zeros(0)
        self._recent: list[tuple[int, np.ndarray, np.ndarray]] = []  # (band start, alpha, match) of the last frames
        self._buffer = np.zeros(0, np.float32)  # samples from the next frame's window on
        self._spectra: list[np.ndarray] = []  # the last DELTA + 1 log mel spectra heard
        self._voice_mean = voice_mean(voice)
        self._mean_sum, self._mean_count = self._voice_mean * PRIOR_FRAMES, PRIOR_FRAMES
        self._loudest = -np.inf  # log mel power of the loudest frame heard
        self._latest: list[int] = []  # the most probable template frames of the `_recent` frames
        self._settled: list[str] = []  # the phone of each heard frame from `_first` on that will not change
        self._first = 0  # heard frame index of `_settled[0]`
        self._stepped = 0  # frames followed (heard since there was text)
        self._unrendered: deque[str] = deque()  # pieces of the text not rendered yet
        self.add_text(text)

    def __enter__(self) -> TextFollower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_text(self, text: str) -> None:
        """Follow ``text`` after the text given so far (text with nothing to say adds nothing)."""
        self._unrendered.extend(_pieces(text))
        self._render_ahead(self._position())

    def _position(self) -> int:
        """The most probable template frame of the last heard frame (0 before any)."""
        return self._start + int(np.argmax(self._alpha)) if len(self._alpha) else 0

    def _render_ahead(self, position: int) -> None:
        """Render pieces of the text until ``RENDER_AHEAD`` frames lie ahead of ``position``."""
        while self._unrendered and self._rendered < position + RENDER_AHEAD:
            self._render(self._unrendered.popleft())

    def _render(self, piece: str) -> None:
        try:
            audio, phones = tts(piece, voice=self.voice)
        except InputError:  # nothing the voice can say (the voice itself was checked)
            return
        spectra = log_mel(audio.samples)
        labels = frame_phones(phones.phones, len(spectra))
        kept = shortened_pauses(np.array([label != SILENCE for label in labels]))
        if not self._rendered:  # the speech starts at the text's start
            self._start, self._alpha = 0, np.zeros(1)
        self._template = np.concatenate([self._template, compared(spectra - self._voice_mean)[kept]])
        self._labels += [labels[i] for i in kept]

    def hear(self, samples: np.ndarray) -> None:
        """Follow the next block of speech (float samples in [-1, 1] at 16 kHz)."""
        self.samples += len(samples)
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, np.float32)])
        whole = (len(self._buffer) - WINDOW) // HOP + 1
        if whole <= 0:
            return
        for k in range(whole):  # a frame at a time: a batch's rounding would depend on how the speech arrives
            self._step(log_mel(self._buffer[k * HOP : k * HOP + WINDOW])[0])
        self._buffer = self._buffer[whole * HOP :]

    @property
    def _rendered(self) -> int:
        """Frames of the rendering so far (dropped ones included)."""
        return self._dropped + len(self._labels)

    def heard(self) -> list[Phone]:
        """The phones of the speech so far, in seconds from its start; those of the last
        ``SMOOTHED`` frames may still change as more speech arrives."""
        labels = self._settled + [self._labels[j - self._dropped] for j in self._latest]
        phones: list[Phone] = []
        frame = self._first
        for label, run in itertools.groupby(labels):
            count = sum(1 for _ in run)
            start = phones[-1].end if phones else (0.0 if frame == 0 else self._frame_end(frame - 1))
            phones.append(Phone(start, self._frame_end(frame + count - 1), label))
            frame += count
        return phones

    @staticmethod
    def _frame_end(frame: int) -> float:
        """Where heard frame ``frame``'s phone ends: 5 ms past its window's centre."""
        return frame / FRAME_RATE + WINDOW / 2 / SAMPLE_RATE + 0.5 / FRAME_RATE

    def forget_before(self, seconds: float) -> None:
        """Drop the settled frames before ``seconds`` (a long stream keeps memory flat)."""
        ending_before = int(np.floor((seconds - self._frame_end(0)) * FRAME_RATE)) + 1  # frames i < this end by then
        drop = min(max(0, ending_before - self._first), len(self._settled))
        self._settled = self._settled[drop:]
        self._first += drop

    def finish(self) -> list[Phone]:
        """The phones of all the speech heard (those not forgotten)."""
        return self.heard()

    def close(self) -> None:
        """Nothing to give back; there for the same calls as the phone loop."""

    def _step(self, spectrum: np.ndarray) -> None:
        self._spectra = [*self._spectra[-DELTA:], spectrum]
        power = float(np.logaddexp.reduce(spectrum))
        self._loudest = max(self._loudest, power)
        if power >= self._loudest - SPEECH_RANGE:  # pauses would drag the mean towards silence
            self._mean_sum += spectrum
            self._mean_count += 1
        best = self._position()
        self._render_ahead(best)
        if not self._rendered:
            self._settled.append(SILENCE)
            return
        deviation, change = spectrum - self._mean_sum / self._mean_count, spectrum - self._spectra[0]
        frame = unit_rows(deviation[None], change[None])[0]
        lo, hi = max(0, best - BAND[0]), min(self._rendered, best + BAND[1])
        match = -(1.0 - self._template[lo - self._dropped : hi - self._dropped] @ frame) / SHARPNESS
        behind = _placed(self._alpha, self._start, lo - 2, hi)  # behind[k] is alpha[lo + k - 2]
        band = np.logaddexp(np.logaddexp(behind[2:] + MOVES[0], behind[1:-1] + MOVES[1]), behind[:-2] + MOVES[2])
        band += match
        band -= band.max()
        self._start, self._alpha = lo, band
        self._recent.append((lo, band, match))
        self._stepped += 1
        if self._stepped % SMOOTH_EVERY:  # a guess for the new frame until the next smoothing
            self._latest.append(lo + int(np.argmax(band)))
            return
        self._latest = self._smoothed()
        while len(self._recent) > SMOOTHED:
            self._settled.append(self._labels[self._latest.pop(0) - self._dropped])
            self._recent.pop(0)
        unreachable = lo - BAND[0] - self._dropped  # frames no later band can reach
        if unreachable >= DROP_AT:
            self._template, self._labels = self._template[unreachable:], self._labels[unreachable:]
            self._dropped += unreachable

    def _smoothed(self) -> list[int]:
        """The most probable template frame of each of the last frames, given all heard.

        Only the frames near the last frame's most probable one are looked at: the
        recent frames cannot be more than two frames a frame behind it."""
        if not self._recent:
            return []
        centre = self._position()
        lo, hi = max(0, centre - 2 * SMOOTHED - SMOOTHING_MARGIN), centre + SMOOTHING_MARGIN
        bands, matches = np.full((2, len(self._recent), hi - lo), -np.inf)
        for row, (start, band, match) in enumerate(self._recent):
            _place(bands[row], band, start, lo)
            _place(matches[row], match, start, lo)
        backward = np.zeros(hi - lo)
        ahead = np.full(hi - lo + 2, -np.inf)
        positions = []
        for row in range(len(self._recent) - 1, -1, -1):
            probable = bands[row] + backward
            best = int(np.argmax(probable))
            if probable[best] > -np.inf:
                positions.append(lo + best)
            else:  # its probable frames lie outside the window
                start, band, _ = self._recent[row]
                positions.append(start + int(np.argmax(band)))
            ahead[:-2] = matches[row] + backward
            backward = np.maximum(np.maximum(ahead[:-2] + MOVES[0], ahead[1:-1] + MOVES[1]), ahead[2:] + MOVES[2])
            backward -= backward.max()
        return positions[::-1]


def _placed(values: np.ndarray, start: int, lo: int, hi: int) -> np.ndarray:
    """``values`` (those of template frames ``start..``) over frames ``lo..hi-1``, -inf where they have none."""
    out = np.full(hi - lo, -np.inf)
    _place(out, values, start, lo)
    return out


def _place(out: np.ndarray, values: np.ndarray, start: int, lo: int) -> None:
    """Write ``values`` (those of template frames ``start..``) where they fall in ``out`` (frames ``lo..``)."""
    a, b = max(lo, start), min(lo + len(out), start + len(values))
    if a < b:
        out[a - lo : b - lo] = values[a - start : b - start]


def _pieces(text: str) -> list[str]:
    """``text`` cut after each sentence, and at spaces within sentences longer than ``LONGEST_PIECE``.

    >>> _pieces("Hello there. How are you?  Fine, thanks!")
    ['Hello there.', 'How are you?', 'Fine, thanks!']
    """
    pieces = []
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        while len(sentence) > LONGEST_PIECE:
            cut = sentence.rfind(" ", 0, LONGEST_PIECE)
            cut = cut if cut > 0 else LONGEST_PIECE
            pieces.append(sentence[:cut])
            sentence = sentence[cut:].lstrip()
        if sentence.strip():
            pieces.append(sentence)
    return pieces
