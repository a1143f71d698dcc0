"""Phones from speech without a transcript: the recognizers, by name.

- ``words`` (default): recognize words with pocketsphinx's full English language model,
  then align them (:mod:`.words`); the most accurate mouth shapes. The bilabials of a
  misheard word that the learned front end hears no closure for are taken back
  (:mod:`mouthpiece.neural.closures`).
- ``words-small``: the same with a 5,000-word model; ~2.5 times faster, fewer closures.
- ``phones``: pocketsphinx's phone loop (:mod:`.phone_loop`); ~3 times faster still,
  rough.
- ``neural``: our learned front end (:mod:`mouthpiece.neural`), visemes straight from the
  sound in any language; the fastest by far.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ..errors import InputError
from ..types import Audio, PhoneTrack
from .phone_loop import recognize_phones
from .words import recognize_words


def _neural(audio: Audio) -> PhoneTrack:
    from ..neural import recognize as recognize_visemes  # numpy only, loaded when first used

    return recognize_visemes(audio)[0]


def _words(audio: Audio, *, model: str) -> PhoneTrack:
    from ..neural import run
    from ..neural.closures import heard_closures_only

    return heard_closures_only(recognize_words(audio, model=model), run(audio))


RECOGNIZERS: dict[str, Callable[[Audio], PhoneTrack]] = {
    "words": partial(_words, model="full"),
    "words-small": partial(_words, model="small"),
    "phones": recognize_phones,
    "neural": _neural,
}
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
    return recognizer_named(recognizer)(audio)


def recognizer_named(name: str) -> Callable[[Audio], PhoneTrack]:
    """The recognizer registered as ``name``; InputError for an unknown name."""
    try:
        return RECOGNIZERS[name]
    except KeyError:
        raise InputError(f"Unknown recognizer {name!r}; choose one of: {', '.join(RECOGNIZERS)}.") from None
