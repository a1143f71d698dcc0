"""Phonetics: speech (and optionally its text) to timed phones.

- ``recognize(audio)``: phones without a transcript (recognized words, or the phone loop);
- ``align(audio, text)``: forced alignment of an English transcript, falling back to recognition;
- ``align_text(audio, text, language=...)``: alignment of a transcript in any language espeak-ng speaks;
- ``tts(text, voice=...)``: espeak-ng speech with its exact phone timings.

All phones are ARPAbet (``vocabulary.PHONES``); ``inventory.py`` maps IPA onto it.
"""

from __future__ import annotations

from .align import words_of
from .chunks import split_at_pauses
from .language import DEFAULT_LANGUAGE, align_text, check_language, default_recognizer, is_english, languages
from .phone_loop import tidy
from .recognize import DEFAULT_RECOGNIZER, RECOGNIZERS, recognize, recognizer_named
from .transcript import align
from .tts import tts

__all__ = [
    "DEFAULT_LANGUAGE",
    "DEFAULT_RECOGNIZER",
    "RECOGNIZERS",
    "align",
    "align_text",
    "check_language",
    "default_recognizer",
    "is_english",
    "languages",
    "recognize",
    "recognizer_named",
    "split_at_pauses",
    "tidy",
    "tts",
    "words_of",
]
