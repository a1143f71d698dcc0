"""Real talking-face footage as the measure of mouth motion: the clips, the mouth seen in
them, and predictions scored against it.

The clips are every video of ``../shared/fixtures/video`` (six, each its own speaker)
and ``../shared/fixtures/realdev`` (sixteen, eleven speakers; see its README): 22 clips
of 17 people speaking on camera with their own voice. In each video frame the mouth seen
is the truth for the speech heard:

    opening = mean 3D distance of MediaPipe pairs 13-14, 82-87, 312-317 (the inner lips)
              / 3D distance of 33-263 (the outer eye corners)

measured on the raw (unsmoothed) landmarks of the project's face tracker, frames without
a face being NaN. Frame ``k`` of a clip is the picture shown over ``[t_k, t_k + 1/fps)``,
``t_k`` on the clock of the clip's audio. A prediction from the audio meets those frames
through :func:`curve_on_frames` (a curve sampled at least ``BOX_AVERAGE_RATIO`` times the
video's rate is averaged over each frame's interval, a slower one interpolated linearly
at ``t_k``) or :func:`cues_on_frames` (mouth cues through the openness table of
``../shared/eval/score.py``), and is scored by Pearson r (:func:`pearson_at_lag`,
:func:`best_lag`). Anything fitted on these clips is judged
:func:`leave_one_speaker_out`, or the figure measures memory, not skill.

Measuring the mouth decodes every frame and runs the face mesh on it (a few minutes for
all 22 clips on two cores), so :func:`observe_mouth` keeps each clip's result in
``~/.cache/mouthpiece-bench/real_mouths/``, keyed by the file's name, size and mtime.

    from real_footage import list_clips, observe_mouth, curve_on_frames, pearson_at_lag
    for clip in list_clips():
        mouth = observe_mouth(clip.path)
        jaw = curve_on_frames(animation.channel("JawOpen"), fps=animation.fps, frames=mouth)
        r0 = pearson_at_lag(jaw, mouth.opening, 0)

Reads ../shared (third-party footage: measure and fit with it here, never ship it).
Nothing here prints.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from mouthpiece import api
from mouthpiece.face.seen import inner_lip_opening  # the measure `mouthpiece style` fits to
from mouthpiece.face.track import FaceTracker
from mouthpiece.render.reader import probe_video, read_frames
from mouthpiece.types import Audio

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
CACHE = Path.home() / ".cache" / "mouthpiece-bench" / "real_mouths"
CACHE_VERSION = 1  # bump when the measurement changes: older cache files are then ignored

# Rhubarb's mouth shapes -> openness, as ../shared/eval/score.py scores them (X: the rest position).
OPENNESS = {"X": 0.0, "A": 0.0, "B": 0.25, "G": 0.3, "F": 0.35, "E": 0.5, "H": 0.5, "C": 0.75, "D": 1.0}
BOX_AVERAGE_RATIO = 1.5  # a curve this many times the video's rate, or more, is averaged over each frame
MAX_LAG = 10  # frames either way that best_lag searches

P = TypeVar("P")


@dataclass(frozen=True)
class Clip:
    """One clip of real footage: one speaker, speaking on camera with their own voice."""

    name: str  # the file's stem, e.g. "rd12_deepavsr_lrs2_00001"
    path: Path  # the video file (H.264 + AAC)
    speaker: str  # speaker id; clips of one person share it
    language: str  # "English", "French", "German" or "unknown" (none verified by listening)
    transcript: str | None  # what is said, where the source gives it


@dataclass(frozen=True)
class ObservedMouth:
    """The mouth opening seen in each frame of a video."""

    fps: float  # the video's frame rate
    times: np.ndarray  # [shape=(N,)] s, when each frame starts showing, on the audio's clock
    opening: np.ndarray  # [shape=(N,)] inner-lip gap / eye-corner distance; NaN where no face is seen

    @property
    def seen(self) -> np.ndarray:
        """[shape=(N,), dtype=bool] the frames where the face was found."""
        return ~np.isnan(self.opening)

    @property
    def frame_count(self) -> int:
        return len(self.opening)


@dataclass(frozen=True)
class LeaveOneSpeakerOut:
    """Scores of a fitted thing, each clip scored by what was fitted without its speaker."""

    scores: dict[str, float]  # clip name -> score, in the clips' order
    speakers: dict[str, str]  # clip name -> speaker id

    @property
    def mean(self) -> float:
        """Mean over clips (NaN scores left out)."""
        return float(np.nanmean(list(self.scores.values()))) if self.scores else float("nan")

    @property
    def speaker_mean(self) -> float:
        """Mean over speakers of each speaker's mean over their clips."""
        by_speaker: dict[str, list[float]] = {}
        for name, score in self.scores.items():
            by_speaker.setdefault(self.speakers[name], []).append(score)
        return float(np.nanmean([np.nanmean(v) for v in by_speaker.values()])) if by_speaker else float("nan")


