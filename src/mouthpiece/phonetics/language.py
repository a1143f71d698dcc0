"""Which language speech is in decides how it is heard: English has pocketsphinx's word
recognizer and aligner; every other language espeak-ng speaks is aligned to a rendering of
its text (:mod:`.warp_align`) and, without a text, heard by a language-independent
recognizer (the learned front end).
"""

from __future__ import annotations

from ..errors import InputError
from ..types import Audio, PhoneTrack
from . import espeak
from .inventory import language_of
from .transcript import align
from .warp_align import align_by_rendering

DEFAULT_LANGUAGE = "en-us"
ENGLISH_RECOGNIZER = "words"  # the most accurate on English speech
# Heard without a language's words: the learned front end (dev_ml without text, pooled
# open_r / closures found / closures right 0.578 / 0.688 / 0.733 against the phone loop's
# 0.500 / 0.523 / 0.694; real footage r0 0.394 against 0.356).
OTHER_RECOGNIZER = "neural"


def check_language(language: str) -> str:
    """``language`` stripped, once espeak-ng is known to speak it (a code, a voice name, or
    either with a ``+variant``); InputError naming it otherwise."""
    try:
        return espeak.check_voice_name(language)
    except InputError:
        raise InputError(
            f"Unknown language {language!r}; `mouthpiece languages` lists the codes espeak-ng speaks."
        ) from None


def is_english(language: str) -> bool:
    return language_of(language) == "en"


def default_recognizer(language: str) -> str:
    """The recognizer that hears speech in ``language`` best without its text."""
    return ENGLISH_RECOGNIZER if is_english(language) else OTHER_RECOGNIZER


def align_text(audio: Audio, text: str, *, language: str = DEFAULT_LANGUAGE) -> PhoneTrack:
    """Timed phones of ``audio`` saying ``text`` in ``language``. Other languages than
    English are warped onto espeak-ng's rendering of the text, and their boundaries then
    moved to where the learned front end hears them (:mod:`mouthpiece.neural.align`:
    on held-out MBROLA voices, open_r +0.03 to +0.06 and German closures 0.90 -> 0.99;
    for English, pocketsphinx's alignment is as good without it)."""
    if is_english(language):
        return align(audio, text)
    from ..neural import align as front_end_align  # numpy only, loaded when first used

    return front_end_align.refined_by_ear(audio, align_by_rendering(audio, text, voice=check_language(language)))


def languages() -> list[tuple[str, str]]:
    """``(code, name)`` of every language espeak-ng speaks, by code."""
    return sorted(espeak.language_names().items())
