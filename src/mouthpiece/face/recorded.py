"""A video's face track, recorded by one pass over its frames and replayed by the next.

A dub in its own style follows the face twice: the style fit (:func:`~.seen.seen_mouth`)
measures the mouth in every frame, then the dub re-poses it frame by frame. Tracking is a
fifth of a dub's time, and both passes follow the same face through the same frames, so the
first records the raw landmarks it found (:func:`remember`) and the second replays them
(:class:`ReplayedTracker`) instead of running MediaPipe again. The raw landmarks are the
same either way: a :class:`~.track.FaceTracker`'s smoothing acts on what it returns, not on
what it follows, so a replay smooths them as the dub's own tracker would.

One track is kept per process (the latest), only for videos of at most ``MAX_FRAMES``
frames, and only while the file is unchanged (its size and modification time).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .landmarks import LANDMARK_COUNT, mouth_opening
from .track import FaceTracker

MAX_FRAMES = 27_000  # 15 minutes at 30 frames/s: 155 MB of landmarks


@dataclass(frozen=True)
class FaceTrack:
    """The raw landmarks of one face in every frame of a video, NaN where it was not seen."""

    video: tuple[str, int, int]  # (path, size, modification time in ns): the file they came from
    face: int | None  # the face followed (:class:`~.track.FaceTracker`'s ``index``)
    landmarks: np.ndarray  # [N, 478, 3] float32 pixels
    most_faces: int  # the most faces seen in a frame while the face was chosen

    def openings(self) -> np.ndarray:
        """The mouth's opening (:func:`~.landmarks.mouth_opening`) in every frame, NaN where the face was not seen."""
        return np.array([np.nan if np.isnan(face[0, 0]) else mouth_opening(face) for face in self.landmarks])


_latest: FaceTrack | None = None
_lock = threading.Lock()


def video_key(path: str | os.PathLike[str]) -> tuple[str, int, int]:
    stat = os.stat(path)
    return os.path.abspath(path), stat.st_size, stat.st_mtime_ns


def remember(track: FaceTrack) -> None:
    """Keep ``track`` for :func:`recall` (in place of any kept before)."""
    global _latest
    with _lock:
        _latest = track


def recall(path: str | os.PathLike[str], face: int | None) -> FaceTrack | None:
    """The track kept for face ``face`` of the video at ``path``, if the file has not changed since."""
    with _lock:
        track = _latest
    if track is None or track.face != face:
        return None
    try:
        return track if track.video == video_key(path) else None
    except OSError:
        return None


def recording(
    path: str | os.PathLike[str], frames: Iterable[np.ndarray], tracker: FaceTracker, *, expected: int
) -> Iterator[np.ndarray | None]:
    """``tracker``'s landmarks for each of ``frames`` (the whole video at ``path`` in order,
    about ``expected`` of them), remembered as the video's track once the last is given.
    ``tracker`` must be unsmoothed (its ``fps`` None): the track holds raw landmarks."""
    if tracker.smooths:
        raise ValueError("A recorded track holds raw landmarks: give an unsmoothed FaceTracker.")
    key = video_key(path)
    landmarks = np.full((expected, LANDMARK_COUNT, 3), np.nan, np.float32) if 0 < expected <= MAX_FRAMES else None
    given = 0
    for frame in frames:
        face = tracker(frame)
        if landmarks is not None and given >= len(landmarks):  # the probe's count was short
            grown = np.full((len(landmarks) + 256, LANDMARK_COUNT, 3), np.nan, np.float32)
            grown[: len(landmarks)] = landmarks
            landmarks = grown if len(grown) <= MAX_FRAMES else None
        if landmarks is not None and face is not None:
            landmarks[given] = face
        given += 1
        yield face
    if landmarks is not None and given:
        remember(FaceTrack(key, tracker.index, landmarks[:given], tracker.most_faces))


class ReplayedTracker(FaceTracker):
    """A :class:`~.track.FaceTracker` that takes its raw landmarks from a recorded ``track``
    instead of the frames: call ``k`` gives frame ``order[k]``'s (``order`` the source frame
    each frame given stands for, as :func:`~mouthpiece.render.fit.fitted_order` says).
    Smoothing (``fps``) and its reset at cuts are the tracker's own; a frame past the order
    shows no face."""

    def __init__(self, track: FaceTrack, order: Iterable[int], *, fps: float | None = None):
        super().__init__(index=track.face, fps=fps)
        self.most_faces = track.most_faces
        self._track = track
        self._order = iter(order)

    def _find(self, frame: np.ndarray) -> np.ndarray | None:
        k = next(self._order, -1)
        face = self._track.landmarks[k] if 0 <= k < len(self._track.landmarks) else None
        return None if face is None or np.isnan(face[0, 0]) else face.copy()
