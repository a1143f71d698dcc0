"""The mouth opening seen in a video: per frame, the inner lips' gap over the eyes' span.

What a person's own footage says about how they move their mouth (:mod:`mouthpiece.motion.style`
fits to it), measured as the real-mouths benchmark measures it: the mean 3D distance of
MediaPipe's inner-lip pairs 13-14, 82-87 and 312-317 over that of the outer eye corners
33-263, in every frame at the video's constant rate, the largest face followed without
smoothing (a smoothing filter would delay the mouth); frames without a face are NaN.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..prefetch import prefetch
from ..render.reader import probe_video, read_frames
from .recorded import recording
from .track import FaceTracker

INNER_LIP_PAIRS = ((13, 14), (82, 87), (312, 317))  # upper, lower inner-lip points: middle, right, left
OUTER_EYE_CORNERS = (33, 263)  # the subject's right and left outer eye corners


@dataclass(frozen=True)
class SeenMouth:
    """The mouth opening seen in each frame of a video; frame ``i`` shows from ``i / fps`` s."""

    fps: float
    opening: np.ndarray  # [N] inner-lip gap / eye-corner distance; NaN where no face is seen

    @property
    def times(self) -> np.ndarray:
        """[N] s, the middle of each frame's showing."""
        return (np.arange(len(self.opening)) + 0.5) / self.fps


def inner_lip_opening(landmarks: np.ndarray) -> float:
    """The inner lips' mean 3D gap over the outer eye corners' distance.

    >>> points = np.zeros((478, 3))
    >>> points[263] = (60.0, 0.0, 0.0)
    >>> points[[14, 87, 317], 1] = 6.0
    >>> inner_lip_opening(points)
    0.1
    """
    points = np.asarray(landmarks, np.float64)
    upper, lower = zip(*INNER_LIP_PAIRS)
    gap = np.linalg.norm(points[list(upper)] - points[list(lower)], axis=1).mean()
    eyes = np.linalg.norm(points[OUTER_EYE_CORNERS[0]] - points[OUTER_EYE_CORNERS[1]])
    return float(gap / max(eyes, 1e-6))


def seen_mouth(path: str | os.PathLike[str], *, face: int | None = None) -> SeenMouth:
    """The mouth opening in every frame of the video at ``path`` (InputError if it is not one),
    of its largest face or the ``face``-th from the left. The face's track is remembered for
    a dub of the same video to replay (:mod:`.recorded`)."""
    info = probe_video(path)
    with FaceTracker(index=face) as tracker:
        frames = prefetch(read_frames(path, fps=info.fps), name="mouthpiece-decode")  # decoded beside the tracking
        opening = [np.nan if landmarks is None else inner_lip_opening(landmarks)
                   for landmarks in recording(path, frames, tracker, expected=info.frame_count)]  # fmt: skip
    return SeenMouth(fps=info.fps, opening=np.array(opening, np.float64))
