"""Per-frame viseme posteriors to a PhoneTrack the motion stage can animate.

A Viterbi pass finds the best viseme sequence under two constraints a mouth obeys: a
viseme, once entered, lasts at least ``MIN_FRAMES`` frames (each viseme is a left-to-right
chain of that many states whose last state loops), and every change costs
``SWITCH_PENALTY`` (in natural-log probability). Each run of frames becomes one phone, the
viseme's representative ARPAbet phone (:data:`REPRESENTATIVE_PHONE`), scored by its mean
posterior. Frame ``i`` stands for the instant ``FRAME_CENTRE_S + i / 100``; the boundary
between two frames lies halfway between their instants, the first phone starts at 0 and
the last ends at the audio's end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..types import Audio, Phone, PhoneTrack
from ..vocabulary import SILENCE, VISEMES
from .model import FRAME_CENTRE_S, FRAME_RATE, FrontEnd, FrontEndOutput, default_model, run

MIN_FRAMES = 3  # frames (30 ms), shortest viseme the decoder emits
SWITCH_PENALTY = 2.0  # nats, cost of changing viseme
FLOOR = 1e-5  # smallest posterior used, so that log(0) never decides
NOT_OPEN = [VISEMES.index("PP"), VISEMES.index(SILENCE)]  # what a doubted closure may not become

if TYPE_CHECKING:
    from .closure_check import ClosureCheck

# The ARPAbet phone that stands for each viseme (the motion stage maps it back).
REPRESENTATIVE_PHONE: dict[str, str] = {
    "sil": "sil", "PP": "P", "FF": "F", "TH": "TH", "DD": "T", "kk": "K", "CH": "CH", "SS": "S",
    "nn": "N", "RR": "R", "aa": "AA", "E": "EH", "I": "IY", "O": "OW", "U": "UW",
}  # fmt: skip


def viterbi(
    posteriors: np.ndarray, *, min_frames: int = MIN_FRAMES, switch_penalty: float = SWITCH_PENALTY
) -> np.ndarray:
    """Best viseme index per frame with minimum durations and a switching cost.

    Parameters
    ----------
    posteriors : np.ndarray [shape=(T, V)], per-frame probabilities
    min_frames : int >= 1, shortest run of one viseme (shorter recordings excepted)
    switch_penalty : float >= 0, nats charged for each change of viseme

    Returns
    -------
    path : np.ndarray [shape=(T,), dtype=int64], viseme indices

    Examples
    --------
    >>> p = np.full((6, 2), 0.1); p[:, 0] = 0.9; p[3, :] = [0.2, 0.8]
    >>> viterbi(p, min_frames=2, switch_penalty=0.0).tolist()
    [0, 0, 0, 0, 0, 0]
    """
    post = np.asarray(posteriors, np.float64)
    if len(post) == 0:
        return np.zeros(0, np.int64)
    search = ViterbiSearch(post.shape[1], min_frames=min(int(min_frames), len(post)), switch_penalty=switch_penalty)
    search.push(post)
    return search.path()


class ViterbiSearch:
    """:func:`viterbi` one frame at a time: :meth:`push` frames as they come, read the best
    :meth:`path` to the latest frame at any time, :meth:`forget_before` frames no longer needed.

    Each viseme is a left-to-right chain of ``min_frames`` states whose last state loops;
    state ``(k, j)`` is ``j`` frames into viseme ``k``'s chain.
    """

    def __init__(self, visemes: int, *, min_frames: int = MIN_FRAMES, switch_penalty: float = SWITCH_PENALTY) -> None:
        self.v, self.d, self.switch_penalty = visemes, max(1, int(min_frames)), float(switch_penalty)
        self._score: np.ndarray | None = None  # [v, d] log score of the best path into each state
        self._back: list[np.ndarray] = []  # per frame from self.first: [v, d] the state each came from
        self.first = 0  # frame index of self._back[0]
        self.frames = 0  # frames pushed

    def push(self, posteriors: np.ndarray) -> None:
        """Advance by the frames of ``posteriors`` [T, V]."""
        v, d = self.v, self.d
        stay = np.arange(v)
        for logp in np.log(np.maximum(np.asarray(posteriors, np.float64), FLOOR)):
            back = np.zeros((v, d), np.int32)  # stage 0: the viseme left; the loop stage: the stage it came from
            if self._score is None:
                score = np.full((v, d), -np.inf)
                score[:, 0] = logp
            else:
                last = self._score[:, d - 1]
                order = np.argsort(last)[::-1][:2]  # best and second best, to exclude k itself
                enter_from = np.where(stay == order[0], order[1], order[0]) if v > 1 else order
                enter = last[enter_from] - self.switch_penalty
                score = np.empty_like(self._score)
                if d > 1:
                    score[:, 0] = enter
                    back[:, 0] = enter_from
                    score[:, 1:] = self._score[:, :-1]
                    score[:, d - 1] = np.maximum(self._score[:, d - 2], self._score[:, d - 1])
                    back[:, d - 1] = np.where(self._score[:, d - 1] >= self._score[:, d - 2], d - 1, d - 2)
                else:
                    keep = self._score[:, 0] >= enter
                    score[:, 0] = np.where(keep, self._score[:, 0], enter)
                    back[:, 0] = np.where(keep, stay, enter_from)
                score += logp[:, None]
            self._score = score
            self._back.append(back)
            self.frames += 1

    def path(self) -> np.ndarray:
        """The best viseme per frame, from :attr:`first` to the latest frame pushed."""
        if self._score is None:
            return np.zeros(0, np.int64)
        d, score = self.d, self._score
        # the path may end inside a chain only if no chain finished (very short input)
        ends = score[:, d - 1]
        if np.isfinite(ends).any():
            k, j = int(np.argmax(ends)), d - 1
        else:
            k, j = (int(i) for i in np.unravel_index(np.argmax(score), score.shape))
        path = np.empty(len(self._back), np.int64)
        for t in range(len(self._back) - 1, -1, -1):
            path[t] = k
            if t == 0:
                break
            back = self._back[t]
            if d == 1:
                k = int(back[k, 0])
            elif j == 0:
                k, j = int(back[k, 0]), d - 1
            elif j == d - 1:
                j = int(back[k, d - 1])
            else:
                j -= 1
        return path

    def forget_before(self, frame: int) -> None:
        """Keep the back pointers from ``frame`` on only: :meth:`path` starts there."""
        drop = min(frame - self.first, len(self._back))
        if drop > 0:
            del self._back[:drop]
            self.first += drop


def decode_phones(
    output: FrontEndOutput,
    *,
    duration: float,
    min_frames: int = MIN_FRAMES,
    switch_penalty: float = SWITCH_PENALTY,
    check: ClosureCheck | None = None,
) -> PhoneTrack:
    """A PhoneTrack from the front end's per-frame posteriors.

    Parameters
    ----------
    output : FrontEndOutput of a whole recording (``first == 0``)
    duration : float > 0, seconds of audio the frames came from
    min_frames, switch_penalty : see :func:`viterbi`
    check : ClosureCheck or None, looks again at each decoded lip closure
        (:mod:`.closure_check`; needs ``output.hidden``)

    Returns
    -------
    PhoneTrack covering ``[0, duration]``, one representative phone per viseme run,
    scored by the run's mean posterior of that viseme
    """
    if output.first != 0:
        raise InputError(f"Decoding needs the frames of a whole recording, got frames from {output.first} on.")
    if not duration > 0:
        raise InputError(f"Decoding needs a positive duration, got {duration!r}.")
    path = viterbi(output.posteriors, min_frames=min_frames, switch_penalty=switch_penalty)
    if check is not None:
        path = check.apply(path, output)
    phones = phones_of(path, output.posteriors, first=0, end=duration)
    if not phones:
        return PhoneTrack((Phone(0.0, duration, "sil", 1.0),), duration)
    return PhoneTrack(tuple(phones), duration)


def viseme_runs(path: np.ndarray) -> list[tuple[int, int]]:
    """(first, end) frames of each run of one viseme in a decoded ``path``."""
    change = np.flatnonzero(np.diff(path)) + 1
    starts, ends = np.concatenate([[0], change]), np.concatenate([change, [len(path)]])
    return [(int(a), int(b)) for a, b in zip(starts, ends)] if len(path) else []


def likeliest_other_than_closure(posteriors: np.ndarray) -> int:
    """The viseme most likely over frames of ``posteriors`` [T, V], PP and silence aside:
    what a closure taken back becomes."""
    mean = posteriors.mean(0)
    mean[NOT_OPEN] = -1.0
    return int(mean.argmax())


def phones_of(path: np.ndarray, posteriors: np.ndarray, *, first: int, end: float) -> list[Phone]:
    """One phone per viseme run of ``path`` (the best viseme per frame of ``posteriors``,
    frames ``first`` on), in seconds from the recording's start, scored by the run's mean
    posterior; the last phone ends at ``end`` seconds."""
    phones = []
    for a, b in viseme_runs(path):
        t0 = 0.0 if first + a == 0 else max(0.0, min(end, FRAME_CENTRE_S + (first + a - 0.5) / FRAME_RATE))
        t1 = end if b == len(path) else min(end, FRAME_CENTRE_S + (first + b - 0.5) / FRAME_RATE)
        if t1 <= t0:
            continue
        score = float(np.clip(posteriors[a:b, path[a]].mean(), 0.0, 1.0))
        phones.append(Phone(t0, t1, REPRESENTATIVE_PHONE[VISEMES[path[a]]], score))
    return phones


def recognize(audio: Audio, *, model: FrontEnd | None = None) -> tuple[PhoneTrack, FrontEndOutput]:
    """Phones (one per viseme run) and per-frame outputs of speech, by the neural front end.

    Parameters
    ----------
    audio : Audio at 16 kHz
    model : FrontEnd or None (the shipped model)

    Returns
    -------
    phones : PhoneTrack covering the audio
    output : FrontEndOutput, per-frame posteriors and articulation (openness, rounding,
        closure) for callers that animate from them directly

    The shipped model's decoded lip closures are checked again with the whole recording's
    context (:mod:`.closure_check`); a live stream cannot wait for that
    (:class:`~.listen.NeuralListener` decodes without it).

    Examples
    --------
    >>> phones, out = recognize(Audio(np.zeros(8_000, np.float32), 16_000))
    >>> [p.label for p in phones.phones], out.openness.shape
    (['sil'], (48,))
    """
    from .closure_check import check_for  # it reads this module's runs

    model = model or default_model()
    output = run(audio, model=model)
    return decode_phones(output, duration=audio.duration, check=check_for(model)), output
