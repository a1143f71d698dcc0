"""Audio-visual sync from landmarks: SyncNet's offset and confidence, without its weights.

Two kinds of track at the video's frame rate, each with two features: the mouth *seen*
in the frames (the inner lips' gap and the lip corners' distance, over the distance
between the eyes' outer corners) and the mouth *expected* from the audio (an Animation's JawOpen, and
its mouth width: stretch and smile less pucker and funnel). The two features are the
mouth's two visible degrees of freedom, opening and spreading/rounding; a wrong
soundtrack that happens to match the rhythm of one rarely matches both (on the fixture
videos, every one of 30 mismatched pairings reads a lower confidence than the video's
own audio with both features; with the opening alone 28 of 30 did). The opening is also
compared with the audio's loudness envelope (:func:`mouthpiece.api.evaluate_sync`): its
timing does not depend on the phones being recognized right, which on noisy speech
they are not.

Every feature is smoothed over ``SMOOTH_FRAMES`` and differenced: how fast the mouth
opens and closes carries the timing, while the level drifts with pose and differs
between faces. The velocities are replaced by their ranks before they are correlated
(Spearman's r rather than Pearson's): landmark velocities are heavy-tailed, and a few
large jaw drops or a tracking jump otherwise decide the whole curve. For every lag
``k`` in ``-max_lag..max_lag`` the correlation of ``seen[t]`` with ``expected[t + k]``
is taken and the features' curves are averaged; the curve's peak is the offset, and the
peak minus the curve's median is the confidence, as SyncNet's LSE-C is the peak minus
the median of its embedding distances.

The mouth moves ahead of the sound: in natural running speech the jaw and lips travel
towards a vowel during the consonant before it, so the mouth opening leads the acoustic
events by tens of milliseconds and by 100-300 ms at utterance onsets (Chandrasekaran et
al. 2009, "The natural statistics of audiovisual speech", PLoS Comput Biol 5:e1000436);
Schwartz and Savariaux (2014, PLoS Comput Biol 10:e1003743) expect running speech to range
from a 40 ms audio lead to a 200 ms audio lag. Our Animations carry that lead where the
speech is at hand (the jaw's opening filter and the lips' ``LIP_LEAD``, both fitted on
real footage; :mod:`mouthpiece.motion.opening`), so their tracks are compared as they are;
the loudness envelope, which follows the sound, is advanced by ``NATURAL_LEAD`` (80 ms, the
middle of that range). So measured, the 22 real clips of ``../shared/fixtures`` read a
median offset of 0 frames (mean +0.09, 73 % within 0 +- 1; ``benchmarks/eval_sync.py
--only real``), and our renders and dubs read 0 +- 1 (``--only ours``); with the
Animation advanced too, as before it carried the lead, real clips read -1.0 on average.
The fixtures differ among themselves by several frames, so no single reference reads
all of them 0 +- 1.

A positive offset means the sound comes that many frames after natural timing would
put it (the audio was delayed); delaying the picture by as much, or advancing the
audio, fixes it. The same is done over sliding windows, so a drift shows as a changing
offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..timebase import advance
from ..types import Animation

MAX_LAG = 15  # frames each way, as SyncNet searches
SMOOTH_FRAMES = 3  # moving average before differencing: tames landmark jitter
NATURAL_LEAD = 0.08  # s the mouth moves ahead of the sound in running speech (see above)
MOUTH_CORNERS = (61, 291)  # MediaPipe face-mesh landmarks
OUTER_EYE_CORNERS = (33, 263)  # the face's size for the lip gap and width: the widest span that speech does not move
# Upper and lower inner-lip landmarks facing each other across the middle of the mouth:
# the centre pair and two to each side of it.
INNER_LIP_PAIRS = ((13, 14), (82, 87), (312, 317), (81, 178), (311, 402))
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


def lip_gap(landmarks: np.ndarray) -> float:
    """The inner lips' gap averaged over ``INNER_LIP_PAIRS``, over the distance between the eyes' outer corners.

    Steadier than :func:`mouth_opening`'s single pair: one landmark's jitter, or a lip
    corner that opens first, moves it less.

    Parameters
    ----------
    landmarks : np.ndarray [shape=(478, 2 or 3)], MediaPipe face-mesh landmarks
    """
    upper, lower = (landmarks[list(side), :2] for side in zip(*INNER_LIP_PAIRS))
    return float(np.hypot(*(lower - upper).T).mean() / _face_size(landmarks))


def mouth_width(landmarks: np.ndarray) -> float:
    """The distance between the mouth's corners over that between the eyes' outer corners.

    Parameters
    ----------
    landmarks : np.ndarray [shape=(478, 2 or 3)], MediaPipe face-mesh landmarks
    """
    left, right = MOUTH_CORNERS
    return float(np.hypot(*(landmarks[right, :2] - landmarks[left, :2])) / _face_size(landmarks))


def _face_size(landmarks: np.ndarray) -> float:
    """The distance between the eyes' outer corners. Unlike the eye centres, which average in
    the inner corners, it is the widest span near the mouth, so a landmark's jitter moves it least."""
    right, left = OUTER_EYE_CORNERS
    return max(float(np.hypot(*(landmarks[left, :2] - landmarks[right, :2]))), 1e-6)


