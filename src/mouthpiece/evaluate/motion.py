"""Lip motion of a video against a reference video of the same face: LMD, mouth r and jitter.

Sketch. Both videos' faces are tracked frame by frame; a frame where either has no face
is skipped. Each face's landmarks are normalised to its own frame (:func:`normalise`):
moved so the midpoint between the eye centres is the origin, turned so the eye line is
horizontal, and scaled so the eyes are 1 apart. Head position, roll and distance to the
camera then drop out, and what is left of the lips is their shape. Only x and y are
used: MediaPipe's z is a guess from a single view.

- ``LMD`` (landmark distance, Chen et al. 2018): the mean Euclidean distance between the
  two videos' normalised lip landmarks (:data:`LIPS`, the outer and inner contours), in
  eye distances; times the reference's eye distance in pixels, also in pixels.
- ``mouth r``: Pearson r of the two mouth-opening tracks
  (:func:`~mouthpiece.evaluate.sync.mouth_opening`) over the frames compared; NaN when
  either is constant.
- ``jitter`` of each video: the mean magnitude of the second difference over time of
  its normalised lip landmarks, ``|x[t + 1] - 2 x[t] + x[t - 1]|``, over each run of
  three consecutive compared frames, in eye distances per frame. A still face scores 0,
  a smooth motion little, a shaking one much; speech itself adds some (the lips change
  course with every syllable), so compare it between videos of the same speech.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..face.landmarks import (
    LOWER_LIP_INNER,
    LOWER_LIP_OUTER,
    UPPER_LIP_INNER,
    UPPER_LIP_OUTER,
    eye_centres,
    eye_distance,
    mouth_opening,
)
from .cues import pearson

LIPS = tuple(sorted(set(UPPER_LIP_OUTER + LOWER_LIP_OUTER + UPPER_LIP_INNER + LOWER_LIP_INNER)))  # 40 landmarks


@dataclass(frozen=True)
class MotionResult:
    """The lip motion of a video against its reference, over the frames both show a face.

    lmd : np.ndarray [shape=(T,)], per frame, eye distances; NaN where a frame is skipped
    opening_reference, opening_video : np.ndarray [shape=(T,)], mouth opening per frame; NaN where no face
    """

    fps: float
    lmd: np.ndarray
    lmd_pixels: float  # the mean LMD in pixels of the reference's frames
    opening_reference: np.ndarray
    opening_video: np.ndarray
    jitter_reference: float  # eye distances per frame; NaN under three consecutive frames compared
    jitter_video: float

    @property
    def frames(self) -> int:
        return len(self.lmd)

    @property
    def compared(self) -> int:
        """Frames with a face in both videos."""
        return int(np.count_nonzero(~np.isnan(self.lmd)))

    @property
    def lmd_mean(self) -> float:
        """Mean LMD over the frames compared, in eye distances (NaN when none)."""
        return float(np.nanmean(self.lmd)) if self.compared else math.nan

    @property
    def mouth_r(self) -> float:
        both = ~np.isnan(self.lmd)
        return pearson(self.opening_reference[both], self.opening_video[both])

    def to_dict(self) -> dict[str, object]:
        """Plain JSON types; NaN becomes None."""
        return {
            "fps": self.fps,
            "frames": self.frames,
            "compared": self.compared,
            "skipped": self.frames - self.compared,
            "lmd": _rounded(self.lmd_mean, 6),
            "lmd_pixels": _rounded(self.lmd_pixels, 4),
            "mouth_r": _rounded(self.mouth_r, 4),
            "jitter_reference": _rounded(self.jitter_reference, 6),
            "jitter_video": _rounded(self.jitter_video, 6),
            "lmd_per_frame": [_rounded(v, 6) for v in self.lmd.tolist()],
            "opening_reference": [_rounded(v, 5) for v in self.opening_reference.tolist()],
            "opening_video": [_rounded(v, 5) for v in self.opening_video.tolist()],
        }


def _rounded(value: float, digits: int) -> float | None:
    return None if math.isnan(value) else round(value, digits)


def normalise(landmarks: np.ndarray) -> np.ndarray:
    """Landmarks in the face's own frame: origin between the eyes, eye line along x, eyes 1 apart.

    Parameters
    ----------
    landmarks : np.ndarray [shape=(478, 2 or 3)], MediaPipe face-mesh landmarks in pixels

    Returns
    -------
    np.ndarray [shape=(478, 2), dtype=float64]

    >>> face = np.zeros((478, 2))
    >>> face[[33, 133]], face[[263, 362]], face[0] = (10.0, 20.0), (10.0, 40.0), (30.0, 30.0)
    >>> normalise(face)[0].round(6).tolist()  # eyes stacked vertically: turned a quarter
    [0.0, -1.0]
    """
    points = np.asarray(landmarks, np.float64)[:, :2]
    right, left = eye_centres(points)
    axis = left - right
    scale = max(float(np.hypot(*axis)), 1e-9)
    cos, sin = axis / scale
    rotate = np.array([[cos, sin], [-sin, cos]])  # turns the eye line onto +x
    return (points - (right + left) / 2) @ rotate.T / scale


def lip_distance(reference: np.ndarray, video: np.ndarray) -> float:
    """Mean Euclidean distance between two normalised faces' lip landmarks (:data:`LIPS`).

    Parameters
    ----------
    reference, video : np.ndarray [shape=(478, 2)], as :func:`normalise` returns
    """
    return float(np.linalg.norm(reference[list(LIPS)] - video[list(LIPS)], axis=1).mean())


def jitter(lips: np.ndarray, present: np.ndarray) -> float:
    """Mean magnitude of the lips' second difference over time, per landmark and frame.

    Parameters
    ----------
    lips : np.ndarray [shape=(T, L, 2)], normalised landmarks per frame (anything where absent)
    present : np.ndarray [shape=(T,), dtype=bool], frames that count

    Returns
    -------
    float
        Eye distances per frame; NaN when no three consecutive frames are present.

    >>> still = np.ones((5, 3, 2))
    >>> jitter(still, np.ones(5, bool)), jitter(np.arange(5.0)[:, None, None] * still, np.ones(5, bool))
    (0.0, 0.0)
    """
    if len(lips) < 3:
        return math.nan
    runs = present[:-2] & present[1:-1] & present[2:]
    if not runs.any():
        return math.nan
    second = lips[2:] - 2 * lips[1:-1] + lips[:-2]  # [T - 2, L, 2]
    return float(np.linalg.norm(second[runs], axis=-1).mean())


def compare_motion(
    reference: Sequence[np.ndarray | None], video: Sequence[np.ndarray | None], *, fps: float
) -> MotionResult:
    """LMD, mouth r and jitter of two landmark tracks of equal length.

    Parameters
    ----------
    reference, video : sequences of np.ndarray [shape=(478, 2 or 3)] or None, per frame
        MediaPipe landmarks in pixels, None where no face was found; the longer is cut.
    fps : float > 0, frames per second of both

    >>> face = np.random.default_rng(0).random((478, 2)) * 100
    >>> face[[33, 133]], face[[263, 362]] = (30.0, 40.0), (70.0, 40.0)
    >>> result = compare_motion([face, None, face], [face, face, face], fps=25.0)
    >>> result.compared, result.lmd_mean
    (2, 0.0)
    """
    length = min(len(reference), len(video))
    lmd = np.full(length, np.nan)
    pixels = np.full(length, np.nan)
    opening = np.full((2, length), np.nan)
    lips = np.zeros((2, length, len(LIPS), 2))
    for t in range(length):
        face_ref, face_vid = reference[t], video[t]
        if face_ref is not None:
            opening[0, t] = mouth_opening(face_ref)
        if face_vid is not None:
            opening[1, t] = mouth_opening(face_vid)
        if face_ref is None or face_vid is None:
            continue
        ref, vid = normalise(face_ref), normalise(face_vid)
        lips[0, t], lips[1, t] = ref[list(LIPS)], vid[list(LIPS)]
        lmd[t] = lip_distance(ref, vid)
        pixels[t] = lmd[t] * eye_distance(face_ref)
    both = ~np.isnan(lmd)
    return MotionResult(
        fps=fps, lmd=lmd, lmd_pixels=float(np.nanmean(pixels)) if both.any() else math.nan,
        opening_reference=opening[0], opening_video=opening[1],
        jitter_reference=jitter(lips[0], both), jitter_video=jitter(lips[1], both),
    )  # fmt: skip