def list_clips(fixtures: str | os.PathLike[str] = FIXTURES) -> list[Clip]:
    """Every clip of ``fixtures/video`` and ``fixtures/realdev``, in that order, by file name.

    Parameters
    ----------
    fixtures : path of ``../shared/fixtures``

    Returns
    -------
    list of Clip
        Speakers from ``realdev/MANIFEST.csv`` (a ``video/`` clip is its own speaker, its
        id the file name's first part, e.g. ``vid01``); languages from the manifests'
        first word; transcripts from the ``.txt`` files the realdev manifest names.
    """
    root = Path(fixtures)
    clips = []
    for row in _manifest(root / "MANIFEST.csv"):
        if row.get("kind") == "video":
            path = root / row["file"]
            clips.append(Clip(path.stem, path, path.stem.split("_")[0], _language(row["language"]), None))
    realdev = root / "realdev"
    for row in _manifest(realdev / "MANIFEST.csv"):
        path = realdev / row["file"]
        text = (realdev / row["transcript"]).read_text(encoding="utf-8").strip() if row.get("transcript") else None
        clips.append(Clip(path.stem, path, row["speaker"], _language(row["language"]), text or None))
    return sorted(clips, key=lambda c: (not c.name.startswith("vid"), c.name))


def _manifest(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _language(described: str) -> str:
    """The language a manifest names first ("English (CNN broadcast; ...)" -> "English")."""
    word = described.strip().split()[0].strip(",;()") if described.strip() else "unknown"
    return word if word in ("English", "French", "German") else "unknown"


# The language a user names for each clip (``--language``), so German and French are heard
# by the recognizer made for them. Clips of no stated language are taken as English, as the
# default does.
LANGUAGE_CODES = {"English": "en-us", "German": "de", "French": "fr"}


def spoken_in(clip: Clip) -> str:
    return LANGUAGE_CODES.get(clip.language, "en-us")


def load_clip_audio(clip: Clip) -> Audio:
    """The clip's own soundtrack, 16 kHz mono (``api.load_audio``)."""
    return api.load_audio(clip.path)


def measure_mouth(path: str | os.PathLike[str]) -> ObservedMouth:
    """The mouth opening in every frame of a video, uncached (see :func:`observe_mouth`).

    The largest face is followed (``FaceTracker``, unsmoothed: a smoothing filter would
    delay the mouth); frames are read at the video's constant rate. Frame ``i`` is at
    ``i / fps`` on the clock ``api.load_audio`` reads the file's audio on (its first
    frame's time is 0).

    Parameters
    ----------
    path : a video file

    Returns
    -------
    ObservedMouth
    """
    info = probe_video(path)
    with FaceTracker() as tracker:
        opening = [np.nan if (face := tracker(frame)) is None else inner_lip_opening(face)
                   for frame in read_frames(path, fps=info.fps)]  # fmt: skip
    times = np.arange(len(opening)) / info.fps
    return ObservedMouth(fps=info.fps, times=times, opening=np.array(opening, np.float64))


def observe_mouth(path: str | os.PathLike[str], *, cache: str | os.PathLike[str] | None = CACHE) -> ObservedMouth:
    """:func:`measure_mouth` of a clip, kept in ``cache`` (None: not kept) by its name, size and mtime."""
    if cache is None:
        return measure_mouth(path)
    stat = os.stat(path)
    key = Path(cache) / f"{Path(path).name}-{stat.st_size}-{stat.st_mtime_ns}-v{CACHE_VERSION}.npz"
    if key.exists():
        with np.load(key) as saved:
            return ObservedMouth(fps=float(saved["fps"]), times=saved["times"], opening=saved["opening"])
    mouth = measure_mouth(path)
    key.parent.mkdir(parents=True, exist_ok=True)
    partial = key.with_name(key.stem + f".{os.getpid()}.tmp.npz")
    np.savez(partial, fps=mouth.fps, times=mouth.times, opening=mouth.opening)
    os.replace(partial, key)
    return mouth


def curve_on_frames(values: np.ndarray, *, fps: float, frames: ObservedMouth) -> np.ndarray:
    """A curve sampled at ``fps`` (sample ``i`` showing over ``[i/fps, (i+1)/fps)``) on the video's frames.

    At ``fps >= BOX_AVERAGE_RATIO * frames.fps`` each frame gets the curve's mean over the
    frame's interval ``[t_k, t_k + 1/frames.fps)`` (samples weighted by their overlap);
    otherwise the curve is interpolated linearly at ``t_k``. Past either end the curve
    holds its first or last value.

    Parameters
    ----------
    values : np.ndarray [shape=(T,)], e.g. an Animation's JawOpen
    fps : float > 0, the curve's sample rate
    frames : ObservedMouth, the frames to sample it onto

    Returns
    -------
    np.ndarray [shape=(N,), dtype=float64]

    >>> frames = ObservedMouth(fps=25.0, times=np.array([0.0, 0.04]), opening=np.zeros(2))
    >>> curve_on_frames(np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]), fps=100.0, frames=frames).tolist()
    [1.5, 4.75]
    >>> curve_on_frames(np.array([0.0, 1.0]), fps=30.0, frames=frames).tolist()
    [0.0, 1.0]
    """
    values = np.asarray(values, np.float64)
    if len(values) == 0:
        return np.full(frames.frame_count, np.nan)
    knots = np.arange(len(values)) / fps
    if fps >= BOX_AVERAGE_RATIO * frames.fps:
        return _step_mean(knots, values, frames.times, 1.0 / frames.fps)
    return np.interp(frames.times, knots, values)


def cues_on_frames(cues: Sequence[tuple[float, str]], *, frames: ObservedMouth) -> np.ndarray:
    """Mouth cues as openness (``OPENNESS``), averaged over each frame's interval.

    Parameters
    ----------
    cues : sequence of (start s, shape), Rhubarb's TSV: a cue lasts until the next one, the
        last until the end; before the first the mouth is X
    frames : ObservedMouth, the frames to sample onto

    Returns
    -------
    np.ndarray [shape=(N,), dtype=float64]

    >>> frames = ObservedMouth(fps=10.0, times=np.array([0.0, 0.1, 0.2]), opening=np.zeros(3))
    >>> cues_on_frames([(0.05, "D"), (0.2, "X")], frames=frames).round(6).tolist()
    [0.5, 1.0, 0.0]
    """
    ordered = sorted(cues, key=lambda cue: cue[0])
    knots = np.array([min(0.0, ordered[0][0] if ordered else 0.0) - 1.0] + [t for t, _ in ordered])
    values = np.array([OPENNESS["X"]] + [OPENNESS[shape] for _, shape in ordered])
    return _step_mean(knots, values, frames.times, 1.0 / frames.fps)


def read_tsv_cues(text: str) -> list[tuple[float, str]]:
    """Cues of Rhubarb's TSV (``start<TAB>shape`` lines; blank and ``#`` lines skipped).

    >>> read_tsv_cues("0.00\\tX\\n0.20\\tD\\n0.50\\tX\\n")
    [(0.0, 'X'), (0.2, 'D'), (0.5, 'X')]
    """
    cues = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith("#"):
            if parts[1] not in OPENNESS:
                raise ValueError(f"unknown mouth shape {parts[1]!r} in cue line {line!r}")
            cues.append((float(parts[0]), parts[1]))
    return cues


def _step_mean(knots: np.ndarray, values: np.ndarray, starts: np.ndarray, width: float) -> np.ndarray:
    """Mean over ``[s, s + width)`` of the step function that is ``values[i]`` from ``knots[i]`` (sorted) on,
    ``values[0]`` before: its integral is piecewise linear between the knots, so interpolation is exact."""
    span = max(float(starts.max(initial=0.0)) + width, float(knots[-1])) + 1.0
    edges = np.concatenate([knots, [span]])
    integral = np.concatenate([[0.0], np.cumsum(values * np.diff(edges))])
    starts = np.asarray(starts, np.float64)
    below = np.minimum(starts - knots[0], 0.0) * values[0]  # before the first knot the first value holds
    low = np.interp(starts, edges, integral) + below
    high = np.interp(starts + width, edges, integral) + np.minimum(starts + width - knots[0], 0.0) * values[0]
    return (high - low) / width


def pearson_at_lag(predicted: np.ndarray, observed: np.ndarray, lag: int = 0) -> float:
    """Pearson r of ``predicted[t + lag]`` against ``observed[t]`` over the frames both have.

    A positive ``lag`` compares the prediction's later frames with the mouth: a prediction
    that runs ``L`` frames late scores best at ``lag = L``. Frames where either is NaN are
    left out; arrays of different lengths are compared over the shorter.

    Returns
    -------
    float : NaN when fewer than 3 frames remain or either side is constant there

    >>> x = np.sin(np.arange(50) / 3.0)
    >>> round(pearson_at_lag(np.roll(x, 2), x, 2), 6)
    1.0
    """
    p, o = np.asarray(predicted, np.float64), np.asarray(observed, np.float64)
    if lag >= 0:
        p = p[lag:]
    else:
        o = o[-lag:]
    n = min(len(p), len(o))
    p, o = p[:n], o[:n]
    keep = ~(np.isnan(p) | np.isnan(o))
    p, o = p[keep], o[keep]
    if len(p) < 3 or np.ptp(p) == 0 or np.ptp(o) == 0:
        return float("nan")
    return float(np.corrcoef(p, o)[0, 1])


def best_lag(predicted: np.ndarray, observed: np.ndarray, *, max_lag: int = MAX_LAG) -> tuple[int, float]:
    """The lag in ``-max_lag..max_lag`` frames with the highest :func:`pearson_at_lag`, and that r.

    Ties go to the smallest shift; (0, NaN) when no lag gives a number.

    >>> x = np.sin(np.arange(80) / 4.0)
    >>> lag, r = best_lag(np.roll(x, -3), x)
    >>> lag, round(r, 6)
    (-3, 1.0)
    """
    best, best_r = 0, float("nan")
    for lag in sorted(range(-max_lag, max_lag + 1), key=abs):
        r = pearson_at_lag(predicted, observed, lag)
        if not np.isnan(r) and (np.isnan(best_r) or r > best_r):
            best, best_r = lag, r
    return best, best_r


def leave_one_speaker_out(
    clips: Sequence[Clip], fit: Callable[[list[Clip]], P], score: Callable[[P, Clip], float]
) -> LeaveOneSpeakerOut:
    """Fit on all speakers but one, score that one's clips; once for every speaker.

    Parameters
    ----------
    clips : the clips to judge on (e.g. :func:`list_clips`)
    fit : called with the clips of all other speakers; returns whatever was fitted
    score : called with what was fitted and one held-out clip; returns its score (e.g. r0)

    Returns
    -------
    LeaveOneSpeakerOut : per-clip scores; ``.mean`` over clips, ``.speaker_mean`` over speakers

    >>> clips = [Clip(n, Path(n), s, "English", None) for n, s in [("a", "x"), ("b", "x"), ("c", "y")]]
    >>> result = leave_one_speaker_out(clips, lambda train: len(train), lambda fitted, clip: float(fitted))
    >>> result.scores, result.mean
    ({'a': 1.0, 'b': 1.0, 'c': 2.0}, 1.3333333333333333)
    """
    speakers = list(dict.fromkeys(c.speaker for c in clips))
    scores: dict[str, float] = {}
    for speaker in speakers:
        fitted = fit([c for c in clips if c.speaker != speaker])
        for clip in clips:
            if clip.speaker == speaker:
                scores[clip.name] = float(score(fitted, clip))
    ordered = {c.name: scores[c.name] for c in clips}
    return LeaveOneSpeakerOut(scores=ordered, speakers={c.name: c.speaker for c in clips})


@dataclass(frozen=True)
class PairedDifference:
    """One path's score minus another's, clip by clip, over the clips both scored."""

    mean: float  # mean over those clips
    low: float  # 95 % interval of the mean, speakers resampled
    high: float
    clips: int
    speakers: int


def paired_difference(
    base: dict[str, float], other: dict[str, float], speakers: dict[str, str], *, draws: int = 10_000, seed: int = 0
) -> PairedDifference:
    """``other - base`` (clip name -> score each), with a bootstrap interval that resamples
    speakers, not clips: one speaker's clips are not independent evidence. Clips missing
    from either side or scored NaN are left out.

    >>> speakers = {"a": "x", "b": "x", "c": "y"}
    >>> d = paired_difference({"a": 0.5, "b": 0.4, "c": 0.3}, {"a": 0.6, "b": 0.5, "c": 0.2}, speakers)
    >>> round(d.mean, 3), d.clips, d.speakers, d.low <= d.mean <= d.high
    (0.033, 3, 2, True)
    """
    names = [n for n in base if n in other and not np.isnan(base[n]) and not np.isnan(other[n])]
    if not names:
        return PairedDifference(float("nan"), float("nan"), float("nan"), 0, 0)
    by_speaker: dict[str, list[float]] = {}
    for name in names:
        by_speaker.setdefault(speakers[name], []).append(other[name] - base[name])
    sums = np.array([sum(v) for v in by_speaker.values()])
    counts = np.array([len(v) for v in by_speaker.values()])
    drawn = np.random.default_rng(seed).integers(0, len(sums), (draws, len(sums)))
    means = sums[drawn].sum(1) / counts[drawn].sum(1)
    low, high = np.percentile(means, [2.5, 97.5])
    return PairedDifference(float(sums.sum() / counts.sum()), float(low), float(high), len(names), len(sums))


def control_pairs(items: Sequence[Any]) -> list[tuple[Any, Any]]:
    """Each item with the next one (the last with the first): whose prediction meets whose mouth
    in the chance-level control. Fewer than two items give no pairs."""
    return [(items[i], items[(i + 1) % len(items)]) for i in range(len(items))] if len(items) > 1 else []
