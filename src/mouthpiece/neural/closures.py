"""Closures a word recognizer reports that the learned front end does not hear, taken back.

A word recognizer that hears the wrong word puts its P, B and M where the speech has none,
and each of them shuts the mouth on screen. The front end's closure head (lips shut, as for
P B M) is a second opinion: where it stays under ``MIN_CLOSURE`` at every frame from
``MARGIN_S`` before a run of recognized bilabials to ``MARGIN_S`` after it, the run takes
the viseme the front end hears there instead.

Chosen on held-out English voices (``python -m training.heldout``, words recognizer): of the
mouth closures drawn during speech, 61 % -> 83 % are at a bilabial, and none of those
that are is lost. Only the closing vetoes; closures the front end hears that the
recognizer did not were tried as additions and cost precision on the English dev corpus
and r on real footage.
"""

from __future__ import annotations

import numpy as np

from ..motion.rules import PHONE_TO_VISEME
from ..types import Phone, PhoneTrack
from ..vocabulary import VISEMES
from .decode import REPRESENTATIVE_PHONE, likeliest_other_than_closure
from .model import FRAME_CENTRE_S, FRAME_RATE, FrontEndOutput

MIN_CLOSURE = 0.1  # the closure head's value a bilabial needs somewhere near it
MARGIN_S = 0.015  # s, looked at on either side of a run of bilabials (0.03: 0.81 at a bilabial, 0.05: 0.80)


def heard_closures_only(track: PhoneTrack, heard: FrontEndOutput) -> PhoneTrack:
    """``track`` with each run of P/B/M phones near which ``heard`` (the front end's output
    for the same audio) hears no closure relabelled as the most likely other viseme there
    (its representative phone).

    >>> open_vowel = np.eye(15, dtype=np.float32)[[VISEMES.index("aa")] * 50]
    >>> quiet = FrontEndOutput(open_vowel, np.zeros((50, 3), np.float32))
    >>> track = PhoneTrack((Phone(0, .2, "AA"), Phone(.2, .3, "M"), Phone(.3, .5, "AA")), .5)
    >>> [p.label for p in heard_closures_only(track, quiet).phones]
    ['AA', 'AA', 'AA']
    """
    frames = len(heard.closure)
    if not frames:
        return track

    def rows(start: float, end: float) -> slice:
        first = int(np.floor((start - FRAME_CENTRE_S) * FRAME_RATE)) - heard.first
        last = int(np.ceil((end - FRAME_CENTRE_S) * FRAME_RATE)) + 1 - heard.first
        return slice(int(np.clip(first, 0, frames)), int(np.clip(last, 0, frames)))

    phones = list(track.phones)
    i = 0
    while i < len(phones):
        if PHONE_TO_VISEME.get(phones[i].label) != "PP":
            i += 1
            continue
        j = i
        while j + 1 < len(phones) and PHONE_TO_VISEME.get(phones[j + 1].label) == "PP":
            j += 1
        near = rows(phones[i].start - MARGIN_S, phones[j].end + MARGIN_S)
        if near.stop > near.start and heard.closure[near].max() < MIN_CLOSURE:
            inside = rows(phones[i].start, phones[j].end)
            there = heard.posteriors[inside if inside.stop > inside.start else near]
            label = REPRESENTATIVE_PHONE[VISEMES[likeliest_other_than_closure(there)]]
            phones[i : j + 1] = [Phone(p.start, p.end, label, p.score) for p in phones[i : j + 1]]
        i = j + 1
    return PhoneTrack(tuple(phones), track.duration, track.words)
