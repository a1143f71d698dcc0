"""Follow one face through the frames of a video: MediaPipe's face mesh in tracking mode.

In tracking mode MediaPipe looks for a face where it was in the previous frame and runs
its detector again only when it loses one, so frames cost a few milliseconds each.

:class:`FaceTracker` also picks the face to follow and keeps to it: on the first frame
that shows faces it takes the largest (or the ``index``-th from the left) and from then
on, among the faces MediaPipe reports, the one nearest to where that face was last.
With ``fps`` given, landmarks are smoothed by a One Euro filter (Casiez et al. 2012), a
low-pass filter whose cut-off rises with speed: a still face keeps still (the mesh's
frame-to-frame jitter is filtered out) while a fast move is followed without lag.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any

import numpy as np

from ..errors import NoFaceError
from .detect import detect_faces, new_face_mesh, quiet_native_stderr
from .landmarks import eye_distance

MIN_TRACKING_CONFIDENCE = 0.5
# One Euro filter settings, with speeds measured in eye distances per second so that they
# hold for faces of any size: the cut-off is MIN_CUTOFF at rest and rises by SPEED_GAIN Hz
# per eye distance per second of landmark speed (lips in speech move some 2 a second).
MIN_CUTOFF = 1.5  # Hz
SPEED_GAIN = 4.0  # Hz per (eye distance / s)
SPEED_CUTOFF = 1.0  # Hz, of the speed estimate itself
MAX_JUMP = 0.5  # eye distances a face's centre may move between frames and still be the one followed
CUT = 0.2  # eye distances a face's centre moving between frames counts as a cut, not motion


class OneEuroFilter:
    """A One Euro filter over arrays of points, ``[N, D]`` per step; each point gets its own cut-off."""

    def __init__(self, fps: float, *, min_cutoff: float = MIN_CUTOFF, gain: float = SPEED_GAIN):
        self.fps = fps
        self.min_cutoff = min_cutoff
        self.gain = gain
        self.reset()

    def reset(self) -> None:
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None

    def __call__(self, value: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """The filtered ``value``; ``scale`` is the size speeds are measured in (pixels per unit)."""
        value = np.asarray(value, np.float64)
        if self._value is None or self._speed is None:
            self._value, self._speed = value.copy(), np.zeros(len(value))
            return value
        speed = np.linalg.norm(value[:, :2] - self._value[:, :2], axis=1) * self.fps / max(scale, 1e-9)
        self._speed += self._alpha(SPEED_CUTOFF) * (speed - self._speed)
        alpha = self._alpha(self.min_cutoff + self.gain * self._speed)[:, None]
        self._value = self._value + alpha * (value - self._value)
        return self._value.copy()

    def _alpha(self, cutoff: float | np.ndarray) -> Any:
        tau = 1.0 / (2 * np.pi * np.asarray(cutoff))
        return 1.0 / (1.0 + tau * self.fps)


class FaceTracker:
    """Landmarks of one face, frame after frame. Use it as a context manager, or call :meth:`close`.

    Parameters
    ----------
    index : int or None, the face to follow, 0 for the leftmost; None: the largest
    fps : float or None, the video's frame rate; None leaves the landmarks unsmoothed
    """

    def __init__(self, *, index: int | None = None, fps: float | None = None):
        self.index = index
        self.most_faces = 0  # the most faces seen in a frame while choosing
        self._filter = OneEuroFilter(fps) if fps else None
        self._mesh: Any = None
        self._quiet = contextlib.ExitStack()
        self._faces = 1  # faces the mesh looks for
        self._last: np.ndarray | None = None  # the followed face's centre, pixels
        self._scale = 1.0  # its eye distance, pixels

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        """The followed face's landmarks in ``frame`` ``[478, 3]`` pixels, or None where it is not seen.

        Parameters
        ----------
        frame : np.ndarray [shape=(H, W, 3), dtype=uint8], RGB, the video's next frame
        """
        if self._mesh is None:
            face = self._choose(frame)
            if face is None:
                return None
        else:
            face = self._follow(frame)
            if face is None:
                if self._filter is not None:
                    self._filter.reset()
                return None
        centre = face[:, :2].mean(axis=0)
        if self._filter is not None and self._last is not None and np.hypot(*(centre - self._last)) > CUT * self._scale:
            self._filter.reset()  # a cut (or a loop back to the start): nothing to smooth across
        self._last, self._scale = centre, eye_distance(face)
        if self._filter is None:
            return face
        return self._filter(face, self._scale).astype(np.float32)

    def _choose(self, frame: np.ndarray) -> np.ndarray | None:
        faces = detect_faces(frame)
        self.most_faces = max(self.most_faces, len(faces))
        if not faces:
            return None
        if self.index is None:
            face = max(faces, key=lambda f: float(np.prod(np.ptp(f[:, :2], axis=0))))
        elif self.index < len(faces):
            face = faces[self.index]
        else:
            return None
        # Tracking one face is cheapest; with several in view MediaPipe must follow them all,
        # or it would keep running its detector to find the ones it was asked for.
        self._faces = len(faces)
        self._quiet.enter_context(quiet_native_stderr())  # its graph threads print as they start, after process()
        self._mesh = new_face_mesh(
            static_image_mode=False, max_num_faces=self._faces, min_tracking_confidence=MIN_TRACKING_CONFIDENCE
        )
        return face

    def _follow(self, frame: np.ndarray) -> np.ndarray | None:
        height, width = frame.shape[:2]
        result = self._mesh.process(np.ascontiguousarray(frame))
        faces = [
            np.array([(p.x * width, p.y * height, p.z * width) for p in f.landmark], np.float32)
            for f in result.multi_face_landmarks or ()
        ]
        if not faces:
            return None
        assert self._last is not None
        distances = [float(np.hypot(*(f[:, :2].mean(axis=0) - self._last))) for f in faces]
        nearest = int(np.argmin(distances))
        if self._faces > 1 and distances[nearest] > MAX_JUMP * self._scale:
            return None  # only other faces in view
        return faces[nearest]

    def missing_face_error(self, source: str) -> NoFaceError:
        """The error for a video in which the requested face was never found."""
        if self.index is not None and self.most_faces:
            found = f"{self.most_faces} face" + ("s" if self.most_faces > 1 else "")
            return NoFaceError(f"'{source}' shows at most {found}; there is no face {self.index} (0 is the leftmost).")
        return NoFaceError(f"No face found in any frame of '{source}'.")

    def close(self) -> None:
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None
        self._quiet.close()

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None):
        self.close()


def track_face(frames: Iterable[np.ndarray], *, fps: float | None = None) -> Iterator[np.ndarray | None]:
    """Per frame the landmarks of the largest face, followed through the frames, or None where
    it is not seen (see :class:`FaceTracker`).

    Parameters
    ----------
    frames : iterable of np.ndarray [shape=(H, W, 3), dtype=uint8], RGB, in order
    fps : float or None, the frame rate, to smooth the landmarks; None leaves them raw

    Yields
    ------
    np.ndarray [shape=(478, 3), dtype=float32] or None
        ``(x, y, z)`` in pixels, as :func:`~mouthpiece.face.detect.detect_faces` gives.
    """
    with FaceTracker(fps=fps) as tracker:
        for frame in frames:
            yield tracker(frame)
