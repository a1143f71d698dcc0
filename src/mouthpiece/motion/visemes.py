"""Phones to Oculus visemes: each phone's viseme from ``rules.PHONE_TO_VISEME``.

Transparent phones (HH) show the viseme of the phone after them; neighbours with the
same viseme merge into one segment.
"""

from __future__ import annotations

from ..types import PhoneTrack, Segment, VisemeTrack
from ..vocabulary import SILENCE
from . import rules


def to_visemes(phones: PhoneTrack) -> VisemeTrack:
    """The viseme track of a phone track.

    >>> from mouthpiece.types import Phone
    >>> track = PhoneTrack((Phone(0, .1, "sil"), Phone(.1, .2, "HH"), Phone(.2, .4, "AA"), Phone(.4, .5, "M")), .5)
    >>> [s.label for s in to_visemes(track).segments]
    ['sil', 'aa', 'PP']
    """
    labels = [rules.PHONE_TO_VISEME[p.label] for p in phones.phones]
    for i in range(len(labels) - 1, -1, -1):
        if phones.phones[i].label in rules.TRANSPARENT_PHONES:
            following = phones.phones[i + 1].label if i + 1 < len(labels) else SILENCE
            labels[i] = labels[i + 1] if following != SILENCE else "sil"
    segments: list[Segment] = []
    t = 0.0
    for phone, label in zip(phones.phones, labels):
        if phone.start > t + 1e-9:
            segments.append(Segment(t, phone.start, "sil"))
        if segments and segments[-1].label == label:
            segments[-1] = Segment(segments[-1].start, phone.end, label)
        else:
            segments.append(Segment(max(phone.start, t), phone.end, label))
        t = phone.end
    if t < phones.duration - 1e-9:
        if segments and segments[-1].label == "sil":
            segments[-1] = Segment(segments[-1].start, phones.duration, "sil")
        else:
            segments.append(Segment(t, phones.duration, "sil"))
    return VisemeTrack(tuple(segments), phones.duration)
