"""The one place seconds and frame indices are converted.

Seconds (float) cross stage boundaries; frame indices at a known ``fps`` live inside.
Frame ``i`` covers ``[i / fps, (i + 1) / fps)`` and is shown at its start time.
"""

from __future__ import annotations

import numpy as np


def time_to_frames(t: float | np.ndarray, *, fps: float) -> np.ndarray | int:
    """Index of the frame that is showing at time ``t`` (seconds).

    >>> time_to_frames(0.5, fps=60)
    30
    >>> time_to_frames(np.array([0.0, 0.0166, 0.0167]), fps=60).tolist()
    [0, 0, 1]
    """
    frames = np.floor(np.asarray(t, dtype=np.float64) * fps + 1e-9).astype(np.int64)
    return int(frames) if frames.ndim == 0 else frames


def frames_to_time(i: int | np.ndarray, *, fps: float) -> np.ndarray | float:
    """Start time in seconds of frame ``i``.

    >>> frames_to_time(30, fps=60)
    0.5
    """
    t = np.asarray(i, dtype=np.float64) / fps
    return float(t) if t.ndim == 0 else t


def frame_count(duration: float, *, fps: float) -> int:
    """Frames needed to show ``duration`` seconds: at least one, the last starts before the end.

    >>> frame_count(1.0, fps=60), frame_count(1.001, fps=60), frame_count(0.0, fps=60)
    (60, 61, 1)
    """
    return max(1, int(np.ceil(duration * fps - 1e-9)))


def advance(tracks: np.ndarray, frames: float) -> np.ndarray:
    """``tracks[t + frames]`` by linear interpolation, the last value held past the end (first before the start).

    >>> advance(np.arange(5.0), 1.5)
    array([1.5, 2.5, 3.5, 4. , 4. ])
    """
    tracks = np.asarray(tracks, np.float64)
    index = np.arange(len(tracks))
    if tracks.ndim == 1:
        return np.interp(index + frames, index, tracks)
    return np.stack([np.interp(index + frames, index, column) for column in tracks.T], axis=1)
