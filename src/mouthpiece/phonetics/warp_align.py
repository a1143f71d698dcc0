"""Phones of speech whose text is known, in any language espeak-ng speaks: the speech warped
onto espeak-ng's rendering of the text.

pocketsphinx's aligner knows English words only. For any other language, espeak-ng
speaks the text in that language's voice (:func:`.tts.tts`: its phones and their times
are exact) and the speech is aligned to that rendering by dynamic time warping over the
whole utterance, on the frames :mod:`.spectra` defines (log mel deviations from each
voice's own mean, with their change, compared by cosine). Each frame of the speech then
takes the phone the rendering has at the frame it is matched to.

1. The rendering is spoken at a rate that makes its speech as long as the speech's own
   (frames within 30 dB of the loudest), so the warp has little stretching left to do;
   its pauses are cut to a few frames (a speaker need not pause where espeak-ng does).
2. The warp: each frame of the speech moves the rendering on by 0, 1 or 2 frames (the
   speaker may be up to twice as fast there, and any slower); it starts on the
   rendering's first frame and ends on its last. Staying and skipping cost a little more
   than moving one frame, which keeps the path near the diagonal where the spectra are
   ambiguous. Only a band around the diagonal is searched (memory grows with the length
   times the band, not its square).
3. Runs of equal phones become the track's phones; the rendering's words are carried over
   through the same path.
"""

from __future__ import annotations

import numpy as np

from ..audio.features import log_mel
from ..types import SAMPLE_RATE, Audio, Phone, PhoneTrack, Word
from ..vocabulary import SILENCE
from . import espeak
from .spectra import FRAME_RATE, SPEECH_RANGE, WINDOW, compared, frame_phones, shortened_pauses, voice_mean
from .tts import tts

MOVE_COSTS = np.array([0.08, 0.0, 0.08], np.float32)  # added to the cosine distance: stay, one on, two on
BAND_FRACTION = 0.25  # of the rendering's frames searched on either side of the diagonal
MIN_BAND = 150  # frames, the least band on either side
RATE_WPM = espeak.RATE_DEFAULT_WPM  # espeak-ng's rate that the rendering's first length is measured at


def align_by_rendering(audio: Audio, text: str, *, voice: str) -> PhoneTrack:
    """Timed phones of ``audio`` saying ``text``, read as espeak-ng ``voice`` would read it.

    Parameters
    ----------
    audio : Audio, 16 kHz mono
    text : str, what the speech says (any language ``voice`` speaks)
    voice : str, an espeak-ng voice or language (``de``, ``fr``, ``pt-br``, ``en-us+f2``)

    Returns
    -------
    PhoneTrack
        Phones covering ``[0, audio.duration)`` with the text's words.

    Raises
    ------
    InputError
        For an unknown voice or a text with nothing to say.
    """
    spectra = log_mel(audio.samples)
    power = spectra.mean(1)
    loud = power >= power.max() - SPEECH_RANGE
    rendered_audio, rendered = _rendering(text, voice, spoken_frames=int(loud.sum()))
    r_spectra = log_mel(rendered_audio.samples)
    labels = frame_phones(rendered.phones, len(r_spectra))
    kept = shortened_pauses(np.array([label != SILENCE for label in labels]))
    template = compared(r_spectra - voice_mean(voice))[kept]
    mean = spectra[loud].mean(0) if loud.any() else voice_mean(voice)
    heard = compared(spectra - mean)
    path = _warp(heard, template)  # template frame of each heard frame
    kept_labels = [labels[k] for k in kept]
    frame_labels = [kept_labels[j] for j in path]
    times = kept[path] / FRAME_RATE + WINDOW / 2 / SAMPLE_RATE  # rendering time of each heard frame
    return PhoneTrack(_phones(frame_labels, audio.duration), audio.duration, _words(rendered.words, times, audio))


