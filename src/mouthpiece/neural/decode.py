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

import numpy as np

from ..errors import InputError
from ..types import Audio, Phone, PhoneTrack
from ..vocabulary import VISEMES
from .model import FRAME_CENTRE_S, FRAME_RATE, FrontEnd, FrontEndOutput, run

MIN_FRAMES = 3  # frames (30 ms), shortest viseme the decoder emits
SWITCH_PENALTY = 2.0  # nats, cost of changing viseme
FLOOR = 1e-5  # smallest posterior used, so that log(0) never decides

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
    t_len, v = post.shape
    if t_len == 0:
        return np.zeros(0, np.int64)
    d = max(1, min(int(min_frames), t_len))
    logp = np.log(np.maximum(post, FLOOR))
    # state (viseme k, stage j): j frames into k's chain; stage d - 1 loops
    score = np.full((v, d), -np.inf)
    score[:, 0] = logp[0]
    back = np.zeros((t_len, v, d), np.int32)  # for stage 0: the viseme left; stages > 0: implicit
    for t in range(1, t_len):
        last = score[:, d - 1]
        best_other = np.argsort(last)[::-1][:2]  # best and second best, to exclude k itself
        enter_from = np.where(np.arange(v) == best_other[0], best_other[1], best_other[0]) if v > 1 else best_other
        enter = last[enter_from] - switch_penalty
        new = np.empty_like(score)
        new[:, 0] = enter
        back[t, :, 0] = enter_from
        if d > 1:
            new[:, 1:] = score[:, :-1]
            new[:, d - 1] = np.maximum(score[:, d - 2], score[:, d - 1]) if d > 1 else score[:, 0]
            back[t, :, d - 1] = np.where(score[:, d - 1] >= score[:, d - 2], d - 1, d - 2)
        else:
            stay = score[:, 0]
            take_stay = stay >= enter
            new[:, 0] = np.where(take_stay, stay, enter)
            back[t, :, 0] = np.where(take_stay, np.arange(v), enter_from)
        score = new + logp[t][:, None]
    # the path may end inside a chain only if no chain finished (very short input)
    ends = score[:, d - 1]
    k, j = (int(np.argmax(ends)), d - 1) if np.isfinite(ends).any() else np.unravel_index(np.argmax(score), score.shape)
    path = np.empty(t_len, np.int64)
    for t in range(t_len - 1, -1, -1):
        path[t] = k
        if t == 0:
            break
        if d == 1:
            k = int(back[t, k, 0])
        elif j == 0:
            k, j = int(back[t, k, 0]), d - 1
        elif j == d - 1:
            j = int(back[t, k, d - 1])
        else:
            j -= 1
    return path


def decode_phones(
    output: FrontEndOutput, *, duration: float, min_frames: int = MIN_FRAMES, switch_penalty: float = SWITCH_PENALTY
) -> PhoneTrack:
    """A PhoneTrack from the front end's per-frame posteriors.

    Parameters
    ----------
    output : FrontEndOutput of a whole recording (``first == 0``)
    duration : float > 0, seconds of audio the frames came from
    min_frames, switch_penalty : see :func:`viterbi`

    Returns
    -------
    PhoneTrack covering ``[0, duration]``, one representative phone per viseme run,
    scored by the run's mean posterior of that viseme
    """
    if output.first != 0:
        raise InputError(f"Decoding needs the frames of a whole recording, got frames from {output.first} on.")
    if not duration > 0:
        raise InputError(f"Decoding needs a positive duration, got {duration!r}.")
    phones = phones_of(output.posteriors, first=0, end=duration, min_frames=min_frames, switch_penalty=switch_penalty)
    if not phones:
        return PhoneTrack((Phone(0.0, duration, "sil", 1.0),), duration)
    return PhoneTrack(tuple(phones), duration)


def phones_of(
    posteriors: np.ndarray,
    *,
    first: int,
    end: float,
    min_frames: int = MIN_FRAMES,
    switch_penalty: float = SWITCH_PENALTY,
) -> list[Phone]:
    """One phone per viseme run of the best path through ``posteriors``, frames ``first``
    on, in seconds from the recording's start; the last phone ends at ``end`` seconds."""
    path = viterbi(posteriors, min_frames=min_frames, switch_penalty=switch_penalty)
    change = np.flatnonzero(np.diff(path)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(path)]])
    phones = []
    for a, b in zip(starts, ends):
        t0 = 0.0 if first + a == 0 else max(0.0, min(end, FRAME_CENTRE_S + (first + a - 0.5) / FRAME_RATE))
        t1 = end if b == len(path) else min(end, FRAME_CENTRE_S + (first + b - 0.5) / FRAME_RATE)
        if t1 <= t0 or len(path) == 0:
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

    Examples
    --------
    >>> phones, out = recognize(Audio(np.zeros(8_000, np.float32), 16_000))
    >>> [p.label for p in phones.phones], out.openness.shape
    (['sil'], (48,))
    """
    output = run(audio, model=model)
    return decode_phones(output, duration=audio.duration), output
