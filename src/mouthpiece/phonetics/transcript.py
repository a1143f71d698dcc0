"""A transcript followed through the speech, whatever it takes: aligned whole (:mod:`.align`),
in chunks when the speech is long (:mod:`.long_align`), in part when it covers only part of
the speech (:mod:`.partial_align`), or, when it does not fit at all, the speech recognized
instead (:mod:`.recognize`), with a warning that says which and where.

It sits above the aligners and the recognizer, which build on :mod:`.align`'s primitives,
so none of them imports another in a circle.
"""

from __future__ import annotations

import warnings

from ..types import Audio, PhoneTrack
from . import long_align
from .align import AlignmentFailed, align_words, fits, words_of
from .partial_align import align_part
from .recognize import recognize


def align(audio: Audio, text: str) -> PhoneTrack:
    """Align a transcript to speech: word and phone timings.

    Parameters
    ----------
    audio : Audio, 16 kHz mono
    text : str, what is said (any punctuation and case)

    Returns
    -------
    PhoneTrack
        Phones covering ``[0, audio.duration)`` and the transcript's words. If the
        transcript cannot be aligned, the phones are recognized instead (a
        ``UserWarning`` says so) and the words are the recognized ones. Long audio is
        aligned in chunks (:mod:`.long_align`).
    """
    words = words_of(text)
    if not words or len(audio.samples) == 0:
        return recognize(audio)
    if audio.duration > long_align.WHOLE_SECONDS:
        return long_align.align_in_chunks(audio, text)
    try:
        track = align_words(audio, words)
    except AlignmentFailed:
        warnings.warn(
            "The transcript could not be aligned to the audio; recognizing phones instead.", UserWarning, stacklevel=2
        )
        return recognize(audio)
    if not fits(track, audio):
        part = align_part(audio, words)
        if part is not None:
            track, (start, end) = part
            rest = f"{end:.2f}-{audio.duration:.2f} s" if start == 0.0 else f"0.00-{start:.2f} s"
            warnings.warn(
                f"The transcript matches only the speech at {start:.2f}-{end:.2f} s; the speech at {rest} was "
                "recognized instead.", UserWarning, stacklevel=2,
            )  # fmt: skip
            return track
        warnings.warn(
            f"The transcript does not match the speech (0.00-{audio.duration:.2f} s); recognizing phones instead.",
            UserWarning, stacklevel=2,
        )  # fmt: skip
        return recognize(audio)
    return track
