"""Mouth-cue accuracy: a predicted shape track against the shapes its reference phones imply.

Sketch. Both tracks are compared on 100 Hz frames, frame ``i`` covering
``[i / 100, (i + 1) / 100)`` and sampled at its centre, up to the end of the reference's
last phone. The *oracle* is :func:`mouthpiece.motion.to_cues` of the reference phones,
our implementation of Rhubarb Lip Sync's phone-to-shape conventions (with Rhubarb's
closures, drawn before a P or B only). Per utterance:

- ``acc``: frames whose predicted shape is the oracle's; ``acc_tol40`` also counts a
  frame whose shape the oracle shows within 4 frames (40 ms, one 25 fps frame);
- ``open_r``: Pearson r of the mouth's openness (:data:`OPENNESS`), prediction against
  oracle, NaN when either is constant;
- ``bil_recall``: reference P/B/M phones with a predicted A in a frame inside the phone
  widened by 30 ms each side; ``bil_prec``: predicted closures (runs of A frames) whose
  time span overlaps such a widened P/B/M, of those that overlap reference speech;
- ``sil_acc``: reference-silence frames predicted X; ``speech_X``: reference-speech
  frames predicted X (lower is better). A frame is silence when its centre lies in a
  silence phone or in no phone; the one frame centred exactly on the utterance's end
  (which rounds up) belongs to the last phone.

Frame metrics are fractions of frames, so they pool over utterances by adding the
counts (:class:`CueCounts`); ``open_r`` pools as one Pearson r over all frames. The
oracle scored against itself is the ceiling: it holds shapes through short pauses and
closes the lips before a P or B, so its ``sil_acc`` is below 1.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass, fields
from typing import NamedTuple

import numpy as np

from ..motion import to_cues
from ..types import PhoneTrack, ShapeTrack
from ..vocabulary import SILENCE

FPS = 100.0  # frames/s the tracks are compared at
TOLERANCE_FRAMES = 4  # each way, for acc_tol40
BILABIAL_MARGIN = 0.03  # s, how far outside a P/B/M a closure still counts
BILABIALS = frozenset({"P", "B", "M"})
CLOSED = "A"  # the shape of a closure
REST = "X"
# How open each shape is, 0 (closed or at rest) to 1 (D, wide open).
OPENNESS = {"X": 0.0, "A": 0.0, "B": 0.25, "G": 0.3, "F": 0.35, "E": 0.5, "H": 0.5, "C": 0.75, "D": 1.0}
METRICS = ("acc", "acc_tol40", "open_r", "bil_recall", "bil_prec", "sil_acc", "speech_X")
_EPSILON = 1e-6  # s, a frame centre this close to a boundary counts as on it


@dataclass(frozen=True)
class CueCounts:
    """The tallies behind one utterance's scores; those of several add up to pooled scores."""

    frames: int = 0
    correct: int = 0  # frames predicted as the oracle shows
    correct_tol40: int = 0  # frames whose predicted shape the oracle shows within TOLERANCE_FRAMES
    silence: int = 0  # reference-silence frames
    silence_rest: int = 0  # ... predicted X
    speech: int = 0  # reference-speech frames
    speech_rest: int = 0  # ... predicted X
    bilabials: int = 0  # reference P/B/M phones
    bilabials_closed: int = 0  # ... with a predicted A nearby
    closures: int = 0  # predicted runs of A touching reference speech
    closures_at_bilabials: int = 0  # ... touching a widened P/B/M

    def __add__(self, other: CueCounts) -> CueCounts:
        return CueCounts(*(a + b for a, b in zip(astuple(self), astuple(other))))

    def metrics(self, open_r: float) -> dict[str, float]:
        """The seven metrics (:data:`METRICS`), NaN where there is nothing to count."""
        return {
            "acc": _ratio(self.correct, self.frames),
            "acc_tol40": _ratio(self.correct_tol40, self.frames),
            "open_r": open_r,
            "bil_recall": _ratio(self.bilabials_closed, self.bilabials),
            "bil_prec": _ratio(self.closures_at_bilabials, self.closures),
            "sil_acc": _ratio(self.silence_rest, self.silence),
            "speech_X": _ratio(self.speech_rest, self.speech),
        }


@dataclass(frozen=True)
class CueScore:
    """One utterance scored: its frames, counts and metrics.

    oracle, predicted : np.ndarray [shape=(n,), dtype=<U1], the shape of each 10 ms frame
    speech : np.ndarray [shape=(n,), dtype=bool], frames inside a reference phone other than silence
    """

    name: str
    phones: PhoneTrack  # the reference
    oracle: np.ndarray
    predicted: np.ndarray
    speech: np.ndarray
    counts: CueCounts
    ceiling: CueCounts  # the oracle's own counts as a prediction

    @property
    def open_r(self) -> float:
        return pearson(openness(self.predicted), openness(self.oracle))

    @property
    def metrics(self) -> dict[str, float]:
        return self.counts.metrics(self.open_r)


