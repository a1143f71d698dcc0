"""Phones from speech alone, through words: recognize words, then align them.

Sketch. pocketsphinx decodes words with a language model: its own 73,000-word trigram
model, or our 5,000-word bigram model pruned from it (``language_model.py``), ~3 times
faster because the search space is small; a word need only sound like the one said,
since its phones are what move the lips. The words are then force-aligned
(:func:`.align.align_words`) for phone timings. Words keep phone identities consistent
(a dictionary pronunciation instead of free phone guesses), which is what makes mouth
shapes, and bilabial closures above all, right far more often than with the phone
loop. Where no word is heard, or the alignment fails, the phone loop answers instead;
it also fills the stretches of speech that word recognition left out.
"""

from __future__ import annotations

import numpy as np

from ..audio.features import voice_activity
from ..types import Audio, Phone, PhoneTrack
from ..vocabulary import SILENCE
from . import language_model, sphinx
from .align import AlignmentFailed, align_words
from .phone_loop import recognize_phones, silence_where_quiet, tidy

# Decoder settings per language model: frame skipping (ds) and phone lookahead
# (pl_window) make the search fast; one pass (no fwdflat, no bestpath) is enough for lip
# sync. lw weighs the language model against the acoustics: the small model is weighed
# less, so that acoustics decide more often (more closures are found).
FAST_SEARCH = {"ds": 2, "pl_window": 10, "fwdflat": False, "bestpath": False}
WORD_DECODER_OPTIONS = {"small": {**FAST_SEARCH, "lw": 4.0}, "full": {**FAST_SEARCH, "lw": 6.5}}
MIN_GAP = 0.15  # s, shorter silences between recognized words are pauses or stop closures
GAP_SPEECH_FRACTION = 0.5  # a longer silence is speech when voice activity covers this much of it


def recognize_words(audio: Audio, *, model: str = "small") -> PhoneTrack:
    """Recognize phones without a transcript, by way of recognized words.

    Parameters
    ----------
    audio : Audio, 16 kHz mono
    model : str, the language model: 'small' (5,000 words, bigrams) or 'full'
        (pocketsphinx's 73,000-word trigram model: slower, more accurate)

    Returns
    -------
    PhoneTrack
        Phones covering ``[0, audio.duration)`` and the recognized words.
    """
    if len(audio.samples) == 0:
        return PhoneTrack((), audio.duration)
    speech = voice_activity(audio, fps=sphinx.FRAME_RATE)
    if not speech.any():
        return PhoneTrack((Phone(0.0, audio.duration, SILENCE),), audio.duration)
    decoder = sphinx.decoder("words", lm=language_model.path(model), **WORD_DECODER_OPTIONS[model])
    with sphinx.lock():
        sphinx.decode(decoder, sphinx.pcm16(audio.samples))
        hypothesis = decoder.hyp()
    words = [w for w in (hypothesis.hypstr.split() if hypothesis else []) if not w.startswith(("<", "["))]
    if not words:
        return recognize_phones(audio)
    try:
        track = align_words(audio, words)
    except AlignmentFailed:
        return recognize_phones(audio)
    return fill_unrecognized_speech(track, audio, speech)


def fill_unrecognized_speech(track: PhoneTrack, audio: Audio, speech: np.ndarray) -> PhoneTrack:
    """Recognize with the phone loop the silences of ``track`` where there is speech.

    Word recognition leaves out what it cannot make words of; left silent, the mouth
    would rest while the voice goes on. ``speech`` is the voice activity, one flag per
    pocketsphinx frame.
    """
    phones: list[Phone] = []
    for p in silence_where_quiet(list(track.phones), speech):
        a, b = round(p.start * sphinx.FRAME_RATE), round(p.end * sphinx.FRAME_RATE)
        if p.label != SILENCE or b - a < MIN_GAP * sphinx.FRAME_RATE or speech[a:b].mean() < GAP_SPEECH_FRACTION:
            phones.append(p)
            continue
        start, end = int(p.start * audio.sample_rate), int(p.end * audio.sample_rate)
        gap = recognize_phones(Audio(audio.samples[start:end], audio.sample_rate))
        phones.extend(q._replace(start=q.start + p.start, end=q.end + p.start) for q in gap.phones)
    return PhoneTrack(tidy(phones, track.duration).phones, track.duration, track.words)
