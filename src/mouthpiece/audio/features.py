"""Per-frame loudness, pitch, voice activity and log mel spectra of mono audio.

Every feature has one value per frame at ``fps``: frame ``i`` covers
``[i / fps, (i + 1) / fps)`` and is measured on a window centred on its middle, so
each array has ``frame_count(audio.duration, fps=fps)`` entries.

- Loudness is the RMS level of the window in dBFS (a full-scale sine reads -3 dB),
  from one cumulative sum of squares: linear in the audio length.
- Pitch is YIN (de Cheveigné & Kawahara, 2002) on the audio resampled to 8 kHz, all
  frames of a batch at once: the difference function
  ``d(tau) = sum_j (x[j] - x[j + tau])**2`` comes from FFT cross-correlations and
  running energies, is divided by its cumulative mean, and the period is the first
  local minimum below ``YIN_THRESHOLD`` (the global minimum if there is none),
  refined by parabolic interpolation. A frame is voiced when that minimum is deep
  and the frame is not silent.
- Voice activity compares loudness with a threshold ``VAD_MARGIN_DB`` above the
  noise floor (a low percentile of the frame levels), never below ``VAD_MIN_DB``;
  blips shorter than ``VAD_MIN_SPEECH`` are dropped and each speech run is held
  for ``VAD_HANGOVER``. A steady sound (silence, hiss, hum, a tone) has no frames
  above its own floor, so it is never speech.
- Log mel spectra (:func:`log_mel`) are framed on their own, as speech recognizers
  frame them: a 25 ms Hann window every 10 ms from the first sample.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import InputError
from ..timebase import frame_count
from ..types import Audio
from .resample import resample

LOUDNESS_WINDOW = 0.025  # s, shortest RMS window (longer when frames are longer)
FLOOR_DB = -100.0  # dBFS, level reported for digital silence

PITCH_RATE = 8_000  # Hz, rate pitch is analysed at; enough for f0 up to 1 kHz
PITCH_WINDOW = 0.025  # s, shortest YIN integration window (at least the longest period)
YIN_THRESHOLD = 0.15  # first normalised-difference dip below this is the period
VOICED_THRESHOLD = 0.35  # a frame whose best dip is above this is unvoiced
VOICED_MIN_DB = -60.0  # dBFS, frames quieter than this are unvoiced
PITCH_BATCH = 2048  # frames analysed together; bounds memory on long audio

VAD_FLOOR_PERCENTILE = 10  # %, frame level taken as the noise floor
VAD_MARGIN_DB = 10.0  # dB above the noise floor that counts as speech
VAD_MAX_FLOOR_DB = -40.0  # dBFS, highest noise floor assumed under a modulated sound
VAD_MIN_MODULATION_DB = 6.0  # dB between quiet and loud frames that marks speech-like sound
VAD_MIN_DB = -60.0  # dBFS, nothing quieter is speech
VAD_MIN_SPEECH = 0.05  # s, shorter bursts are clicks, not speech
VAD_HANGOVER = 0.2  # s, speech is held this long after the level drops

MEL_BANDS = 40  # triangular filters between MEL_LOW and MEL_HIGH, equally spaced in mels
MEL_LOW, MEL_HIGH = 60.0, 7600.0  # Hz
MEL_RATE = 16_000  # Hz, the sample rate log mel spectra are taken at
MEL_WINDOW, MEL_HOP, MEL_FFT = 400, 160, 512  # samples: 25 ms every 10 ms


def loudness(audio: Audio, *, fps: float = 100) -> np.ndarray:
    """RMS level of each frame in dBFS.

    Parameters
    ----------
    audio : Audio
    fps : float > 0, frames per second

    Returns
    -------
    level : np.ndarray [shape=(frame_count(audio.duration, fps=fps),), dtype=float32]
        dBFS over a window of ``max(1 / fps, 25 ms)`` centred on each frame, at least
        ``FLOOR_DB``; a full-scale sine reads -3.01.

    Examples
    --------
    >>> t = np.arange(16_000) / 16_000
    >>> loudness(Audio(np.sin(2 * np.pi * 440 * t)), fps=10).round(1)[:3]
    array([-3., -3., -3.], dtype=float32)
    """
    _check(audio, fps)
    centres = _frame_centres(audio, fps, audio.sample_rate)
    half = max(1 / fps, LOUDNESS_WINDOW) * audio.sample_rate / 2
    return _window_levels(audio.samples, centres, half, total=len(audio.samples))


def _window_levels(x: np.ndarray, centres: np.ndarray, half: float, *, total: int, start: int = 0) -> np.ndarray:
    """dBFS of windows ``centres +- half`` (samples of the whole audio, ``total`` long) over
    ``x``, which holds its samples from ``start`` on; one cumulative sum of squares."""
    lo = np.clip(np.round(centres - half), 0, total).astype(np.int64) - start
    hi = np.clip(np.round(centres + half), 0, total).astype(np.int64) - start
    energy = np.zeros(len(x) + 1)
    np.cumsum(np.square(x, dtype=np.float64), out=energy[1:])
    # Differences of a running sum can dip just below zero; windows cut by the ends of
    # the audio are averaged over the samples they hold.
    power = np.maximum(energy[hi] - energy[lo], 0.0) / np.maximum(hi - lo, 1)
    return (10 * np.log10(np.maximum(power, 10 ** (FLOOR_DB / 10)))).astype(np.float32)


def pitch(audio: Audio, *, fps: float = 100, fmin: float = 60, fmax: float = 500) -> tuple[np.ndarray, np.ndarray]:
    """Fundamental frequency of each frame (YIN).

    Parameters
    ----------
    audio : Audio
    fps : float > 0, frames per second
    fmin, fmax : float, Hz, with ``0 < fmin < fmax <= 1000``
        Range searched for the fundamental.

    Returns
    -------
    f0 : np.ndarray [shape=(frame_count(audio.duration, fps=fps),), dtype=float32]
        Hz, 0 where unvoiced.
    voiced : np.ndarray [shape=(frame_count(audio.duration, fps=fps),), dtype=bool]

    Examples
    --------
    >>> t = np.arange(16_000) / 16_000
    >>> f0, voiced = pitch(Audio(0.5 * np.sin(2 * np.pi * 150 * t)), fps=10)
    >>> f0.round().tolist(), bool(voiced.all())
    ([150.0, 150.0, 150.0, 150.0, 150.0, 150.0, 150.0, 150.0, 150.0, 150.0], True)
    """
    _check(audio, fps)
    if not 0 < fmin < fmax <= PITCH_RATE / 8:
        raise InputError(f"Pitch range must be 0 < fmin < fmax <= 1000 Hz, got {fmin}..{fmax}.")
    x = audio.samples
    if len(x):
        x = resample(x, from_rate=audio.sample_rate, to_rate=PITCH_RATE)
    min_lag = int(np.floor(PITCH_RATE / fmax))
    max_lag = int(np.ceil(PITCH_RATE / fmin))
    width = max(max_lag, round(PITCH_WINDOW * PITCH_RATE))  # integration window W, samples
    span = width + max_lag + 2  # samples one frame reads: lags up to max_lag + 1
    # Frames reach past both ends of the audio: read zeros there (index span = sample 0).
    starts = np.round(_frame_centres(audio, fps, PITCH_RATE) - span / 2).astype(np.int64) + span
    padded = np.zeros(max(starts[-1], len(x)) + 2 * span, np.float32)
    padded[span : span + len(x)] = x
    windows = np.lib.stride_tricks.sliding_window_view(padded, span)
    f0 = np.zeros(len(starts), np.float32)
    voiced = np.zeros(len(starts), bool)
    for b in range(0, len(starts), PITCH_BATCH):
        batch = slice(b, b + PITCH_BATCH)
        f0[batch], voiced[batch] = _yin(windows[starts[batch]], width, min_lag, max_lag)
    return np.where(voiced, f0, 0).astype(np.float32), voiced


def _yin(frames: np.ndarray, width: int, min_lag: int, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """YIN on each row of ``frames`` [shape=(T, W + max_lag + 2)] -> f0 [T] Hz, voiced [T]."""
    t, span = frames.shape
    lags = np.arange(max_lag + 2)
    from scipy import fft  # imported here: scipy costs start-up time the animate path does not need

    size = fft.next_fast_len(span, real=True)
    # cross[:, tau] = sum_{j < W} x[j] x[j + tau]; no wrap-around because size >= span
    spectrum = np.conj(fft.rfft(frames[:, :width], size)) * fft.rfft(frames, size)
    cross = fft.irfft(spectrum, size)[:, : max_lag + 2]  # [T, max_lag + 2]
    energy = np.zeros((t, span + 1), np.float64)
    np.cumsum(np.square(frames, dtype=np.float64), axis=1, out=energy[:, 1:])
    shifted = energy[:, lags + width] - energy[:, lags]  # [T, max_lag + 2] sum_{j<W} x[j + tau]^2
    diff = np.maximum(shifted[:, :1] + shifted - 2 * cross, 0.0)  # d(tau)
    # Cumulative-mean normalisation: d'(0) = 1, d'(tau) = d(tau) * tau / sum_{k=1..tau} d(k).
    running = np.cumsum(diff[:, 1:], axis=1)
    norm = np.ones_like(diff)
    norm[:, 1:] = diff[:, 1:] * lags[1:] / np.maximum(running, 1e-12)
    search = norm[:, min_lag - 1 : max_lag + 2]  # one lag of context either side
    centre = search[:, 1:-1]  # lags min_lag..max_lag
    is_dip = (centre <= search[:, :-2]) & (centre < search[:, 2:]) & (centre < YIN_THRESHOLD)
    best = np.where(is_dip.any(axis=1), is_dip.argmax(axis=1), centre.argmin(axis=1))
    rows = np.arange(t)
    # Interpolate the raw difference: it is near-parabolic at its minimum, while the
    # normalised one is skewed by its running mean (a bias of ~0.2 % at 440 Hz).
    before, at, after = (diff[rows, best + min_lag + k - 1] for k in range(3))
    curvature = before - 2 * at + after
    offset = np.divide(0.5 * (before - after), curvature, out=np.zeros(t), where=curvature > 0)
    period = best + min_lag + np.clip(offset, -1, 1)
    power = shifted[:, 0] / width
    voiced = (centre[rows, best] < VOICED_THRESHOLD) & (power > 10 ** (VOICED_MIN_DB / 10))
    return PITCH_RATE / period, voiced


def voice_activity(audio: Audio, *, fps: float = 100) -> np.ndarray:
    """Whether each frame holds speech (or any sound well above the noise floor).

    Parameters
    ----------
    audio : Audio
    fps : float > 0, frames per second

    Returns
    -------
    active : np.ndarray [shape=(frame_count(audio.duration, fps=fps),), dtype=bool]
        All False for silence or for a steady sound; speech without pauses is active
        throughout.

    Examples
    --------
    >>> t = np.arange(16_000) / 16_000
    >>> tone = 0.3 * np.sin(2 * np.pi * 200 * t)
    >>> active = voice_activity(Audio(np.concatenate([tone, 0 * tone, tone])), fps=10)
    >>> active.astype(int).tolist()
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    """
    return active_frames(loudness(audio, fps=fps), fps=fps)


def active_frames(level: np.ndarray, *, fps: float, floor_db: float | None = None) -> np.ndarray:
    """Voice activity (see :func:`voice_activity`) of frames with these loudness levels.

    Parameters
    ----------
    level : np.ndarray [shape=(T,)], dBFS per frame (:func:`loudness`)
    fps : float > 0, frames per second
    floor_db : float or None
        The noise floor; by default :func:`noise_floor` of ``level``. A live stream
        passes the floor of all it has heard while it judges its latest frames.

    Returns
    -------
    active : np.ndarray [shape=(T,), dtype=bool]
    """
    floor = noise_floor(level) if floor_db is None else floor_db
    loud = level > max(VAD_MIN_DB, floor + VAD_MARGIN_DB)
    loud = _without_short_runs(loud, max(1, round(VAD_MIN_SPEECH * fps)))
    # Hangover: a frame is active if any of the last `hold` frames (itself included) was loud.
    hold = max(1, round(VAD_HANGOVER * fps)) + 1
    count = np.concatenate([[0], np.cumsum(loud)])
    index = np.arange(len(loud))
    return (count[index + 1] - count[np.maximum(index + 1 - hold, 0)]) > 0


def _without_short_runs(flags: np.ndarray, shortest: int) -> np.ndarray:
    """``flags`` with the runs of True shorter than ``shortest`` frames cleared (a binary
    opening).

    >>> _without_short_runs(np.array([1, 0, 1, 1, 1, 0, 1, 1], bool), 2).astype(int).tolist()
    [0, 0, 1, 1, 1, 0, 1, 1]
    """
    if shortest <= 1 or not flags.any():
        return flags
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    starts, ends = edges[::2], edges[1::2]
    out = np.zeros_like(flags)
    for start, end in zip(starts[ends - starts >= shortest], ends[ends - starts >= shortest]):
        out[start:end] = True
    return out


def noise_floor(level: np.ndarray) -> float:
    """The noise floor under frames with these loudness levels, dBFS: their 10th percentile,
    at most ``VAD_MAX_FLOOR_DB`` when they rise and fall like syllables."""
    if len(level) == 0:
        return FLOOR_DB
    floor, high = np.percentile(level, [VAD_FLOOR_PERCENTILE, 100 - VAD_FLOOR_PERCENTILE])
    if high - floor >= VAD_MIN_MODULATION_DB:
        # A loud sound that rises and falls like syllables may be speech without pauses,
        # whose 10th percentile is speech too, not noise: the floor estimate is capped.
        floor = min(floor, VAD_MAX_FLOOR_DB)
    return float(floor)


def log_mel(samples: np.ndarray) -> np.ndarray:
    """Log mel power spectra of 16 kHz samples, frame ``i`` windowed from sample ``160 * i``
    (every whole window: none for fewer than 400 samples).

    >>> log_mel(np.zeros(16_000, np.float32)).shape
    (98, 40)
    """
    samples = np.asarray(samples, np.float32)
    frames = max(0, (len(samples) - MEL_WINDOW) // MEL_HOP + 1)
    starts = MEL_HOP * np.arange(frames)
    windows = samples[starts[:, None] + np.arange(MEL_WINDOW)] * _hann(MEL_WINDOW)
    power = np.abs(np.fft.rfft(windows, MEL_FFT)) ** 2
    return np.log(power @ _mel_filters().T + 1e-8)


@functools.cache
def _hann(length: int) -> np.ndarray:
    return np.hanning(length).astype(np.float32)


@functools.cache
def _mel_filters() -> np.ndarray:
    """[MEL_BANDS, MEL_FFT // 2 + 1] triangular filters on the FFT's bins."""

    def mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    edges = 700.0 * (10 ** (np.linspace(mel(np.array(MEL_LOW)), mel(np.array(MEL_HIGH)), MEL_BANDS + 2) / 2595.0) - 1)
    bins = np.fft.rfftfreq(MEL_FFT, 1 / MEL_RATE)
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.clip(np.minimum((bins - low) / (centre - low), (high - bins) / (high - centre)), 0.0, None)


class LevelMeter:
    """Loudness of a live stream at ``fps``, measured as its samples arrive: the values of
    :func:`loudness` on the whole stream, each known once its window has arrived (12.5 ms
    after the frame's middle at 100 fps), the last ones when the stream ends.

    Attributes
    ----------
    levels : np.ndarray, dBFS of the last ``keep_seconds`` of frames measured
    first : int, index in the stream of ``levels[0]``
    """

    def __init__(self, *, fps: float = 100, sample_rate: int = 16_000, keep_seconds: float = 60.0) -> None:
        self.fps, self.sample_rate = fps, sample_rate
        self._half = max(1 / fps, LOUDNESS_WINDOW) * sample_rate / 2
        self._keep = max(1, round(keep_seconds * fps))
        self._buffer = np.zeros(0, np.float32)  # the samples from `_buffer_start` on
        self._buffer_start = 0
        self._received = 0
        self.levels = np.zeros(0, np.float32)
        self.first = 0

    @property
    def measured(self) -> int:
        """Frames measured so far."""
        return self.first + len(self.levels)

    def add(self, samples: np.ndarray) -> None:
        """Take the next samples and measure the frames whose windows they complete."""
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, np.float32)])
        self._received += len(samples)
        ready = int(np.floor((self._received - self._half) * self.fps / self.sample_rate - 0.5))  # last whole window
        self._measure(ready + 1)

    def finish(self) -> None:
        """Measure the frames up to the end of the stream, their windows cut short there."""
        self._measure(frame_count(self._received / self.sample_rate, fps=self.fps) if self._received else 0)

    def _measure(self, until: int) -> None:
        start = self.measured
        if until <= start:
            return
        centres = (np.arange(start, until) + 0.5) * self.sample_rate / self.fps
        new = _window_levels(self._buffer, centres, self._half, total=self._received, start=self._buffer_start)
        self.levels = np.concatenate([self.levels, new])
        if len(self.levels) > self._keep:
            self.first += len(self.levels) - self._keep
            self.levels = self.levels[-self._keep :]
        # keep the samples the next frame's window starts at
        next_lo = max(0, int(np.round((until + 0.5) * self.sample_rate / self.fps - self._half)))
        drop = min(max(0, next_lo - self._buffer_start), len(self._buffer))
        self._buffer = self._buffer[drop:]
        self._buffer_start += drop


def _check(audio: Audio, fps: float) -> None:
    if not isinstance(audio, Audio):
        raise InputError(f"Expected mouthpiece.types.Audio, got {type(audio).__name__}.")
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(f"Frames per second must be a positive number, got {fps!r}.")


def _frame_centres(audio: Audio, fps: float, rate: float) -> np.ndarray:
    """Centre of each frame, in samples at ``rate`` [shape=(frame_count,), float64]."""
    frames = frame_count(audio.duration, fps=fps)
    return (np.arange(frames) + 0.5) * rate / fps