@dataclass(frozen=True)
class CueReport:
    """Scored utterances, the references left unscored, and the scores over all of them."""

    utterances: tuple[CueScore, ...]
    missing: tuple[str, ...] = ()  # reference utterances without a prediction

    @property
    def macro(self) -> dict[str, float]:
        """Each metric's mean over the utterances where it is defined (NaN where none)."""
        each = [u.metrics for u in self.utterances]
        means = {}
        for metric in METRICS:
            defined = [m[metric] for m in each if not math.isnan(m[metric])]
            means[metric] = float(np.mean(defined)) if defined else math.nan
        return means

    @property
    def counts(self) -> CueCounts:
        return sum((u.counts for u in self.utterances), CueCounts())

    @property
    def pooled(self) -> dict[str, float]:
        """Each metric over all frames, P/B/M phones or closures at once."""
        return self.counts.metrics(self._pooled_open_r(oracle=False))

    @property
    def ceiling(self) -> dict[str, float]:
        """The pooled metrics of the oracle itself as the prediction."""
        return sum((u.ceiling for u in self.utterances), CueCounts()).metrics(self._pooled_open_r(oracle=True))

    def _pooled_open_r(self, *, oracle: bool) -> float:
        if not self.utterances:
            return math.nan
        reference = np.concatenate([openness(u.oracle) for u in self.utterances])
        predicted = reference if oracle else np.concatenate([openness(u.predicted) for u in self.utterances])
        return pearson(predicted, reference)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON types; NaN becomes None."""
        counts = [f.name for f in fields(CueCounts)]
        return {
            "utterances": [
                {
                    "name": u.name,
                    "duration": u.phones.duration,
                    **_rounded(u.metrics),
                    **{c: getattr(u.counts, c) for c in counts},
                }
                for u in self.utterances
            ],
            "missing": list(self.missing),
            "macro": _rounded(self.macro),
            "pooled": _rounded(self.pooled),
            "pooled_counts": {c: getattr(self.counts, c) for c in counts},
            "ceiling": _rounded(self.ceiling),
        }


def _rounded(metrics: dict[str, float]) -> dict[str, float | None]:
    return {k: None if math.isnan(v) else round(v, 4) for k, v in metrics.items()}


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else math.nan


def openness(shapes: np.ndarray) -> np.ndarray:
    """How open the mouth is in each frame (:data:`OPENNESS`).

    >>> openness(np.array(["X", "B", "D"])).tolist()
    [0.0, 0.25, 1.0]
    """
    return np.array([OPENNESS[s] for s in shapes.tolist()], dtype=np.float64)


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r of two equally long series; NaN when either is constant or shorter than 2.

    >>> pearson(np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 5.0])), math.isnan(pearson(np.ones(3), np.arange(3.0)))
    (1.0, True)
    """
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    dx, dy = x - x.mean(), y - y.mean()
    return float(np.clip(np.dot(dx, dy) / math.sqrt(np.dot(dx, dx) * np.dot(dy, dy)), -1.0, 1.0))


def first_frame_from(t: float) -> int:
    """Index of the first frame whose centre is at or after ``t`` seconds (0 before the start).

    >>> first_frame_from(0.0), first_frame_from(0.005), first_frame_from(0.0051), first_frame_from(0.1)
    (0, 0, 1, 10)
    """
    return max(0, math.ceil((t - _EPSILON) * FPS - 0.5))


def frame_count(duration: float) -> int:
    """Frames whose centre lies at or before ``duration`` seconds (the end rounded half up).

    >>> frame_count(2.3431), frame_count(2.495), frame_count(1.0)
    (234, 250, 100)
    """
    return max(0, math.floor(duration * FPS + 0.5 + _EPSILON * FPS))


def sample_shapes(track: ShapeTrack, frames: int) -> np.ndarray:
    """The shape each of ``frames`` frames shows at its centre; X outside every segment.

    >>> from mouthpiece.types import ShapeTrack
    >>> sample_shapes(ShapeTrack([(0.02, 0.05, "A")], 0.06), 6).tolist()
    ['X', 'X', 'A', 'A', 'A', 'X']
    """
    shapes = np.full(frames, REST, dtype="<U1")
    for segment in track.segments:
        shapes[first_frame_from(segment.start) : first_frame_from(segment.end)] = segment.label
    return shapes