def _rendering(text: str, voice: str, *, spoken_frames: int) -> tuple[Audio, PhoneTrack]:
    """espeak-ng's rendering of ``text``, at a rate that makes its speech about ``spoken_frames`` long."""
    first_audio, first = tts(text, voice=voice, rate_wpm=RATE_WPM)
    rendered_speech = sum(p.end - p.start for p in first.phones if p.label != SILENCE)
    if spoken_frames <= 0 or rendered_speech <= 0:
        return first_audio, first
    rate = RATE_WPM * rendered_speech / (spoken_frames / FRAME_RATE)
    rate = int(np.clip(round(rate), espeak.RATE_MIN_WPM, espeak.RATE_MAX_WPM))
    return (first_audio, first) if rate == RATE_WPM else tts(text, voice=voice, rate_wpm=rate)


def _warp(heard: np.ndarray, template: np.ndarray) -> np.ndarray:
    """The template frame each heard frame is matched to: the cheapest monotone path (see the module)."""
    n, m = len(heard), len(template)
    band = max(MIN_BAND, int(BAND_FRACTION * m))
    centre = np.round(np.arange(n) * (m - 1) / max(n - 1, 1)).astype(int)
    lows = np.clip(centre - band, 0, m - 1)
    highs = np.clip(centre + band + 1, 1, m)
    highs[-1] = m  # the path must be able to end on the last frame
    lows[0] = 0
    previous = np.full(m + 2, np.inf, np.float32)  # two frames of padding before frame 0
    previous[2] = 1.0 - float(heard[0] @ template[0])
    moves: list[np.ndarray] = [np.zeros(1, np.int8)]
    for i in range(1, n):
        lo, hi = int(lows[i]), int(highs[i])
        cost = 1.0 - template[lo:hi] @ heard[i]
        stay, one_on, two_on = previous[lo + 2 : hi + 2], previous[lo + 1 : hi + 1], previous[lo:hi]
        options = np.stack([stay, one_on, two_on]) + MOVE_COSTS[:, None]
        move = options.argmin(0).astype(np.int8)
        current = np.full(m + 2, np.inf, np.float32)
        current[lo + 2 : hi + 2] = options[move, np.arange(hi - lo)] + cost
        moves.append(move)
        previous = current
    finals = previous[2:]
    j = m - 1 if np.isfinite(finals[-1]) else int(np.argmin(finals))  # faster than twice: end where it can
    path = np.empty(n, int)
    for i in range(n - 1, -1, -1):
        path[i] = j
        if i:
            j -= int(moves[i][j - lows[i]])
    return path


def _phones(frame_labels: list[str], duration: float) -> tuple[Phone, ...]:
    """Runs of equal labels as phones; a boundary lies midway between two frames' window centres."""
    offset = WINDOW / 2 / SAMPLE_RATE - 0.5 / FRAME_RATE
    phones: list[Phone] = []
    start_frame = 0
    for i in range(1, len(frame_labels) + 1):
        if i == len(frame_labels) or frame_labels[i] != frame_labels[start_frame]:
            start = 0.0 if not phones else phones[-1].end
            end = duration if i == len(frame_labels) else min(duration, i / FRAME_RATE + offset)
            if end > start:
                phones.append(Phone(start, end, frame_labels[start_frame]))
            start_frame = i
    return tuple(phones)


def _words(words: tuple[Word, ...], times: np.ndarray, audio: Audio) -> tuple[Word, ...]:
    """The rendering's words at the heard times their rendering times were matched to."""
    out: list[Word] = []
    heard = np.arange(len(times)) / FRAME_RATE + WINDOW / 2 / SAMPLE_RATE
    for word in words:
        inside = np.flatnonzero((times >= word.start) & (times < word.end))
        if len(inside):
            start, end = float(heard[inside[0]]), min(audio.duration, float(heard[inside[-1]]) + 1 / FRAME_RATE)
            if end > start and (not out or start >= out[-1].start):
                out.append(Word(start, end, word.text))
    return tuple(out)
