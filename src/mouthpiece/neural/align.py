"""Phone boundaries of a known phone sequence moved to where the learned front end hears them.

An alignment by time warping (:mod:`mouthpiece.phonetics.warp_align`) knows the phones and
their order but places each boundary only as well as two voices' spectra match, which is
worst where it matters most for a mouth: the silent closure of a /p/ after a vowel or an
/r/ looks alike in any voice, but a warp between a formant voice and a real one lands
there 50-70 ms off. Here every boundary may move up to ``REACH_S`` from where the warp put
it, to the place where the front end's viseme posteriors change from the phone before to
the phone after: the best path through the phones in order (Viterbi over each boundary's
frames), scoring each frame by the log posterior of its phone's viseme, plus a small cost
per frame moved, so that where the front end cannot tell the two phones apart (``M`` and
``B`` look alike) the warp's boundary stays. No phone becomes shorter than ``MIN_S``
unless it already was.
"""

from __future__ import annotations

import numpy as np

from ..motion.rules import PHONE_TO_VISEME
from ..types import Audio, Phone, PhoneTrack
from .model import FRAME_CENTRE_S, FRAME_RATE, FrontEnd, FrontEndOutput, default_model, run

REACH_S = 0.08  # s, how far a boundary may move
MOVE_COST = 0.4  # nats per frame a boundary moves
MIN_S = 0.02  # s, the shortest phone made
FLOOR = 1e-4  # posterior floor before the log


def refined_by_ear(audio: Audio, track: PhoneTrack, *, model: FrontEnd | None = None) -> PhoneTrack:
    """``track`` of ``audio`` with its boundaries where the front end hears them."""
    model = model or default_model()
    return refined(track, run(audio, model=model), model.config.visemes)


def refined(track: PhoneTrack, heard: FrontEndOutput, visemes: tuple[str, ...]) -> PhoneTrack:
    """``track`` with its phone boundaries moved to the front end's (see the module)."""
    phones = list(track.phones)
    if len(phones) < 2 or not len(heard.posteriors):
        return track
    logp = np.log(np.maximum(heard.posteriors.astype(np.float64), FLOOR))
    frames = len(logp)
    index = {name: i for i, name in enumerate(visemes)}
    columns = np.array([index[PHONE_TO_VISEME[p.label]] for p in phones])
    cum = np.vstack([np.zeros(len(visemes)), np.cumsum(logp, axis=0)])  # cum[t] = sum of frames < t

    def frame_of(t: float) -> int:  # the first frame whose instant lies at or after t
        return int(np.clip(np.ceil((t - FRAME_CENTRE_S) * FRAME_RATE), 0, frames))

    reach, least = round(REACH_S * FRAME_RATE), round(MIN_S * FRAME_RATE)
    warped = [frame_of(p.start) for p in phones[1:]]  # the boundaries before phones 1..K-1
    candidates = [np.arange(max(0, b - reach), min(frames, b + reach) + 1) for b in warped]
    shortest = [min(least, max(1, b - a)) for a, b in zip([0, *warped], [*warped, frames])]

    # score[j][c]: best score of phones 0..j with phone j ending at candidates[j][c]
    previous_ends = np.array([0])
    previous_score = np.array([0.0])
    back: list[np.ndarray] = []
    for j, ends in enumerate(candidates):
        col = columns[j]
        span = cum[ends][None, :, col] - cum[previous_ends][:, None, col]  # [previous, current]
        length = ends[None, :] - previous_ends[:, None]
        total = previous_score[:, None] + span - MOVE_COST * np.abs(ends - warped[j])[None, :]
        total = np.where(length >= shortest[j], total, -np.inf)
        best = total.argmax(0)
        back.append(best)
        previous_score = total[best, np.arange(len(ends))]
        previous_ends = ends
    last = columns[-1]
    final = previous_score + (cum[frames, last] - cum[previous_ends, last])
    final = np.where(frames - previous_ends >= shortest[-1], final, -np.inf)
    if not np.isfinite(final).any():
        return track
    chosen = [int(final.argmax())]
    for j in range(len(candidates) - 1, 0, -1):
        chosen.append(int(back[j][chosen[-1]]))
    chosen.reverse()
    bounds = [float(FRAME_CENTRE_S + (candidates[j][c] - 0.5) / FRAME_RATE) for j, c in enumerate(chosen)]
    starts = [0.0, *bounds]
    stops = [*bounds, track.duration]
    out = tuple(Phone(max(0.0, a), min(track.duration, b), p.label) for a, b, p in zip(starts, stops, phones))
    out = tuple(p for p in out if p.end > p.start)
    return PhoneTrack(out, track.duration, track.words)
