"""Audio-visual sync from landmarks: SyncNet's offset and confidence, without its weights.

Two tracks at the video's frame rate: the mouth opening *seen* in the frames (the inner
lip gap over the face's size) and the mouth opening *expected* from the audio (an
Animation's JawOpen). Both are smoothed over ``SMOOTH_FRAMES`` and differenced: how
fast the mouth opens and closes carries the timing, while the opening's level drifts
with pose and differs between faces (on the fixture videos this sharpened the peak by
a third to a half). For every lag ``k`` in ``-max_lag..max_lag`` the Pearson
correlation of ``seen[t]`` with ``expected[t + k]`` is taken; the curve's peak is the
offset, and the peak minus the curve's median is the confidence, as SyncNet's LSE-C is
the peak minus the median of its embedding distances.

A positive offset means the sound comes that many frames after the mouth moves (the
audio was delayed); delaying the picture by as much, or advancing the audio, fixes it.
The same is done over sliding windows, so a drift shows as a changing offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..face.landmarks import eye_distance

MAX_LAG = 15  # frames each way, as SyncNet searches
SMOOTH_FRAMES = 3  # moving average before differencing: tames landmark jitter
WINDOW_SECONDS = 4.0  # of each sliding window
WINDOW_HOP_SECONDS = 2.0


@dataclass(frozen=True)
class SyncWindow:
    start: float  # s
    end: float  # s
    offset: int  # frames
    confidence: float


@dataclass(frozen=True)
class SyncResult:
    """The offset and confidence of a whole clip, its correlation curve, and per window."""

    fps: float
    offset: int  # frames; positive: the audio is late
    confidence: float  # correlation at the peak minus the curve's median
    lags: np.ndarray  # [2 * max_lag + 1] frames
    curve: np.ndarray  # [2 * max_lag + 1] correlation at each lag
    windows: list[SyncWindow] = field(default_factory=list)

    @property
    def offset_seconds(self) -> float:
        return self.offset / self.fps

    def to_dict(self) -> dict[str, object]:
        return {
            "fps": self.fps,
            "offset_frames": self.offset,
            "offset_seconds": round(self.offset_seconds, 4),
            "confidence": round(self.confidence, 4),
            "lags": self.lags.tolist(),
            "correlation": np.round(self.curve, 4).tolist(),
            "windows": [
                {
                    "start": round(w.start, 3),
                    "end": round(w.end, 3),
                    "offset_frames": w.offset,
                    "confidence": round(w.confidence, 4),
                }
                for w in self.windows
            ],  # fmt: skip
        }


def mouth_opening(landmarks: np.ndarray) -> float:
    """The inner lips' gap at the middle of the mouth over the distance between the eyes.

    Parameters
    ----------
    landmarks : np.ndarray [shape=(478, 2 or 3)], MediaPipe face-mesh landmarks
    """
    return float(np.hypot(*(landmarks[14, :2] - landmarks[13, :2])) / max(eye_distance(landmarks), 1e-6))


def correlation_curve(seen: np.ndarray, expected: np.ndarray, *, max_lag: int = MAX_LAG) -> np.ndarray:
    """Pearson r of ``seen[t]`` with ``expected[t + k]`` for ``k = -max_lag..max_lag``.

    >>> t = np.arange(200)
    >>> mouth = np.sin(t / 5.0) ** 2
    >>> int(np.argmax(correlation_curve(mouth, np.roll(mouth, 3), max_lag=5))) - 5
    3
    """
    seen, expected = np.asarray(seen, np.float64), np.asarray(expected, np.float64)
    length = min(len(seen), len(expected))
    curve = np.zeros(2 * max_lag + 1)
    for i, lag in enumerate(range(-max_lag, max_lag + 1)):
        a = seen[max(0, -lag) : length - max(0, lag)]
        b = expected[max(0, lag) : length + min(0, lag)]
        if len(a) > 2 and a.std() > 1e-9 and b.std() > 1e-9:
            curve[i] = float(np.corrcoef(a, b)[0, 1])
    return curve


def measure_sync(seen: np.ndarray, expected: np.ndarray, *, fps: float, max_lag: int = MAX_LAG) -> SyncResult:
    """Offset and confidence of a clip, and of its sliding windows.

    Parameters
    ----------
    seen : np.ndarray [shape=(T,)], mouth opening per video frame (NaN where no face: filled in)
    expected : np.ndarray [shape=(T,)], mouth opening the audio implies, per frame
    fps : float, frames per second of both
    max_lag : int, frames searched each way
    """
    seen = _velocity(_fill_gaps(np.asarray(seen, np.float64)))
    expected = _velocity(np.asarray(expected, np.float64))
    lags = np.arange(-max_lag, max_lag + 1)
    curve = correlation_curve(seen, expected, max_lag=max_lag)
    windows = []
    size, hop = round(WINDOW_SECONDS * fps), max(1, round(WINDOW_HOP_SECONDS * fps))
    if len(seen) >= 2 * size:
        for start in range(0, len(seen) - size + 1, hop):
            part = correlation_curve(seen[start : start + size], expected[start : start + size], max_lag=max_lag)
            windows.append(SyncWindow(start / fps, (start + size) / fps, int(lags[np.argmax(part)]), _confidence(part)))
    return SyncResult(
        fps=fps, offset=int(lags[np.argmax(curve)]), confidence=_confidence(curve), lags=lags, curve=curve,
        windows=windows,
    )  # fmt: skip


def _velocity(track: np.ndarray) -> np.ndarray:
    """Frame-to-frame change of the smoothed track (same length: the first change repeated)."""
    if len(track) < SMOOTH_FRAMES + 1:
        return np.zeros_like(track)
    padded = np.pad(track, SMOOTH_FRAMES // 2, mode="edge")
    smooth = np.convolve(padded, np.ones(SMOOTH_FRAMES) / SMOOTH_FRAMES, mode="valid")
    change = np.diff(smooth)
    return np.concatenate([change[:1], change])


def _confidence(curve: np.ndarray) -> float:
    return float(curve.max() - np.median(curve))


def _fill_gaps(track: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaNs (frames where no face was found)."""
    missing = np.isnan(track)
    if missing.all():
        return np.zeros_like(track)
    if missing.any():
        index = np.arange(len(track))
        track = track.copy()
        track[missing] = np.interp(index[missing], index[~missing], track[~missing])
    return track
