"""Phones to Rhubarb mouth cues (shapes A-H, X), following Rhubarb Lip Sync's conventions.

Sketch. Every phone allows a set of shapes (``rules.PHONE_SHAPES``): vowels usually one,
consonants several, because the lips of a consonant mostly follow its neighbours.
Diphthongs get two sets in sequence; plosives get an occlusion set placed *before*
the phone (the lips close before the release is heard), bilabials also over the first
part of the phone (their silent closure). We then walk the timeline
forwards, choosing from each set the shape closest to the previous one
(``rules.SHAPE_EFFORT``), and, at each single-shape vowel, walk back up to 0.2 s so the
lips anticipate it. Then the rest shape X inside speech becomes a held or relaxed
shape when the pause is short. Last, no cue is shorter than ``rules.MIN_CUE`` (a 10 ms
cue is never drawn at animation frame rates): a short shape joins the neighbour nearest
it, a short closure takes time from the shape before it, so no P/B/M is lost. Work
happens on a 10 ms grid, the resolution of the Rhubarb formats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..types import PhoneTrack, Segment, ShapeTrack
from ..vocabulary import SILENCE, VOWELS
from . import rules

CENTISECOND = 0.01  # s


@dataclass(frozen=True)
class _Rule:
    shapes: frozenset[str]
    phone: int  # index into the track's phones, -1 for silence
    anticipated: bool  # a single-shape vowel that the lips anticipate


_REST = _Rule(frozenset("X"), -1, False)


def _phone_rules(
    label: str, duration: int, previous: int, closed_share: float
) -> list[tuple[int, int, frozenset[str]]]:
    """Shape sets of one phone as (start, end, set) in centiseconds relative to its start."""
    seconds = duration * CENTISECOND
    if label in rules.PLOSIVES:
        occlusion, release = rules.PLOSIVES[label]
        lo, hi = round(rules.OCCLUSION_MIN / CENTISECOND), round(rules.OCCLUSION_MAX / CENTISECOND)
        hold = min(max(previous // 2, lo), hi)
        closed = int(duration * closed_share) if occlusion == frozenset("A") else 0
        return [(-hold, closed, occlusion), (closed, duration, release)]
    if label in rules.DIPHTHONGS:
        threshold, short, long, second = rules.DIPHTHONGS[label]
        first = short if seconds < threshold else long
        split = int(duration * rules.DIPHTHONG_SPLIT)
        return [(0, split, frozenset(first)), (split, duration, frozenset(second))]
    if label in rules.DURATION_DEPENDENT:
        threshold, shorter, longer = rules.DURATION_DEPENDENT[label]
        return [(0, duration, shorter if seconds < threshold else longer)]
    return [(0, duration, rules.PHONE_SHAPES[label])]


def _centiseconds(t: float) -> int:
    """Seconds to the 10 ms grid, halves rounded up as Rhubarb's (C++) conversion does.
    Python's ``round`` sends halves to the even neighbour, and corpora are full of x.xx5 s
    boundaries.

    >>> _centiseconds(1.085), _centiseconds(1.075), _centiseconds(0.004)
    (109, 108, 0)
    """
    return math.floor(t * 100 + 0.5 + 1e-6)


def _closest(reference: str, shapes: frozenset[str]) -> str:
    return next(s for s in rules.SHAPE_EFFORT[reference] if s in shapes)


def _rule_runs(phones: PhoneTrack, n: int, closed_share: float) -> list[tuple[int, int, _Rule]]:
    """The timeline of shape rules as runs (start, end, rule) covering [0, n) cs."""
    grid = [_REST] * n
    previous = 0
    for index, phone in enumerate(phones.phones):
        start, end = _centiseconds(phone.start), _centiseconds(phone.end)
        duration = end - start
        if phone.label != SILENCE and duration > 0:
            for a, b, shapes in _phone_rules(phone.label, duration, previous, closed_share):
                anticipated = phone.label in VOWELS and len(shapes) == 1
                rule = _Rule(shapes, index, anticipated)
                for i in range(max(0, start + a), min(n, start + b)):
                    grid[i] = rule
        previous = duration
    runs: list[tuple[int, int, _Rule]] = []
    for i, rule in enumerate(grid):
        if runs and runs[-1][2] == rule:
            runs[-1] = (runs[-1][0], i + 1, rule)
        else:
            runs.append((i, i + 1, rule))
    return runs


def _choose_shapes(runs: list[tuple[int, int, _Rule]]) -> list[str]:
    """One shape per run: closest to the previous, anticipating single-shape vowels."""
    chosen: list[str] = []
    reference = "X"
    last_anticipated_start = -1
    max_back = round(rules.VOWEL_ANTICIPATION / CENTISECOND)
    for k, (start, _, rule) in enumerate(runs):
        shape = _closest(reference, rule.shapes)
        chosen.append(shape)
        if rule.anticipated:
            back_reference = shape
            for j in range(k - 1, -1, -1):
                back_start = runs[j][0]
                if back_start == last_anticipated_start or start - back_start > max_back:
                    break
                back_shape = _closest(back_reference, runs[j][2].shapes)
                chosen[j] = back_shape
                if rules.BASIC_SHAPE[back_shape] != rules.BASIC_SHAPE[shape]:
                    break
                back_reference = back_shape
            last_anticipated_start = start
            reference = shape
        else:
            reference = rules.RELAXED_SHAPE[shape]
    return chosen


def _pause_shape(previous: str, following: str, duration: float) -> str:
    if duration < rules.PAUSE_HOLD - 1e-9:
        return previous
    if duration <= rules.PAUSE_RELAX + 1e-9:
        shape = previous
        while True:
            relaxed = rules.RELAXED_SHAPE[shape]
            if relaxed != following:
                return relaxed
            if relaxed == shape:
                break
            shape = relaxed
    return "X"


def _merge(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for s in segments:
        if s.end <= s.start:
            continue
        if merged and merged[-1].label == s.label:
            merged[-1] = Segment(merged[-1].start, s.end, s.label)
        else:
            merged.append(s)
    return merged


@dataclass
class _Cue:
    start: int  # cs
    end: int  # cs
    label: str

    @property
    def length(self) -> int:
        return self.end - self.start


def _steady(segments: list[Segment]) -> list[Segment]:
    """No cue shorter than ``rules.MIN_CUE``: the shortest short shape joins the neighbour
    whose shape is nearest its own, until none is left; then each short closure starts
    earlier, into the shape before it (which keeps at least 10 ms). Rest (X) stays as it
    is: inside speech a pause already became a held shape, and the rest before the first
    sound is where a file starts."""
    minimum = round(rules.MIN_CUE / CENTISECOND)
    cues = [_Cue(_centiseconds(s.start), _centiseconds(s.end), s.label) for s in segments]
    while len(cues) > 1:
        short = [i for i, c in enumerate(cues) if c.length < minimum and c.label not in "AX"]
        if not short:
            break
        i = min(short, key=lambda k: cues[k].length)
        effort = rules.SHAPE_EFFORT[cues[i].label]
        j = min((k for k in (i - 1, i + 1) if 0 <= k < len(cues)), key=lambda k: effort.index(cues[k].label))
        cues[j].start, cues[j].end = min(cues[j].start, cues[i].start), max(cues[j].end, cues[i].end)
        del cues[i]
        joined = min(i, j)  # the neighbour may now touch a cue of its own shape
        for k in (joined, joined - 1):
            if 0 <= k < len(cues) - 1 and cues[k].label == cues[k + 1].label:
                cues[k].end = cues[k + 1].end
                del cues[k + 1]
    for before, cue in zip(cues, cues[1:]):
        if cue.label == "A" and cue.length < minimum:
            take = min(minimum - cue.length, before.length - 1)
            if take > 0:
                before.end -= take
                cue.start -= take
    return [Segment(c.start * CENTISECOND, c.end * CENTISECOND, c.label) for c in cues]


def to_cues(phones: PhoneTrack, *, bilabial_closed_share: float = rules.BILABIAL_CLOSED_SHARE) -> ShapeTrack:
    """Rhubarb mouth cues for a phone track.

    Parameters
    ----------
    phones : PhoneTrack
    bilabial_closed_share : float, the share of a P or B phone drawn closed (A); 0 is
        Rhubarb's own rule, which the scorers' reference cues follow

    Returns
    -------
    ShapeTrack
        Contiguous shapes covering ``[0, phones.duration)``; X where the mouth rests.
    """
    n = _centiseconds(phones.duration)
    if n == 0:
        return ShapeTrack((), phones.duration)
    runs = _rule_runs(phones, n, bilabial_closed_share)
    shapes = _choose_shapes(runs)
    segments = _merge([Segment(a * CENTISECOND, b * CENTISECOND, s) for (a, b, _), s in zip(runs, shapes)])
    for i in range(1, len(segments) - 1):
        seg = segments[i]
        if seg.label == "X":
            label = _pause_shape(segments[i - 1].label, segments[i + 1].label, seg.end - seg.start)
            segments[i] = Segment(seg.start, seg.end, label)
    segments = _steady(_merge(segments))
    if segments:
        last = segments[-1]
        segments[-1] = Segment(last.start, min(max(last.end, phones.duration), phones.duration), last.label)
    return ShapeTrack(tuple(segments), phones.duration)


def heard_shapes(cues: ShapeTrack, jaw: np.ndarray, fps: float) -> ShapeTrack:
    """``cues`` with their open shapes chosen by the jaw heard in the speech (``--cue-shapes heard``).

    Rhubarb's conventions give every phone its shape, but on real speech they say little
    about how far a mouth opens: the shapes of the true phones follow real footage at
    r ~0.28, the heard JawOpen at ~0.6. Here the phones keep *what* the lips do (closures
    A, F/V G, rounding F, rest X stay) and *how much* of the time the mouth is slightly
    open, open or wide open (B, C, D: the open shapes' shares of this track); the jaw
    decides *when*: the open stretches, in ``rules.MIN_CUE`` steps, are ranked by their
    mean JawOpen and given B, C and D in those shares. No constant is fitted.

    Parameters
    ----------
    cues : ShapeTrack, the phonetic cues (:func:`to_cues`)
    jaw : np.ndarray [shape=(T,)], JawOpen at ``fps`` over the same time
    fps : float, frames per second of ``jaw``
    """
    step = round(rules.MIN_CUE / CENTISECOND)
    pieces: list[tuple[int, int, str, float | None]] = []  # (start cs, end cs, phonetic label, mean jaw or None)
    for seg in cues.segments:
        start, end = _centiseconds(seg.start), _centiseconds(seg.end)
        if seg.label not in rules.OPEN_SHAPE_LEVEL:
            pieces.append((start, end, seg.label, None))
            continue
        for a in range(start, end, step):
            b = min(end, a + step)
            frame = min(int(a * CENTISECOND * fps), len(jaw) - 1)
            beyond = max(frame + 1, math.ceil(b * CENTISECOND * fps))
            pieces.append((a, b, seg.label, float(np.mean(jaw[frame:beyond])) if len(jaw) else 0.0))
    open_pieces = [k for k, p in enumerate(pieces) if p[3] is not None]
    lengths = np.array([pieces[k][1] - pieces[k][0] for k in open_pieces], np.float64)
    if not len(open_pieces) or lengths.sum() <= 0:
        return cues
    levels = [rules.OPEN_SHAPE_LEVEL[pieces[k][2]] for k in open_pieces]
    share = np.cumsum([lengths[[i for i, lv in enumerate(levels) if lv == shape]].sum() for shape in "BCD"])
    heard = np.array([pieces[k][3] for k in open_pieces], np.float64)
    order = np.argsort(heard, kind="stable")
    reached = np.cumsum(lengths[order]) - lengths[order] / 2  # each piece's middle, in the ranked time
    labels = dict(zip(order.tolist(), ("BCD"[int(np.searchsorted(share, r, side="right"))] for r in reached)))
    chosen = {k: labels[i] for i, k in enumerate(open_pieces)}
    segments = [
        Segment(a * CENTISECOND, b * CENTISECOND, chosen.get(k, label)) for k, (a, b, label, _) in enumerate(pieces)
    ]
    segments = _steady(_merge(segments))
    segments[-1] = Segment(segments[-1].start, cues.duration, segments[-1].label)
    return ShapeTrack(tuple(segments), cues.duration)
