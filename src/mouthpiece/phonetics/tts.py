"""Text to speech with exact phone timings: espeak-ng speaks, and its events become phones.

1. espeak-ng speaks the text at its native rate and reports a PHONEME event (IPA) where
   each phoneme starts and a WORD event where each word starts.
2. Each phoneme lasts until the next one starts. Its IPA maps onto ARPAbet
   (:func:`~mouthpiece.phonetics.inventory.ipa_to_arpabet`); a two-phone mapping splits
   the span in half, a mark that maps to nothing joins the phone before it. Pauses
   (empty IPA names) are ``sil`` where the audio is silent; the few zero-width markers
   that also have empty names are not, and join the phone before them.
3. Two kinds of boundary move to where the audio puts them, because espeak-ng sends
   those events at points a mouth does not follow:

   - A stop's closure. espeak-ng plays the silent closure of a stop *before* the stop's
     event, so it would count as the end of the phone before. The stop gets the silence
     back: the lips are shut during the closure of a P or B, not during the vowel before.
   - A vowel after a nasal. espeak-ng sends the vowel's event after its onset transition.
     The vowel starts where the energy rises out of the nasal murmur instead: the lips
     open from an M when the vowel starts sounding.

4. Words: each WORD event names a character position in the text; the word of the text
   there starts a word, and words espeak-ng says as one with it ("of a") join it. A word
   spans its phones, pauses excluded.
5. Silence is padded to at least ``EDGE_SILENCE_S`` at both ends (the track starts and
   ends on ``sil``), and the audio is resampled to 16 kHz.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..audio.resample import resample
from ..errors import InputError
from ..types import SAMPLE_RATE, Audio, Phone, PhoneTrack, Word
from ..vocabulary import SILENCE, VOWELS
from . import espeak
from .align import WORD_PATTERN
from .inventory import ipa_to_arpabet, language_of

EDGE_SILENCE_S = 0.05  # s, least silence before the first and after the last phone
CLOSURE_FRAME_S = 0.005  # s, window in which silence is sought before a stop
ONSET_FRAME_S = 0.012  # s, window of loudness in voiced sound: a pitch period at 85 Hz
STEP_S = 0.001  # s, resolution of the boundary corrections
QUIET_DB = -30.0  # dB re the loudest frame: quieter audio counts as silence
MIN_PHONE_S = 0.02  # s, shortest a phone is left when a boundary moves into it
MAX_ONSET_SHIFT_S = 0.06  # s, furthest a vowel's start moves back into a nasal
VOWEL_SPAN_S = 0.04  # s, start of a vowel whose loudness is compared with the nasal's
ONSET_RISE = 1.5  # vowel / nasal-murmur loudness ratio above which an onset is sought

STOPS = frozenset({"P", "B", "T", "D", "K", "G", "CH", "JH"})
NASALS = frozenset({"M", "N", "NG"})


@dataclass
class _Span:
    """A phone being built: ``[start, end)`` in samples at espeak-ng's rate."""

    start: int
    end: int
    label: str
    word: int  # index of its word's first token in the text, -1 before any word


