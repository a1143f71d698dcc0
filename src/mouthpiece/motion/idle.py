"""Idle life: blinks, head motion, gaze shifts and brow raises on top of the speech curves.

Sketch. The audio is measured once at ``FEATURE_FPS`` (loudness, F0, voice activity,
in ``CHUNK`` pieces so an hour costs the memory of a minute); everything else is drawn
from ``numpy.random.default_rng(seed)`` in seconds, never in frames, so a seed gives
the same events at every frame rate, and each event is evaluated at the frames' times.

- Blinks: log-normal intervals (skewed: mostly 2-6 s, mean 3.8 s), some moved to the
  start of a nearby pause (where voice activity ends), some doubled. Each is a raised-cosine close,
  a short hold and a slower open; its closed instant is put on a frame, so every
  blink shows full closure at any fps.
- Head: a slow drift (sums of incommensurate sines, unit RMS) that never stops, plus
  a livelier band scaled by how actively and loudly the speaker talks, a pitch that
  follows the voice's F0, and a short nod (chin down) on each emphasized syllable. Each
  axis is soft-limited (``limit * tanh(x / limit)``) and faded in from 0.
- Gaze: saccades at log-normal intervals between the camera and small aversions
  (more aversions while speaking, and an aversion tends to return to the camera),
  each a minimum-jerk move of 40-60 ms, then held. The eyes counter-rotate against
  the head (vestibulo-ocular reflex) so a look at the camera stays on it.
- Brows: BrowInnerUp and BrowOuterUp rise on the most emphasized syllables only:
  loudness and F0 peaks that stand out over ``BROW_SPACING``.

Emphasis is a syllable's prominence: half its loudness over the speaker's median
(per ``EMPHASIS_DB``) and half its F0 over the median (per ``EMPHASIS_SEMITONES``).

Sign conventions (angles in radians in the channels, degrees in the tables here).
Positive yaw turns the head, or the eyes, towards the subject's own left: the viewer's
right in a portrait. Positive pitch looks up (chin up). Positive roll tilts the head
counter-clockwise as the viewer sees it: the top of the head towards the subject's
right shoulder. Eye angles are relative to the head. The ARKit blendshapes agree:
yaw > 0 is EyeLookOutLeft and EyeLookInRight, yaw < 0 is EyeLookInLeft and
EyeLookOutRight, pitch > 0 is EyeLookUp*, pitch < 0 is EyeLookDown*.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..audio.features import FLOOR_DB, loudness, pitch, voice_activity
from ..errors import InputError
from ..timebase import frame_count, frames_to_time
from ..types import Animation, Audio
from ..vocabulary import POSE_CHANNELS

FEATURE_FPS = 25.0  # Hz, prosody analysis rate: a syllable spans 3+ frames; an hour's F0 takes ~2 s
CHUNK = 60.0  # s of audio analysed at a time (bounds memory); the last chunk takes the remainder

# --- Blinks ------------------------------------------------------------------------------
BLINK_INTERVAL = (3.6, 0.35)  # s median and log-sd of the log-normal interval: mean 3.8 s, ~1 % < 1.5 s or > 8 s
BLINK_MIN_GAP = 1.0  # s, closer blinks (after moving to pauses) are dropped
BLINK_CLOSE = (0.08, 0.11)  # s, range of the closing time
BLINK_HOLD = 0.02  # s, fully closed
BLINK_OPEN = (0.15, 0.20)  # s, range of the (slower) opening time
DOUBLE_BLINK = (0.10, 0.30, 0.40)  # chance a blink is doubled, range of the gap between closures (s)
PAUSE_BLINK = (0.5, 0.8)  # chance a blink moves to the start of a pause, and how far it may move (s)
LID_FOLLOW = 0.3  # EyeBlink is at least this much of EyeLookDown: the upper lid follows the eye down

# --- Head (degrees) -----------------------------------------------------------------------
# Per axis: soft limit, RMS of the drift that never stops, RMS of the extra motion of speech.
HEAD_MOTION: dict[str, tuple[float, float, float]] = {
    "HeadYaw": (4.0, 0.8, 1.6),
    "HeadPitch": (3.0, 0.5, 1.0),
    "HeadRoll": (2.0, 0.3, 0.7),
}
DRIFT_BAND = (0.03, 0.12)  # Hz, calm drift: a sway every 8-30 s
SPEECH_BAND = (0.15, 0.6)  # Hz, motion with the phrases of speech
NOISE_SINES = 4  # sines summed per axis and band
ACTIVITY_SMOOTHING = 0.25  # s, Gaussian sigma easing motion in and out of speech
LOUDNESS_GAIN = (12.0, 0.5, 1.5)  # dB over the median that doubles speech motion, gain range
F0_PITCH = 0.6  # degrees of head pitch per EMPHASIS_SEMITONES of F0 over the median (clipped to +-1)
F0_SMOOTHING = 0.2  # s, Gaussian sigma of the F0 the head follows
HEAD_FADE_IN = 0.5  # s over which the head leaves its rest pose
NOD = (0.8, 1.8, 0.18, 0.30)  # degrees chin down at weakest and strongest emphasis, s down, s back up

# --- Gaze (degrees) -----------------------------------------------------------------------
SACCADE_INTERVAL = (2.0, 0.4, 0.6, 6.0)  # s median, log-sd, shortest, longest
SACCADE_DURATION = (0.035, 0.0025, 0.04, 0.06)  # s base + s per degree (main sequence), clipped
GAZE_AWAY = (0.3, 0.55, 0.3)  # chance to look away from the camera when silent, speaking; to stay away
GAZE_AVERSION = (2.0, 7.0, -1.0, 2.0)  # |yaw| range, pitch mean and sd (people look down more than up)
GAZE_JITTER = 0.5  # sd of a look "at the camera"
GAZE_LIMIT = {"yaw": 8.0, "pitch": 5.0}  # eye-in-head bounds
VOR_GAIN = 0.9  # of the head's rotation the eyes take back to hold their target
# Eye angle of full EyeLook* weight, and each blendshape's axis and sign (see the sign conventions).
EYE_LOOK_FULL_SCALE = {"yaw": 30.0, "pitch": 25.0}
EYE_LOOK: dict[str, tuple[str, float]] = {
    "EyeLookOutLeft": ("yaw", 1.0), "EyeLookInLeft": ("yaw", -1.0),
    "EyeLookInRight": ("yaw", 1.0), "EyeLookOutRight": ("yaw", -1.0),
    "EyeLookUpLeft": ("pitch", 1.0), "EyeLookUpRight": ("pitch", 1.0),
    "EyeLookDownLeft": ("pitch", -1.0), "EyeLookDownRight": ("pitch", -1.0),
}  # fmt: skip
EYE_ANGLES = {"LeftEyeYaw": "yaw", "RightEyeYaw": "yaw", "LeftEyePitch": "pitch", "RightEyePitch": "pitch"}

# --- Emphasis and brows ----------------------------------------------------------------
EMPHASIS_DB = 6.0  # dB over the median level worth one unit of prominence
EMPHASIS_SEMITONES = 3.0  # semitones over the median F0 worth one unit of prominence
NOD_SPACING = 0.5  # s, a nod's syllable is the most prominent within this window
NOD_PROMINENCE = (0.5, 1.2)  # prominence of the weakest and strongest nod
BROW_SPACING = 1.6  # s, a brow raise's syllable is the most prominent within this window
BROW_PROMINENCE = (0.7, 1.4)  # prominence of the weakest and strongest brow raise
BROW_MIN_SEMITONES = 1.0  # a brow raise needs a pitch accent: F0 this far over the median
BROW_RAISE = (0.3, 0.5, 0.15, 0.2, 0.4)  # height at weakest and strongest, s rise, s hold, s fall
BROW_CHANNELS = {"BrowInnerUp": 1.0, "BrowOuterUpLeft": 0.85, "BrowOuterUpRight": 0.85}


@dataclass(frozen=True)
class _Prosody:
    """Speech features at ``FEATURE_FPS``, frame ``i`` centred on ``(i + 0.5) / FEATURE_FPS`` s."""

    level: np.ndarray  # dBFS
    tone: np.ndarray  # semitones over the speaker's median F0, 0 where unvoiced
    voiced: np.ndarray  # bool
    active: np.ndarray  # bool, voice activity

    @property
    def times(self) -> np.ndarray:
        return (np.arange(len(self.level)) + 0.5) / FEATURE_FPS


def add_idle(animation: Animation, audio: Audio, *, seed: int = 0) -> Animation:
    """Blinks, head motion, gaze shifts and emphasis brow raises added to an Animation.

    Parameters
    ----------
    animation : Animation, usually from :func:`mouthpiece.motion.animate`
    audio : Audio, the speech it animates (time 0 at its first frame)
    seed : int >= 0, seeds ``numpy.random.default_rng``; the same seed gives the same output

    Returns
    -------
    Animation
        A copy with the eye, brow and head channels added to (blendshapes clipped to
        [0, 1]); the mouth, jaw and every track are unchanged. Channels the animation
        does not carry are skipped.

    Examples
    --------
    >>> from mouthpiece.vocabulary import CHANNELS
    >>> still = Animation(fps=25, values=np.zeros((250, len(CHANNELS))))
    >>> alive = add_idle(still, Audio(np.zeros(160_000)), seed=1)
    >>> bool(alive.channel("EyeBlinkLeft").max() >= 0.95), bool(np.abs(alive.channel("HeadYaw")).max() < 0.07)
    (True, True)
    """
    if not isinstance(animation, Animation):
        raise InputError(f"Expected mouthpiece.types.Animation, got {type(animation).__name__}.")
    if not isinstance(audio, Audio):
        raise InputError(f"Expected mouthpiece.types.Audio, got {type(audio).__name__}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"Idle motion seed must be an integer >= 0, got {seed!r}.")
    values = animation.values.copy()
    if animation.frame_count == 0:
        return replace(animation, values=values)
    fps, duration = animation.fps, animation.frame_count / animation.fps
    t = np.asarray(frames_to_time(np.arange(animation.frame_count), fps=fps))
    prosody = _prosody(audio, duration)
    blink_rng, head_rng, gaze_rng = np.random.default_rng(seed).spawn(3)

    activity = np.interp(t, prosody.times, _activity(prosody))
    nods, brows = _emphasis(prosody)
    head = _head(t, fps, activity, prosody, nods, head_rng)
    gaze = _gaze(t, duration, activity, gaze_rng)
    eyes = {}  # relative to the head, against which they counter-rotate
    for axis, turn in (("yaw", "HeadYaw"), ("pitch", "HeadPitch")):
        limit = math.radians(GAZE_LIMIT[axis])
        eyes[axis] = np.clip(gaze[axis] - VOR_GAIN * head[turn], -limit, limit)
    curves: dict[str, np.ndarray] = {**head, **{name: eyes[axis] for name, axis in EYE_ANGLES.items()}}
    for name, (axis, sign) in EYE_LOOK.items():
        curves[name] = np.clip(sign * eyes[axis] / math.radians(EYE_LOOK_FULL_SCALE[axis]), 0, 1)
    blink = np.maximum(_blinks(t, fps, duration, prosody, blink_rng), LID_FOLLOW * curves["EyeLookDownLeft"])
    curves["EyeBlinkLeft"] = curves["EyeBlinkRight"] = blink
    low, high, rise, hold, fall = BROW_RAISE
    brow = _pulses(t, fps, brows[0], low + (high - low) * brows[1], rise, hold, fall, combine=np.add)
    for name, weight in BROW_CHANNELS.items():
        curves[name] = weight * brow

    _add_curves(values, curves, animation.channels)
    return replace(animation, values=values)


def _add_curves(values: np.ndarray, curves: dict[str, np.ndarray], channels: tuple[str, ...]) -> None:
    """Add each curve to its channel's column of ``values`` in place (channels missing are
    skipped); blendshapes stay in [0, 1]."""
    for name, curve in curves.items():
        if name in channels:
            column = channels.index(name)
            values[:, column] += curve.astype(values.dtype)
            if name not in POSE_CHANNELS:
                values[:, column] = np.clip(values[:, column], 0, 1)


def _prosody(audio: Audio, duration: float) -> _Prosody:
    """Loudness, F0 and voice activity over ``duration`` s (silence past the audio's end)."""
    n = frame_count(duration, fps=FEATURE_FPS)
    level = np.full(n, FLOOR_DB, np.float32)
    f0 = np.zeros(n, np.float32)
    active = np.zeros(n, bool)
    step = round(CHUNK * audio.sample_rate)  # samples; CHUNK * FEATURE_FPS frames, so frames stay aligned
    usable = min(len(audio.samples), math.ceil(duration * audio.sample_rate))
    chunks = max(1, round(usable / step))
    for k in range(chunks if usable else 0):
        piece = Audio(audio.samples[k * step : usable if k == chunks - 1 else (k + 1) * step], audio.sample_rate)
        first = k * round(CHUNK * FEATURE_FPS)
        features = loudness(piece, fps=FEATURE_FPS), pitch(piece, fps=FEATURE_FPS)[0]
        count = min(len(features[0]), n - first)
        level[first : first + count] = features[0][:count]
        f0[first : first + count] = features[1][:count]
        active[first : first + count] = voice_activity(piece, fps=FEATURE_FPS)[:count]
    # A 3-frame median drops YIN's one-frame octave jumps.
    f0 = np.median(np.lib.stride_tricks.sliding_window_view(np.pad(f0, 1, mode="edge"), 3), axis=1)
    voiced = (f0 > 0) & active
    reference = float(np.median(f0[voiced])) if voiced.any() else 1.0
    tone = np.where(voiced, 12 * np.log2(np.maximum(f0, 1e-3) / reference), 0.0)
    return _Prosody(level, np.clip(tone, -12, 12), voiced, active)


def _activity(prosody: _Prosody) -> np.ndarray:
    """How actively the speaker talks, 0 in silence, ~1 at the typical level (up to the gain's top)."""
    if not prosody.active.any():
        return np.zeros(len(prosody.level))
    per_doubling, low, high = LOUDNESS_GAIN
    typical = float(np.median(prosody.level[prosody.active]))
    gain = np.clip(2.0 ** ((prosody.level - typical) / per_doubling), low, high)
    return _smooth(np.where(prosody.active, gain, 0.0), ACTIVITY_SMOOTHING * FEATURE_FPS)


def _emphasis(prosody: _Prosody) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Times (s) and strengths in [0, 1] of the nods and of the brow raises."""
    speech = prosody.voiced & (prosody.level > FLOOR_DB)
    if not speech.any():
        empty = (np.zeros(0), np.zeros(0))
        return empty, empty
    loud = (prosody.level - np.median(prosody.level[speech])) / EMPHASIS_DB
    prominence = np.where(speech, 0.5 * loud + 0.5 * prosody.tone / EMPHASIS_SEMITONES, -np.inf)

    def peaks(spacing: float, weakest: float, strongest: float, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        half = max(1, round(spacing * FEATURE_FPS / 2))
        eligible = np.where(mask, prominence, -np.inf)
        padded = np.pad(eligible, half, constant_values=-np.inf)
        highest = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1).max(axis=1)
        found = np.flatnonzero((eligible == highest) & (eligible >= weakest))
        return prosody.times[found], np.clip((eligible[found] - weakest) / (strongest - weakest), 0, 1)

    nods = peaks(NOD_SPACING, *NOD_PROMINENCE, np.ones(len(speech), bool))
    brows = peaks(BROW_SPACING, *BROW_PROMINENCE, (loud > 0) & (prosody.tone >= BROW_MIN_SEMITONES))
    return nods, brows


def _head(
    t: np.ndarray,
    fps: float,
    activity: np.ndarray,
    prosody: _Prosody,
    nods: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Head yaw, pitch and roll in radians at times ``t`` (s)."""
    tone = _smooth(np.clip(prosody.tone / EMPHASIS_SEMITONES, -1, 1), F0_SMOOTHING * FEATURE_FPS)
    weakest, strongest, down, up = NOD
    nod = _pulses(t, fps, nods[0], weakest + (strongest - weakest) * nods[1], down, 0.0, up, combine=np.add)
    fade = _smoothstep(t / HEAD_FADE_IN)
    head = {}
    for name, (limit, drift, speech) in HEAD_MOTION.items():
        raw = drift * _noise(t, DRIFT_BAND, rng) + speech * activity * _noise(t, SPEECH_BAND, rng)
        if name == "HeadPitch":
            raw += F0_PITCH * activity * np.interp(t, prosody.times, tone) - nod
        head[name] = np.radians(limit * np.tanh(raw / limit) * fade)
    return head


def _gaze(t: np.ndarray, duration: float, activity: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Where the eyes look, yaw and pitch in radians relative to the camera, at times ``t`` (s)."""
    median, spread, shortest, longest = SACCADE_INTERVAL
    count = int(duration / shortest) + 1  # enough saccades for any draw; drawn in seconds, not frames
    starts = np.cumsum(np.clip(rng.lognormal(math.log(median), spread, count), shortest, longest))
    choice, side = rng.uniform(size=count), rng.choice([-1.0, 1.0], size=count)
    low, high, mean, sd = GAZE_AVERSION
    aversion = np.stack([side * rng.uniform(low, high, count), rng.normal(mean, sd, count)], axis=1)
    near = rng.normal(0.0, GAZE_JITTER, (count, 2))
    starts = starts[starts < duration]
    speaking = np.interp(starts, t, activity) > 0.5
    silent_away, speaking_away, stay_away = GAZE_AWAY
    targets = np.zeros((len(starts) + 1, 2))  # degrees; row 0 is the camera before the first saccade
    away = False
    for i in range(len(starts)):  # a two-state chain: camera <-> aversion
        away = bool(choice[i] < (stay_away if away else speaking_away if speaking[i] else silent_away))
        targets[i + 1] = aversion[i] if away else near[i]
    targets[:, 0] = np.clip(targets[:, 0], -GAZE_LIMIT["yaw"], GAZE_LIMIT["yaw"])
    targets[:, 1] = np.clip(targets[:, 1], -GAZE_LIMIT["pitch"], GAZE_LIMIT["pitch"])

    base, per_degree, fastest, slowest = SACCADE_DURATION
    amplitude = np.hypot(*np.diff(targets, axis=0).T)
    length = np.clip(base + per_degree * amplitude, fastest, slowest)
    current = np.searchsorted(starts, t, side="right")  # saccades begun by each frame: [T]
    begun = np.maximum(current - 1, 0)
    progress = np.where(current > 0, np.clip((t - starts[begun]) / length[begun], 0, 1), 1.0) if len(starts) else 1.0
    s = progress * progress * progress * (10 - 15 * progress + 6 * progress * progress)  # minimum jerk
    previous = targets[np.maximum(current - 1, 0)]
    angles = np.radians(previous + (targets[current] - previous) * np.reshape(s, (-1, 1)))
    return {"yaw": angles[:, 0], "pitch": angles[:, 1]}


def _blinks(t: np.ndarray, fps: float, duration: float, prosody: _Prosody, rng: np.random.Generator) -> np.ndarray:
    """Eyelid closure in [0, 1] at times ``t`` (s)."""
    median, spread = BLINK_INTERVAL
    count = int(duration / BLINK_MIN_GAP) + 2
    intervals = rng.lognormal(math.log(median), spread, count)
    times = np.cumsum(intervals) - intervals[0] * rng.uniform(0.0, 0.7)  # the first comes after 30-100 % of one
    move, close, open_ = rng.uniform(size=count), rng.uniform(*BLINK_CLOSE, count), rng.uniform(*BLINK_OPEN, count)
    double, gap = rng.uniform(size=count), rng.uniform(*DOUBLE_BLINK[1:], count)

    active = prosody.active
    pauses = (np.flatnonzero(active[:-1] & ~active[1:]) + 1) / FEATURE_FPS  # s, where speech stops
    if len(pauses):
        chance, reach = PAUSE_BLINK
        after = np.searchsorted(pauses, times)
        before, after = pauses[np.maximum(after - 1, 0)], pauses[np.minimum(after, len(pauses) - 1)]
        nearest = np.where(np.abs(after - times) < np.abs(before - times), after, before)
        times = np.where((np.abs(nearest - times) <= reach) & (move < chance), nearest, times)
    order = np.argsort(times, kind="stable")
    times, close, open_, double, gap = times[order], close[order], open_[order], double[order], gap[order]
    keep = np.concatenate([[True], np.diff(times) >= BLINK_MIN_GAP])
    keep &= times < duration
    doubled = keep & (double < DOUBLE_BLINK[0])
    times = np.concatenate([times[keep], times[doubled] + gap[doubled]])
    close, open_ = np.concatenate([close[keep], close[doubled]]), np.concatenate([open_[keep], open_[doubled]])
    closed = np.round(times * fps) / fps  # the closed instant on a frame: full closure shows at any fps
    return _pulses(t, fps, closed, np.ones(len(closed)), close, BLINK_HOLD, open_, combine=np.maximum)


class LiveIdle:
    """Blinks and the calm head drift of :func:`add_idle` for a live stream, a block of
    frames at a time (the same curves whatever the blocks). What needs the speech ahead
    (blinks moved to pauses, speech-driven head motion, nods, gaze, brows) is left out.

    >>> idle = LiveIdle(fps=25, seed=1)
    >>> parts = [idle.curves(0, 100), idle.curves(100, 150)]
    >>> whole = LiveIdle(fps=25, seed=1).curves(0, 250)
    >>> all(np.allclose(np.concatenate([a[k], b[k]]), whole[k]) for a, b in [parts] for k in whole)
    True
    >>> bool(whole["EyeBlinkLeft"].max() >= 0.95), bool(np.abs(whole["HeadYaw"]).max() < 0.07)
    (True, True)
    """

    def __init__(self, *, fps: float, seed: int = 0) -> None:
        self.fps = fps
        blink_rng, head_rng = np.random.default_rng(seed).spawn(2)
        self._rng = blink_rng
        self._axis_seeds = head_rng.integers(0, 2**32, len(HEAD_MOTION))
        self._blinks: list[tuple[float, float, float]] = []  # closed instant, closing time, opening time
        median, spread = BLINK_INTERVAL
        self._next_blink = float(self._rng.lognormal(math.log(median), spread) * self._rng.uniform(0.3, 1.0))

    def curves(self, first: int, count: int) -> dict[str, np.ndarray]:
        """Frames ``first`` to ``first + count`` (exclusive): EyeBlink and head channels."""
        fps = self.fps
        t = np.asarray(frames_to_time(np.arange(first, first + count), fps=fps))
        start = float(frames_to_time(first, fps=fps))
        median, spread = BLINK_INTERVAL
        while self._next_blink < start + count / fps + max(BLINK_CLOSE):
            closing, opening = float(self._rng.uniform(*BLINK_CLOSE)), float(self._rng.uniform(*BLINK_OPEN))
            self._blinks.append((round(self._next_blink * fps) / fps, closing, opening))
            if self._rng.uniform() < DOUBLE_BLINK[0]:
                gap = self._rng.uniform(*DOUBLE_BLINK[1:])
                self._blinks.append((round((self._next_blink + gap) * fps) / fps, closing, opening))
            interval = self._rng.lognormal(math.log(median), spread)
            self._next_blink += max(float(interval), BLINK_MIN_GAP)
        self._blinks = [b for b in self._blinks if b[0] + BLINK_HOLD + b[2] >= start]
        closed, close, open_ = (np.array([b[i] for b in self._blinks]) for i in range(3))
        blink = _pulses(t - start, fps, closed - start, np.ones(len(closed)), close, BLINK_HOLD, open_,
                        combine=np.maximum)  # fmt: skip
        out = {"EyeBlinkLeft": blink, "EyeBlinkRight": blink}
        fade = _smoothstep(t / HEAD_FADE_IN)
        for (name, (limit, drift, _)), seed in zip(HEAD_MOTION.items(), self._axis_seeds):
            raw = drift * _noise(t, DRIFT_BAND, np.random.default_rng(seed))
            out[name] = np.radians(limit * np.tanh(raw / limit) * fade)
        return out

    def add_to(self, first: int, values: np.ndarray, channels: tuple[str, ...]) -> np.ndarray:
        """``values`` (frames ``first`` on) with the idle curves added, blendshapes kept in [0, 1]."""
        out = values.copy()
        _add_curves(out, self.curves(first, len(values)), channels)
        return out


def _pulses(
    t: np.ndarray,
    fps: float,
    peaks: np.ndarray,
    heights: np.ndarray,
    rise: float | np.ndarray,
    hold: float | np.ndarray,
    fall: float | np.ndarray,
    *,
    combine: np.ufunc,
) -> np.ndarray:
    """Raised-cosine pulses at frame times ``t`` (s, frame ``i`` at ``i / fps``).

    Each is 0 at ``peak - rise``, ``height`` from ``peak`` to ``peak + hold`` and 0 again
    ``fall`` later; overlapping pulses are combined with ``combine``. Only the frames a
    pulse touches are evaluated, so the cost is the pulses' total length, not T x pulses.
    """
    out = np.zeros(len(t))
    if len(peaks) == 0:
        return out
    rise, hold, fall = (np.broadcast_to(np.asarray(x, np.float64), peaks.shape) for x in (rise, hold, fall))
    first = np.clip(np.ceil((peaks - rise) * fps - 1e-9), 0, len(t)).astype(np.int64)
    last = np.clip(np.floor((peaks + hold + fall) * fps + 1e-9), -1, len(t) - 1).astype(np.int64)
    counts = np.maximum(last - first + 1, 0)
    owner = np.repeat(np.arange(len(peaks)), counts)  # the pulse behind each touched frame
    frames = first[owner] + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    tau = t[frames] - peaks[owner]  # s from the peak's start
    up = 0.5 - 0.5 * np.cos(np.pi * np.clip(1 + tau / rise[owner], 0, 1))
    down = 0.5 + 0.5 * np.cos(np.pi * np.clip((tau - hold[owner]) / fall[owner], 0, 1))
    combine.at(out, frames, heights[owner] * np.where(tau < 0, up, down))
    return out


def _noise(t: np.ndarray, band: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """Smooth noise of unit RMS at times ``t`` (s): ``NOISE_SINES`` sines of random frequency in ``band`` (Hz)."""
    frequency = rng.uniform(*band, NOISE_SINES)
    phase = rng.uniform(0, 2 * np.pi, NOISE_SINES)
    weight = rng.uniform(0.5, 1.0, NOISE_SINES)
    out = np.zeros(len(t))
    for f, p, w in zip(frequency, phase, weight):
        out += w * np.sin(2 * np.pi * f * t + p)
    return out / math.sqrt(float(np.sum(weight**2)) / 2)


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing with a ``sigma`` in samples, edges extended."""
    radius = max(1, math.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / max(sigma, 1e-6)) ** 2)
    return np.convolve(np.pad(x, radius, mode="edge"), kernel / kernel.sum(), mode="valid")


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return x * x * (3 - 2 * x)
