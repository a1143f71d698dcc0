"""Landmarks back to blendshape weights: how far a face in a frame has its mouth open, pursed, ...

A rig built on one frame of a video (:func:`~mouthpiece.face.rig.build_rig`) describes
the face at rest and how each channel moves it. In another frame the same face stands
elsewhere, at another size and turned a little; :func:`fit_affine` finds the 2D affine map
from the rig's frame to that one on points the mouth and jaw do not move (the nose, the
eye corners, the forehead), and :class:`MouthSolver` finds the weights of the mouth and
jaw channels whose moves, carried through that map, best explain where the frame's mouth
and jaw landmarks are: bounded linear least squares, with a little ridge so that noise
does not spread over channels that move the lips alike.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import lsq_linear

from ..types import FaceRig
from . import landmarks as lm

# Speech moves of the mouth and jaw that a dub takes from its new animation; smiles,
# frowns and dimples are expression and stay the video's own.
SPEECH_CHANNELS = (
    "JawOpen", "MouthClose", "MouthFunnel", "MouthPucker", "MouthStretchLeft", "MouthStretchRight",
    "MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper", "MouthPressLeft", "MouthPressRight",
    "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft", "MouthUpperUpRight",
)  # fmt: skip
# Points that speech leaves where they are: the nose's ridge and tip, the eye corners, the
# forehead and the temples.
STEADY_POINTS = (6, 168, 197, 195, 5, 4, 1, 33, 133, 362, 263, 10, 151, 9, 8, 127, 356, 162, 389, 21, 251)
MIN_MOVE = 0.02  # face units a point must move at weight 1 of some channel to be fitted
RIDGE = 0.02  # of the mean squared move, added per channel


def fit_affine(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 affine map ``M`` with ``target ≈ M @ (x, y, 1)`` for points ``source``, least squares.

    >>> square = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> fit_affine(square, square * 2 + 3).round(6) + 0.0  # (no negative zeros)
    array([[2., 0., 3.],
           [0., 2., 3.]])
    """
    design = np.column_stack([np.asarray(source, np.float64)[:, :2], np.ones(len(source))])
    solution, *_ = np.linalg.lstsq(design, np.asarray(target, np.float64)[:, :2], rcond=None)
    return np.asarray(solution.T)


class MouthSolver:
    """Weights of :data:`SPEECH_CHANNELS` for faces of one rig.

    Parameters
    ----------
    rig : FaceRig
    """

    def __init__(self, rig: FaceRig):
        self.rig = rig
        self.channels = tuple(c for c in SPEECH_CHANNELS if c in rig.channels)
        rows = [rig.channels.index(c) for c in self.channels]
        self.basis = rig.basis[rows]  # [K, N, 3] pixels of the rig's frame
        reach = np.linalg.norm(self.basis[:, : lm.LANDMARK_COUNT, :2], axis=2).max(axis=0)
        self.points = np.flatnonzero(reach > MIN_MOVE * rig.unit)  # the landmarks speech moves
        self._design = self.basis[:, self.points, :2].reshape(len(rows), -1).T  # [2P, K]
        ridge = np.sqrt(RIDGE * float(np.mean(self._design**2)) * len(self.points))
        self._design = np.vstack([self._design, ridge * np.eye(len(rows))])
        self.steady = np.array(STEADY_POINTS)
        # the same with the mouth's shift as a whole (pixels of the rig's frame, x and y) as two
        # more unbounded columns: what the map on the steady points leaves of the head's nods
        shift = np.zeros((len(self._design), 2))
        shift[: 2 * len(self.points)] = np.tile(np.eye(2), (len(self.points), 1))
        self._shifted = np.hstack([self._design, shift])
        self._shift_bounds = (
            np.r_[np.zeros(len(rows)), -np.inf, -np.inf],
            np.r_[np.ones(len(rows)), np.inf, np.inf],
        )

    def pose_of(self, landmarks: np.ndarray) -> np.ndarray:
        """The affine map ``[2, 3]`` from the rig's frame to the frame whose landmarks are ``landmarks``."""
        return fit_affine(self.rig.source[self.steady], landmarks[self.steady])

    def __call__(self, landmarks: np.ndarray, pose: np.ndarray) -> np.ndarray:
        """The weights ``[K]`` (in :attr:`channels` order, each in [0, 1]) of a frame's face.

        Parameters
        ----------
        landmarks : np.ndarray [shape=(478, 2 or 3)], the frame's, pixels
        pose : np.ndarray [shape=(2, 3)], :meth:`pose_of` those landmarks
        """
        target = self._target(landmarks, pose)
        return np.asarray(lsq_linear(self._design, target, bounds=(0.0, 1.0), method="bvls").x)

    def with_shift(self, landmarks: np.ndarray, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The weights ``[K]`` as :meth:`__call__` finds them, and the shift ``[2]`` (pixels of
        the rig's frame) of the mouth and jaw as a whole fitted with them: so that where the
        mouth stands (after a nod, say) is not read as speech moves."""
        target = self._target(landmarks, pose)
        found = np.asarray(lsq_linear(self._shifted, target, bounds=self._shift_bounds, method="bvls").x)
        return found[:-2], found[-2:]

    def _target(self, landmarks: np.ndarray, pose: np.ndarray) -> np.ndarray:
        linear, shift = pose[:, :2], pose[:, 2]
        in_rig = (np.asarray(landmarks, np.float64)[self.points, :2] - shift) @ np.linalg.inv(linear).T
        residual = (in_rig - self.rig.landmarks[self.points, :2]).ravel()
        return np.concatenate([residual, np.zeros(len(self.channels))])