def expected_mouth(animation: Animation, *, lead: float = NATURAL_LEAD) -> np.ndarray:
    """The opening and width of the mouth an Animation implies, advanced by ``lead`` seconds.

    Returns
    -------
    np.ndarray [shape=(T, 2)] : JawOpen, and stretch plus smile less pucker and funnel
    """

    def mean(name: str) -> np.ndarray:
        return (animation.channel(name + "Left") + animation.channel(name + "Right")) / 2

    spread = mean("MouthStretch") + mean("MouthSmile")
    width = spread - animation.channel("MouthPucker") - animation.channel("MouthFunnel")
    tracks = np.stack([animation.channel("JawOpen"), width], axis=1).astype(np.float64)
    return advance(tracks, lead * animation.fps)


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
    seen : np.ndarray [shape=(T,) or (T, F)], mouth features per video frame (NaN where no
        face: filled in)
    expected : np.ndarray [shape like ``seen``], the same features as the audio implies them
        (already advanced by the natural lead: see :func:`expected_mouth`)
    fps : float, frames per second of both
    max_lag : int, frames searched each way
    """
    seen, expected = _columns(seen), _columns(expected)
    if seen.shape[1] != expected.shape[1]:
        raise ValueError(f"seen has {seen.shape[1]} features but expected {expected.shape[1]}")
    seen = np.stack([_ranked_velocity(_fill_gaps(column)) for column in seen.T], axis=1)
    expected = np.stack([_ranked_velocity(column) for column in expected.T], axis=1)
    lags = np.arange(-max_lag, max_lag + 1)
    curve = _mean_curve(seen, expected, max_lag)
    windows = []
    size, hop = round(WINDOW_SECONDS * fps), max(1, round(WINDOW_HOP_SECONDS * fps))
    if len(seen) >= 2 * size:
        for start in range(0, len(seen) - size + 1, hop):
            part = _mean_curve(seen[start : start + size], expected[start : start + size], max_lag)
            windows.append(SyncWindow(start / fps, (start + size) / fps, int(lags[np.argmax(part)]), _confidence(part)))
    return SyncResult(
        fps=fps, offset=int(lags[np.argmax(curve)]), confidence=_confidence(curve), lags=lags, curve=curve,
        windows=windows,
    )  # fmt: skip


def _columns(track: np.ndarray) -> np.ndarray:
    track = np.asarray(track, np.float64)
    return track[:, None] if track.ndim == 1 else track


def _mean_curve(seen: np.ndarray, expected: np.ndarray, max_lag: int) -> np.ndarray:
    """The features' correlation curves averaged, over the features that move in both tracks."""
    curves = [
        correlation_curve(a, b, max_lag=max_lag)
        for a, b in zip(seen.T, expected.T)
        if a.std() > 1e-9 and b.std() > 1e-9
    ]  # fmt: skip
    return np.mean(curves, axis=0) if curves else np.zeros(2 * max_lag + 1)


def _ranked_velocity(track: np.ndarray) -> np.ndarray:
    """Ranks (ties averaged) of the frame-to-frame change of the smoothed track."""
    change = _velocity(track)
    from scipy.stats import rankdata  # imported here: scipy.stats costs every CLI command 0.3 s of start-up

    return rankdata(change) if change.std() > 1e-12 else np.zeros_like(change)


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
