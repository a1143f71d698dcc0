"""Phonetics: speech (and optionally its text) to timed phones.

- ``recognize(audio)``: phones without a transcript (pocketsphinx phone loop);
- ``align(audio, text)``: forced alignment of a transcript, falling back to recognition;
- ``tts(text, voice=...)``: espeak-ng speech with its exact phone timings.

All phones are ARPAbet (``vocabulary.PHONES``); ``inventory.py`` maps IPA onto it.
"""

from __future__ import annotations

from .align import align, words_of
from .recognize import recognize, split_at_pauses, tidy
from .tts import tts

__all__ = ["align", "recognize", "split_at_pauses", "tidy", "tts", "words_of"]