class _Loudness:
    """RMS of any stretch of the audio, from a running sum of squares."""

    def __init__(self, samples: np.ndarray, rate: int) -> None:
        self.energy = np.concatenate(([0.0], np.cumsum(samples.astype(np.float64) ** 2)))
        self.closure_frame = max(1, round(CLOSURE_FRAME_S * rate))
        self.onset_frame = max(1, round(ONSET_FRAME_S * rate))
        self.step = max(1, round(STEP_S * rate))
        frame_energy = np.diff(self.energy[:: self.onset_frame])  # whole frames only
        loudest = math.sqrt(frame_energy.max() / self.onset_frame) if len(frame_energy) else 0.0
        self.quiet = loudest * 10 ** (QUIET_DB / 20)

    def rms(self, lo: int, hi: int) -> float:
        lo, hi = max(lo, 0), min(hi, len(self.energy) - 1)
        return math.sqrt(max(self.energy[hi] - self.energy[lo], 0.0) / (hi - lo)) if hi > lo else 0.0

    def around(self, t: int) -> float:
        """RMS of the voiced-sound frame centred on sample ``t``."""
        return self.rms(t - self.onset_frame // 2, t + self.onset_frame - self.onset_frame // 2)

    def median(self, lo: int, hi: int) -> float:
        return float(np.median([self.around(t) for t in range(lo, max(hi, lo + 1), self.step)]))


def tts(text: str, *, voice: str = "en-us", rate_wpm: int | None = None) -> tuple[Audio, PhoneTrack]:
    """Speak ``text`` with espeak-ng; return the speech and its exact phones and words.

    Parameters
    ----------
    text : str
        What to say, plain text in the voice's language.
    voice : str
        Any espeak-ng voice name or language: ``en-us``, ``en-gb``, ``de``, ``fr``,
        ``es``, a variant such as ``en-us+f3`` (``espeak-ng --voices`` lists them); or
        ``piper``, a natural-sounding US English voice (:mod:`.piper_tts`, the ``piper`` extra).
    rate_wpm : int in [80, 450] or None
        Speaking rate in words per minute; None for espeak-ng's default (175).

    Returns
    -------
    audio : Audio, mono float32 at 16 kHz
    phones : PhoneTrack covering ``[0, audio.duration]`` contiguously, starting and ending
        with ``sil``, with the words of ``text``

    Raises
    ------
    InputError
        For empty text, an unknown voice or a rate out of range.
    DependencyError
        When espeak-ng's library is missing.
    """
    from .piper_tts import is_piper, piper_tts  # it reads this module's edge silence

    if isinstance(voice, str) and is_piper(voice):
        return piper_tts(text, rate_wpm=rate_wpm)
    if not isinstance(text, str):
        raise InputError(f"Text must be a string, got {type(text).__name__}.")
    if not text.strip():
        raise InputError("Text is empty; nothing to say.")
    pcm, rate, events = espeak.synthesize(text, voice=voice, rate_wpm=rate_wpm)
    samples = pcm.astype(np.float32) / 32768.0
    loudness = _Loudness(samples, rate)
    spans, word_starts = _spans_from_events(events, text, len(samples), rate, loudness, language_of(voice))
    if not any(s.label != SILENCE for s in spans):
        raise InputError(f"Text {text[:40]!r} has nothing espeak-ng voice {voice!r} can say.")
    _give_closures_to_stops(spans, loudness, rate)
    _start_vowels_at_onset(spans, loudness, rate)
    samples, spans = _pad_edges(samples, spans, rate)

    audio = Audio(resample(samples, from_rate=rate, to_rate=SAMPLE_RATE), SAMPLE_RATE)
    spans[-1].end = max(spans[-1].end, math.ceil(audio.duration * rate))
    phones = tuple(Phone(s.start / rate, min(s.end / rate, audio.duration), s.label) for s in spans)
    words = _words(spans, word_starts, text, rate)
    return audio, PhoneTrack(phones, audio.duration, words)


def _spans_from_events(
    events: list[espeak.Event], text: str, n_samples: int, rate: int, loudness: _Loudness, language: str
) -> tuple[list[_Span], list[int]]:
    """Labelled spans covering ``[0, n_samples)``, and the first token of each word."""
    token_ends = [m.end() for m in WORD_PATTERN.finditer(text)]
    word_starts: list[int] = []
    raw: list[_Span] = []  # one per phoneme event, labelled with its IPA for now
    for event in events:
        if event.type == espeak.EventType.WORD and event.length > 0:
            # the text's word at the event's (1-based) position, or the next one
            token = int(np.searchsorted(token_ends, event.text_position - 1, side="right"))
            if token < len(token_ends) and (not word_starts or token > word_starts[-1]):
                word_starts.append(token)
        elif event.type == espeak.EventType.PHONEME and not espeak.is_language_switch(event):
            start = min(event.audio_position_ms * rate // 1000, n_samples)
            if raw:  # at fast rates espeak-ng may time a word's first phoneme before the last one's
                start = max(start, raw[-1].start)
            word = word_starts[-1] if word_starts else -1
            raw.append(_Span(start, n_samples, event.phoneme, word))
    for span, following in zip(raw, raw[1:]):
        span.end = following.start

    spans = [_Span(0, raw[0].start if raw else n_samples, SILENCE, -1)]
    for span in raw:
        if span.end <= span.start:
            continue
        if span.label:
            mapped = ipa_to_arpabet(span.label, language=language)
        else:  # a pause, or a zero-width marker that still holds sound
            quiet = loudness.rms(span.start, span.end) < loudness.quiet
            mapped = [SILENCE] if quiet or spans[-1].label == SILENCE else []
        if not mapped:
            spans[-1].end = span.end
            continue
        bounds = np.linspace(span.start, span.end, len(mapped) + 1).round().astype(int)
        for label, lo, hi in zip(mapped, bounds[:-1], bounds[1:]):
            spans.append(_Span(int(lo), int(hi), label, span.word))
    return _tidy(spans), word_starts


def _tidy(spans: list[_Span]) -> list[_Span]:
    """Drop empty spans and merge neighbouring silences."""
    out: list[_Span] = []
    for span in spans:
        if span.end <= span.start:
            continue
        if out and span.label == SILENCE and out[-1].label == SILENCE:
            out[-1].end = span.end
        else:
            out.append(span)
    return out


def _give_closures_to_stops(spans: list[_Span], loudness: _Loudness, rate: int) -> None:
    """Move each stop's start back over the silence that ends the phone before it."""
    shortest = round(MIN_PHONE_S * rate)
    for before, stop in zip(spans, spans[1:]):
        if stop.label not in STOPS or before.label == SILENCE:
            continue
        t = stop.start
        while t - loudness.step >= before.start + shortest and (
            loudness.rms(t - loudness.closure_frame, t) < loudness.quiet
        ):
            t -= loudness.step
        before.end = stop.start = t


def _start_vowels_at_onset(spans: list[_Span], loudness: _Loudness, rate: int) -> None:
    """Move a vowel's start after a nasal back to where the energy rises into it."""
    shortest = round(MIN_PHONE_S * rate)
    for nasal, vowel in zip(spans, spans[1:]):
        if vowel.label not in VOWELS or nasal.label not in NASALS:
            continue
        if vowel.start - nasal.start < 2 * shortest:
            continue
        murmur = loudness.median(nasal.start, (nasal.start + vowel.start) // 2)
        voiced = loudness.median(vowel.start, min(vowel.end, vowel.start + round(VOWEL_SPAN_S * rate)))
        if voiced < ONSET_RISE * murmur:
            continue
        threshold = math.sqrt(murmur * voiced)
        earliest = max(nasal.start + shortest, vowel.start - round(MAX_ONSET_SHIFT_S * rate))
        t = vowel.start
        while t - loudness.step >= earliest and loudness.around(t - loudness.step) > threshold:
            t -= loudness.step
        nasal.end = vowel.start = t


def _pad_edges(samples: np.ndarray, spans: list[_Span], rate: int) -> tuple[np.ndarray, list[_Span]]:
    """Add silence so that at least ``EDGE_SILENCE_S`` precedes and follows the speech."""
    edge = round(EDGE_SILENCE_S * rate)
    spoken = [s for s in spans if s.label != SILENCE]
    lead = max(0, edge - spoken[0].start)
    trail = max(0, edge - (len(samples) - spoken[-1].end))
    for span in spans:
        span.start += lead
        span.end += lead
    end = len(samples) + lead + trail
    spans = _tidy([_Span(0, lead, SILENCE, -1), *spans, _Span(len(samples) + lead, end, SILENCE, -1)])
    padded = np.concatenate([np.zeros(lead, np.float32), samples, np.zeros(trail, np.float32)])
    return padded, spans


def _words(spans: list[_Span], word_starts: list[int], text: str, rate: int) -> tuple[Word, ...]:
    """Each word's span over its phones, with its text (joined words included)."""
    tokens = [m.span() for m in WORD_PATTERN.finditer(text)]
    next_start = dict(zip(word_starts, [*word_starts[1:], len(tokens)]))
    spoken: dict[int, list[_Span]] = {}
    for span in spans:
        if span.label != SILENCE:
            spoken.setdefault(span.word, []).append(span)
    words = []
    for first in word_starts:
        own = spoken.get(first)
        if own:
            words_text = text[tokens[first][0] : tokens[next_start[first] - 1][1]]
            words.append(Word(own[0].start / rate, own[-1].end / rate, words_text))
    return tuple(words)
