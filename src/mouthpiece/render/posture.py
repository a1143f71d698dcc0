"""The lips' own posture in a dub: how this person holds their lips while they speak.

Phone rules give every speaker the same lips: how far the upper lip rides up over the
teeth, how wide, round, rolled or pressed the lips are on average. A person has their own,
and the video shows it: the mouth solver's reading of the frames the dub looks at before
it starts (:meth:`~.dub.MouthDubber.remember`, the first seconds of the video). Each posture
channel of the new speech is moved so that its running mean over the frames dubbed so far
meets the mean the video shows: raised by the difference where the person holds it
further, scaled down where they hold it less (a shift down would clip the speech's
quietest frames at 0 and flatten its motion). The raise eases in as the new speech gets
under way and out as it comes to rest (over about half a second, so that short pauses keep
it), so a mouth at rest stays closed.

The opening itself (``OPENING_CHANNELS``) stays the new speech's: moving its mean too
lowered the mouth-opening r of the self-dub benchmark (on one clip whose lips the solver
reads as held shut, MouthClose, from 0.43 to 0.18), while the posture alone raised the
mouth box's SSIM. Self-dub, 22 clips (``benchmarks/self_dub.py``): SSIM 0.724 -> 0.761,
lip distance 0.035 -> 0.028, r 0.573 -> 0.566; with the truth's posture channels (the
solver's reading of each original frame) instead, SSIM reached 0.854 on six of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

OPENING_CHANNELS = ("JawOpen", "MouthClose", "MouthLowerDownLeft", "MouthLowerDownRight")
PRIOR_FRAMES = 25  # the new speech's running mean starts at the video's, worth this many frames
ACTIVE_FROM = 0.1  # a speech channel's weight from which the new speech counts as fully under way
ACTIVE_EASE = 0.08  # of the way to the frame's activity taken each frame: short pauses keep the posture


class LipPosture:
    """Moves the new speech's posture channels towards the video's own (see the module).

    Parameters
    ----------
    read : sequence of str, the channels of the solver's weights given to :meth:`see`
    channels : sequence of str, the channels of the values given to :meth:`__call__`
    """

    def __init__(self, read: Sequence[str], channels: Sequence[str]):
        names = list(channels)
        self._read = [j for j, c in enumerate(read) if c in names and c not in OPENING_CHANNELS]
        self._columns = [names.index(read[j]) for j in self._read]
        self._speech = [names.index(c) for c in read if c in names]
        self._seen_sum = np.zeros(len(self._read))
        self._seen_count = 0
        self._planned: np.ndarray | None = None  # the new speech's running mean
        self._planned_count = 0
        self._active = 0.0  # how far the new speech is under way, eased

    def see(self, weights: np.ndarray) -> None:
        """Count a video frame's solver ``weights`` (in ``read`` order) towards the person's posture."""
        self._seen_sum += np.asarray(weights, np.float64)[self._read]
        self._seen_count += 1

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one Animation row, in ``channels`` order) in the person's posture; a new array."""
        if not self._seen_count or not self._columns:
            return values
        seen = self._seen_sum / self._seen_count
        planned = np.asarray(values, np.float64)[self._columns]
        if self._planned is None:
            self._planned, self._planned_count = seen.copy(), PRIOR_FRAMES
        self._planned_count += 1
        self._planned += (planned - self._planned) / self._planned_count
        mean = self._planned
        active = min(float(np.max(values[self._speech], initial=0.0)) / ACTIVE_FROM, 1.0)
        self._active += ACTIVE_EASE * (active - self._active)
        raised = planned + self._active * (seen - mean)
        lowered = planned * seen / np.maximum(mean, 1e-6)
        out = np.array(values, copy=True)
        out[self._columns] = np.clip(np.where(seen >= mean, raised, lowered), 0.0, 1.0)
        return out
