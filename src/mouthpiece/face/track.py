"""Follow one face through the frames of a video: MediaPipe's face mesh in tracking mode.

In tracking mode MediaPipe looks for a face where it was in the previous frame and runs
its detector again only when it loses one, so frames cost a few milliseconds each.

:class:`FaceTracker` also picks the face to follow and keeps to it: on the first frame
that shows faces it takes the largest (or the ``index``-th from the left) and from then
on follows it in a crop around where it was last.
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
from .detect import detect_faces, largest, new_face_mesh, quiet_native_stderr
from .landmarks import eye_distance

MIN_TRACKING_CONFIDENCE = 0.5
# One Euro filter settings, with speeds measured in eye distances per second so that they
# hold for faces of any size: the cut-off is MIN_CUTOFF at rest and rises by SPEED_GAIN Hz
# per eye distance per second of landmark speed (lips in speech move some 2 a second).
MIN_CUTOFF = 1.5  # Hz
SPEED_GAIN = 4.0  # Hz per (eye distance / s)
SPEED_CUTOFF = 1.0  # Hz, of the speed estimate itself
CROP_SCALE = 2.2  # MediaPipe sees a square this many face sizes wide around the face
CROP_SLACK = 0.15  # of the crop's side the face may drift (or its size change) before the crop follows
REACQUIRE_FRAMES = 5  # frames a lost face goes unseen before the whole frame is searched again
MAX_REACQUIRE = 4.0  # eye distances from where it was last seen that a face found again may be
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

    MediaPipe looks only at a crop around the face (``CROP_SCALE`` times its size, moved
    when the face nears its edge): there the face is large whatever the frame's size, so
    it is found and followed where MediaPipe's detector, which sees a 128-pixel copy of
    what it is given, would miss a face in a wide shot, and another person in view is not
    mistaken for it. A face lost for ``REACQUIRE_FRAMES`` frames is looked for again in the
    whole frame, the one nearest to where it was last taken.

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
        self._last: np.ndarray | None = None  # the followed face's centre, pixels
        self._scale = 1.0  # its eye distance, pixels
        self._crop: tuple[int, int, int, int] | None = None  # (x0, y0, x1, y1) MediaPipe looks at
        self._lost = 0  # frames since the face was last seen

    @property
    def smooths(self) -> bool:
        """Whether the landmarks given are smoothed (an ``fps`` was given)."""
        return self._filter is not None

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        """The followed face's landmarks in ``frame`` ``[478, 3]`` pixels, or None where it is not seen.

        Parameters
        ----------
        frame : np.ndarray [shape=(H, W, 3), dtype=uint8], RGB, the video's next frame
        """
        face = self._find(frame)
        if face is None:
            self._lost += 1
            if self._filter is not None:
                self._filter.reset()
            return None
        self._lost = 0
        centre = face[:, :2].mean(axis=0)
        if self._filter is not None and self._last is not None and np.hypot(*(centre - self._last)) > CUT * self._scale:
            self._filter.reset()  # a cut (or a loop back to the start): nothing to smooth across
        self._last, self._scale = centre, eye_distance(face)
        self._place_crop(face, (frame.shape[0], frame.shape[1]))
        if self._filter is None:
            return face
        return self._filter(face, self._scale).astype(np.float32)

    def _find(self, frame: np.ndarray) -> np.ndarray | None:
        """The followed face's raw landmarks in ``frame``, or None."""
        face = self._follow(frame) if self._mesh is not None else None
        if face is None and (self._mesh is None or self._lost % REACQUIRE_FRAMES == REACQUIRE_FRAMES - 1):
            face = self._choose(frame)
        return face

    def _choose(self, frame: np.ndarray) -> np.ndarray | None:
        """The face to follow among those detected in the whole frame (the nearest to the last
        one seen, once there has been one)."""
        faces = detect_faces(frame)
        if self._last is not None:
            if not faces:
                return None
            distances = [float(np.hypot(*(f[:, :2].mean(axis=0) - self._last))) for f in faces]
            nearest = int(np.argmin(distances))
            return faces[nearest] if distances[nearest] < MAX_REACQUIRE * self._scale else None
        self.most_faces = max(self.most_faces, len(faces))
        if not faces:
            return None
        if self.index is None:
            face = largest(faces)
        elif self.index < len(faces):
            face = faces[self.index]
        else:
            return None
        self._quiet.enter_context(quiet_native_stderr())  # its graph threads print as they start, after process()
        self._mesh = new_face_mesh(
            static_image_mode=False, max_num_faces=1, min_tracking_confidence=MIN_TRACKING_CONFIDENCE
        )
        return face

    def _place_crop(self, face: np.ndarray, shape: tuple[int, int]) -> None:
        """Keep the crop where it is while the face sits well inside it; else centre it anew
        (MediaPipe follows a face from where it was in the picture it saw before)."""
        low, high = face[:, :2].min(axis=0), face[:, :2].max(axis=0)
        centre, size = (low + high) / 2, float(max(high - low))
        if self._crop is not None:
            x0, y0, x1, y1 = self._crop
            side = max(x1 - x0, y1 - y0)
            inside = np.all(np.abs(centre - ((x0 + x1) / 2, (y0 + y1) / 2)) < CROP_SLACK * side)
            if inside and abs(CROP_SCALE * size / side - 1) < CROP_SLACK:
                return
        height, width = shape
        side = int(round(CROP_SCALE * size))
        x0 = int(np.clip(round(centre[0] - side / 2), 0, max(width - side, 0)))
        y0 = int(np.clip(round(centre[1] - side / 2), 0, max(height - side, 0)))
        self._crop = (x0, y0, min(x0 + side, width), min(y0 + side, height))

    def _follow(self, frame: np.ndarray) -> np.ndarray | None:
        assert self._crop is not None
        x0, y0, x1, y1 = self._crop
        result = self._mesh.process(np.ascontiguousarray(frame[y0:y1, x0:x1]))
        if not result.multi_face_landmarks:
            return None
        width, height = x1 - x0, y1 - y0
        points = result.multi_face_landmarks[0].landmark
        return np.array([(p.x * width + x0, p.y * height + y0, p.z * width) for p in points], np.float32)

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