def score_cues(phones: PhoneTrack, predicted: ShapeTrack, *, name: str = "") -> CueScore:
    """Score a predicted mouth-shape track against the reference phones of its utterance.

    Parameters
    ----------
    phones : PhoneTrack
        The reference; the utterance ends where its last phone ends (its ``duration``
        when it has no phones).
    predicted : ShapeTrack
        The prediction; X wherever it has no segment, and past its end.
    name : str
        What to call the utterance in reports.

    Returns
    -------
    CueScore

    Examples
    --------
    >>> from mouthpiece.types import PhoneTrack
    >>> phones = PhoneTrack([(0.0, 0.3, "sil"), (0.3, 0.4, "M"), (0.4, 0.7, "AA"), (0.7, 1.0, "sil")], 1.0)
    >>> score = score_cues(phones, ShapeTrack([(0.3, 0.4, "A"), (0.4, 0.7, "D")], 1.0))
    >>> score.metrics["acc"], score.metrics["bil_recall"], score.metrics["sil_acc"]
    (1.0, 1.0, 1.0)
    """
    end = phones.phones[-1].end if phones.phones else phones.duration
    n = frame_count(end)
    speech = np.zeros(n, dtype=bool)
    for k, phone in enumerate(phones.phones, 1):
        if phone.label != SILENCE:  # the frame centred on the very end (rounding up) is the last phone's
            speech[first_frame_from(phone.start) : n if k == len(phones.phones) else first_frame_from(phone.end)] = True
    spans = _Spans(
        speech=[(p.start, p.end) for p in phones.phones if p.label != SILENCE],
        bilabials=[(p.start - BILABIAL_MARGIN, p.end + BILABIAL_MARGIN) for p in phones.phones if p.label in BILABIALS],
    )
    oracle = sample_shapes(to_cues(PhoneTrack(phones.phones, end), bilabial_closed_share=0.0), n)
    prediction = sample_shapes(predicted, n)
    return CueScore(
        name=name, phones=phones, oracle=oracle, predicted=prediction, speech=speech,
        counts=_count(oracle, prediction, speech, spans), ceiling=_count(oracle, oracle, speech, spans),
    )  # fmt: skip


class _Spans(NamedTuple):
    speech: list[tuple[float, float]]  # s, the reference's phones other than silence
    bilabials: list[tuple[float, float]]  # s, its P/B/M widened by BILABIAL_MARGIN


def _overlaps(start: float, end: float, spans: list[tuple[float, float]]) -> bool:
    return any(start < b - _EPSILON and end > a + _EPSILON for a, b in spans)


def _count(oracle: np.ndarray, predicted: np.ndarray, speech: np.ndarray, spans: _Spans) -> CueCounts:
    within = predicted == oracle
    for shift in range(1, TOLERANCE_FRAMES + 1):
        within[:-shift] |= predicted[:-shift] == oracle[shift:]
        within[shift:] |= predicted[shift:] == oracle[:-shift]
    closed = predicted == CLOSED
    rest = predicted == REST
    # A P/B/M is closed if an A shows in a frame whose centre is inside its widened span.
    closed_bilabials = sum(
        bool(closed[first_frame_from(a) : max(0, math.ceil((b + _EPSILON) * FPS - 0.5))].any())
        for a, b in spans.bilabials
    )
    # A closure is a run of A frames; it is in speech (at a P/B/M) if its time span overlaps one.
    edges = np.flatnonzero(np.diff(np.concatenate([[False], closed, [False]]).astype(np.int8))) / FPS
    closures = [(a, b) for a, b in zip(edges[::2], edges[1::2]) if _overlaps(a, b, spans.speech)]
    return CueCounts(
        frames=len(oracle),
        correct=int(np.count_nonzero(predicted == oracle)),
        correct_tol40=int(np.count_nonzero(within)),
        silence=int(np.count_nonzero(~speech)),
        silence_rest=int(np.count_nonzero(rest & ~speech)),
        speech=int(np.count_nonzero(speech)),
        speech_rest=int(np.count_nonzero(rest & speech)),
        bilabials=len(spans.bilabials),
        bilabials_closed=closed_bilabials,
        closures=len(closures),
        closures_at_bilabials=sum(_overlaps(a, b, spans.bilabials) for a, b in closures),
    )


def runs(frames: np.ndarray) -> list[tuple[int, int, str]]:
    """(start, end, shape) of each run of equal shapes, in frames."""
    if not len(frames):
        return []
    cuts = [0, *(np.flatnonzero(frames[1:] != frames[:-1]) + 1).tolist(), len(frames)]
    return [(a, b, str(frames[a])) for a, b in zip(cuts[:-1], cuts[1:])]
