"""A transcript that covers only the start or the end of the speech: align it where it
fits, recognize the rest.

Forced alignment spreads a transcript over all the audio it is given, so the first
sentence of a longer recording comes out stretched across all of it, words laid over
speech they are not, and :func:`.align.misfit` rejects it. Here the speech is cut at its
pauses (runs of ``MIN_PAUSE`` or more without voice activity), the transcript is aligned
to each stretch from the start up to a pause and from a pause to the end, and of the
stretches it fits (as :func:`.align.fits` judges) the one where its visemes are heard best
(:func:`.align.heard_fit`) keeps the alignment; the other stretch is recognized. None
when no stretch fits: the transcript is of other speech.
"""

from __future__ import annotations

from ..audio.features import voice_activity
from ..types import Audio, Phone, PhoneTrack, Word
from . import sphinx
from .align import MAX_MISFIT, MIN_HEARD_FIT, AlignmentFailed, align_words, heard_fit, misfit
from .phone_loop import tidy
from .recognize import recognize

MIN_PAUSE = 0.15  # s without voice activity that may end the part a transcript covers
MAX_TRIED = 12  # stretches aligned at most (each costs an alignment)


def align_part(audio: Audio, words: list[str]) -> tuple[PhoneTrack, tuple[float, float]] | None:
    """The speech's phones with ``words`` aligned to the stretch they fit, and that stretch
    (start, end) in seconds; None when they fit no stretch that starts or ends the speech."""
    best: tuple[float, float, float, PhoneTrack] | None = None
    for start, end in _stretches(audio)[:MAX_TRIED]:
        part = _cut(audio, start, end)
        try:
            track = align_words(part, words)
        except AlignmentFailed:
            continue
        if misfit(track, part) > MAX_MISFIT:
            continue
        score = heard_fit(track, part)
        if score >= MIN_HEARD_FIT and (best is None or score > best[0]):
            best = (score, start, end, track)
    if best is None:
        return None
    _, start, end, aligned = best
    rest = (end, audio.duration) if start == 0.0 else (0.0, start)
    heard = recognize(_cut(audio, *rest))
    phones = _shifted(aligned.phones, start) + _shifted(heard.phones, rest[0])
    words_out = tuple(sorted(_shifted_words(aligned.words, start) + _shifted_words(heard.words, rest[0])))
    return PhoneTrack(tidy(sorted(phones), audio.duration).phones, audio.duration, words_out), (start, end)


def _stretches(audio: Audio) -> list[tuple[float, float]]:
    """Candidate stretches: from the start to each pause and from each pause to the end,
    the longer first (a transcript usually covers most of what it goes with)."""
    speech = voice_activity(audio, fps=sphinx.FRAME_RATE)
    cuts = []
    run = 0
    for i, active in enumerate(speech):
        run = 0 if active else run + 1
        if run == int(MIN_PAUSE * sphinx.FRAME_RATE):
            cuts.append((i - run / 2) / sphinx.FRAME_RATE)
    cuts = [c for c in cuts if 0.3 < c < audio.duration - 0.3]
    stretches = [(0.0, c) for c in cuts] + [(c, audio.duration) for c in cuts]
    return sorted(stretches, key=lambda s: s[0] - s[1])


def _cut(audio: Audio, start: float, end: float) -> Audio:
    return Audio(audio.samples[int(start * audio.sample_rate) : int(end * audio.sample_rate)], audio.sample_rate)


def _shifted(phones: tuple[Phone, ...], offset: float) -> list[Phone]:
    return [p._replace(start=p.start + offset, end=p.end + offset) for p in phones]


def _shifted_words(words: tuple[Word, ...], offset: float) -> list[Word]:
    return [w._replace(start=w.start + offset, end=w.end + offset) for w in words]
