"""Phones from speech without a transcript: the recognizers, by name.

- ``words`` (default): recognize words with a small language model, then align them
  (:mod:`.words`); the most accurate mouth shapes.
- ``phones``: pocketsphinx's phone loop (:mod:`.phone_loop`); about twice as fast,
  rougher.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import InputError
from ..types import Audio, PhoneTrack
from .phone_loop import recognize_phones
from .words import recognize_words

RECOGNIZERS: dict[str, Callable[[Audio], PhoneTrack]] = {"words": recognize_words, "phones": recognize_phones}
DEFAULT_RECOGNIZER = "words"


def recognize(audio: Audio, *, recognizer: str = DEFAULT_RECOGNIZER) -> PhoneTrack:
    """Recognize timed phones in speech.

    Parameters
    ----------
    audio : Audio, 16 kHz mono
    recognizer : str, a key of ``RECOGNIZERS``

    Returns
    -------
    PhoneTrack
        Phones covering ``[0, audio.duration)``, silence included.
    """
    try:
        method = RECOGNIZERS[recognizer]
    except KeyError:
        raise InputError(f"Unknown recognizer {recognizer!r}; choose one of: {', '.join(RECOGNIZERS)}.") from None
    return method(audio)
