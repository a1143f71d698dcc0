"""The jaw heard as well as read: how wide the mouth opens, from the phones' curves and the
sound itself, by a linear filter fitted on real talking-face footage.

Phones say which sounds come, not how wide a person opens for each, and a recognizer
unsure of real speech says even less; the sound carries much of it (louder, more open
vowels; the formants of an open jaw). So the jaw's opening is predicted from both, per
10 ms frame:

1. Features: the phonetic curves' mouth channels (:data:`OpeningModel.channels`) and the
   40 log mel bands, each band minus its running mean (an exponential average over
   ``ema_seconds``, begun at the training footage's mean, so a stream computes the same),
   taken at ``taps`` from 200 ms before the frame to 60 ms after it: the filter learns
   when the mouth moves against the sound (the lips close before a /b/ is heard), and a
   stream can apply it with 60 ms of lookahead.
2. A ridge regression (``training/fit_opening.py``, fitted on the 22 real clips of
   ``../shared/fixtures`` and judged leave-one-speaker-out) maps the standardized features
   to the speaker's opening in standard units, ``z``.
3. ``JawOpen = clip(jaw_mean + jaw_spread * z)``, the phonetic curves' own typical level
   and spread, blended back into the phonetic JawOpen by the closure weight of P/B/M
   (their lips still meet).

The model is a small ``.npz`` in the package (:data:`MODEL_FILE`, its card ``MODEL_CARD.md``
beside it); :func:`using` swaps in
another, as the leave-one-speaker-out benchmark does (in a server it starts, through
the environment variable :data:`MODEL_VARIABLE`).
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from ..audio.features import MEL_HOP, MEL_WINDOW, log_mel
from ..errors import InputError
from ..timebase import advance
from ..types import SAMPLE_RATE, Animation
from ..vocabulary import CHANNEL_INDEX, VISEMES
from . import rules

if TYPE_CHECKING:
    from ..neural.model import FrontEndOutput, FrontEndStream

MODEL_FILE = Path(__file__).parent / "opening.npz"
MODEL_VARIABLE = "MOUTHPIECE_OPENING_MODEL"  # a file to use instead (a benchmark's held-out filter, in a server)
FEATURE_RATE = SAMPLE_RATE / MEL_HOP  # frames a second (100)
CENTRE = MEL_WINDOW / 2 / SAMPLE_RATE  # s, from a feature frame's start to its window's centre
LIPS_FOLLOWING = ("MouthLowerDownLeft", "MouthLowerDownRight")
LIP_FOLLOW = 0.5  # of a change of JawOpen that the lower lip follows (the open "aa": JawOpen .62, LowerDown .30)
OPEN, CLOSED = 0.2, 0.5  # P/B/M viseme weights below which the heard jaw holds, from which the phones' does


@dataclass(frozen=True)
class OpeningModel:
    channels: tuple[str, ...]  # curve channels used as features
    taps: np.ndarray  # [K] int, feature frames relative to the predicted one (100 per second)
    weights: np.ndarray  # [K * F] float, ridge weights on the standardized features
    mean: np.ndarray  # [K * F] feature means of the footage it was fitted on
    std: np.ndarray  # [K * F] their standard deviations
    mel_prior: np.ndarray  # [40] mean log mel spectrum the running mean starts from
    ema_seconds: float  # s, time constant of each band's running mean
    jaw_mean: float  # JawOpen of z = 0
    jaw_spread: float  # JawOpen per standard unit of z
    card: str = ""  # what it was fitted on and how it scored (JSON)
    hidden: int = 0  # channels of the learned front end's last hidden layer among the features (0: none)
    front_end: str = ""  # the fingerprint of the front end it was fitted to (neural.model.FrontEnd.fingerprint)

    @property
    def lookahead(self) -> float:
        """Seconds of speech past a frame that its opening depends on."""
        return max(0, int(self.taps.max())) / FEATURE_RATE

    def save(self, path: str | Path | BinaryIO) -> None:
        np.savez(path, channels=np.array(self.channels), taps=self.taps, weights=self.weights, mean=self.mean,
                 std=self.std, mel_prior=self.mel_prior,
                 scalars=np.array([self.ema_seconds, self.jaw_mean, self.jaw_spread]),
                 card=np.array(self.card), hidden=np.array(self.hidden),
                 front_end=np.array(self.front_end))  # fmt: skip

    @classmethod
    def load(cls, path: str | Path) -> OpeningModel:
        try:
            with np.load(path) as z:
                ema, jaw_mean, jaw_spread = (float(v) for v in z["scalars"])
                hidden = int(z["hidden"]) if "hidden" in z else 0  # files made before it listened to the front end
                front_end = str(z["front_end"]) if "front_end" in z else ""
                model = cls(tuple(str(c) for c in z["channels"]), z["taps"].astype(int), z["weights"], z["mean"],
                            z["std"], z["mel_prior"], ema, jaw_mean, jaw_spread, str(z["card"]), hidden,
                            front_end)  # fmt: skip
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise InputError(f"The opening model '{path}' cannot be read: {e}.") from None
        if len(model.weights) != len(model.taps) * (len(model.channels) + len(model.mel_prior) + model.hidden):
            raise InputError(f"The opening model '{path}' is inconsistent: its weights do not match its features.")
        return model

    def scores(self) -> dict[str, object]:
        return json.loads(self.card) if self.card else {}


_active: OpeningModel | None = None


def model() -> OpeningModel:
    """The model in use: the shipped one unless :func:`using` swapped it."""
    global _active
    if _active is None:
        _active = OpeningModel.load(os.environ.get(MODEL_VARIABLE) or MODEL_FILE)
    return _active


@contextlib.contextmanager
def using(other: OpeningModel) -> Iterator[None]:
    """Use ``other`` instead of the shipped model inside the ``with`` block."""
    global _active
    before, _active = _active, other
    try:
        yield
    finally:
        _active = before


def heard(samples: np.ndarray, opening: OpeningModel | None = None) -> np.ndarray:
    """What the filter (``opening``, or the one in use) hears of speech, 100 frames a second:
    [T, 40 + hidden], each log mel frame's deviation from the bands' running mean, and where
    the filter listens to it, the learned front end's last hidden layer (:mod:`mouthpiece.neural`:
    what it makes of the sound, in 96 numbers, before it names visemes). :class:`Hearing`
    computes the same a block at a time."""
    hearing = Hearing(opening)
    return np.concatenate([hearing(log_mel(samples)), hearing.finish()])


class Hearing:
    """:func:`heard`'s frames a block at a time, the running means carried from block to block:
    call it with log mel frames, or give it a stream's samples (:meth:`samples`), then
    :meth:`finish`. A frame comes once the front end has heard its lookahead (40 ms past it)."""

    def __init__(self, opening: OpeningModel | None = None) -> None:
        current = opening or model()
        self.mean = current.mel_prior.astype(np.float64).copy()
        self.frames = ema_frames(current.ema_seconds)
        self.seen = 0
        self.width = len(current.mel_prior) + current.hidden  # of each frame heard
        self._pending = np.zeros(0, np.float32)  # samples from the next frame's start
        self._front: FrontEndStream | None = None
        if current.hidden:
            from ..neural.model import FrontEndStream  # numpy only; loaded when a filter listens to it

            self._front = FrontEndStream()
            front = self._front.model
            if front.config.channels != current.hidden or current.front_end not in ("", front.fingerprint):
                raise InputError(
                    "The jaw's opening filter was fitted to another learned front end than the one in use "
                    "(neural/front_end.npz): refit it with python -m training.fit_opening."
                )
        self._waiting = np.zeros((0, len(current.mel_prior)), np.float32)  # bands whose hidden layer is due

    def __call__(self, spectra: np.ndarray) -> np.ndarray:
        out = running_deviation(spectra, mean=self.mean, frames=self.frames, seen=self.seen)
        self.seen += len(spectra)
        if self._front is None:
            return out
        return self._joined(out, self._front.push_mel(spectra))

    def finish(self) -> np.ndarray:
        """The frames still due at the speech's end (those the front end held for its lookahead)."""
        if self._front is None:
            return np.zeros((0, self.width), np.float32)
        return self._joined(self._waiting[:0], self._front.finish())

    def _joined(self, bands: np.ndarray, front: FrontEndOutput) -> np.ndarray:
        """The frames whose bands and hidden layer are both known: the bands wait for the front end."""
        assert front.hidden is not None
        self._waiting = np.concatenate([self._waiting, bands])
        n = len(front.hidden)
        out = np.concatenate([self._waiting[:n], front.hidden], 1)
        self._waiting = self._waiting[n:]
        return out

    def samples(self, samples: np.ndarray) -> np.ndarray:
        """The frames that ``samples`` (the stream's next block, any size) complete: the same
        frames, whatever the blocks, as :func:`heard` of the whole speech."""
        self._pending = np.concatenate([self._pending, np.asarray(samples, np.float32)])
        whole = (len(self._pending) - MEL_WINDOW) // MEL_HOP + 1
        if whole <= 0:
            return np.zeros((0, self.width), np.float32)
        rows = self(log_mel(self._pending[: (whole - 1) * MEL_HOP + MEL_WINDOW]))
        self._pending = self._pending[whole * MEL_HOP :]
        return rows


def ema_frames(seconds: float) -> int:
    return max(1, round(seconds * FEATURE_RATE))


def running_deviation(spectra: np.ndarray, *, mean: np.ndarray, frames: int, seen: int = 0) -> np.ndarray:
    """Each log mel frame minus the running mean of the frames before it; ``mean`` (float64,
    begun at a prior) is updated in place. The mean is the plain average of the first
    ``frames`` frames (the prior counting as one), then an exponential one over ``frames``:
    a recording far from the prior's level or colour is followed within a second, not ten.

    >>> running_deviation(np.ones((3, 2)), mean=np.zeros(2), frames=2)[:, 0]
    array([1.  , 0.5 , 0.25], dtype=float32)
    """
    out = np.empty(spectra.shape, np.float32)
    for i, row in enumerate(spectra):
        out[i] = row - mean
        mean += (row - mean) / min(seen + i + 2, frames)
    return out


def curve_features(animation: Animation, channels: tuple[str, ...], frames: int) -> np.ndarray:
    """``channels`` of ``animation`` at the centres of ``frames`` feature frames: [frames, len(channels)]."""
    times = np.arange(frames) / FEATURE_RATE + CENTRE
    own = (np.arange(len(animation.values)) + 0.5) / animation.fps
    columns = [CHANNEL_INDEX[c] for c in channels]
    if not len(own):
        return np.zeros((frames, len(channels)), np.float32)
    return np.stack([np.interp(times, own, animation.values[:, c]) for c in columns], 1).astype(np.float32)


def features(animation: Animation, sound: np.ndarray, opening: OpeningModel) -> np.ndarray:
    """The per-frame features before the taps: [frames, channels + 40 + hidden] at 100 frames
    a second, from the curves and :func:`heard`'s frames of the same span."""
    return np.concatenate([curve_features(animation, opening.channels, len(sound)), sound], 1)


def tapped(frames: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Each frame's features at every tap, edges held: [T, K * F]."""
    index = np.clip(np.arange(len(frames))[:, None] + taps[None, :], 0, max(len(frames) - 1, 0))
    return frames[index].reshape(len(frames), -1)


def predict(frames: np.ndarray, opening: OpeningModel) -> np.ndarray:
    """The opening in the speaker's standard units, per feature frame: [T]."""
    if not len(frames):
        return np.zeros(0, np.float32)
    return (((tapped(frames, opening.taps) - opening.mean) / opening.std) @ opening.weights).astype(np.float32)


def shape_jaw(animation: Animation, sound: np.ndarray) -> Animation:
    """``animation`` with JawOpen set by the opening heard (see the module).

    ``sound`` is :func:`heard` of the speech over the animation's span (frame 0 at its
    time 0); with no frames of it the animation is returned as it is.
    """
    if not len(sound) or not len(animation.values):
        return animation
    opening = model()
    z = predict(features(animation, sound, opening), opening)
    own = (np.arange(len(animation.values)) + 0.5) / animation.fps
    at_frames = np.interp(own, np.arange(len(z)) / FEATURE_RATE + CENTRE, z)
    values = animation.values.copy()
    closing = resting(animation.viseme_weights, len(values))
    before = values[:, CHANNEL_INDEX["JawOpen"]].copy()
    values[:, CHANNEL_INDEX["JawOpen"]] = jaw = jaw_from(at_frames, before, closing, opening)
    for name in LIPS_FOLLOWING:  # the lower lip rides on the jaw, as in the viseme poses
        column = CHANNEL_INDEX[name]
        values[:, column] = np.clip(values[:, column] + LIP_FOLLOW * (jaw - before), 0.0, 1.0)
    return replace(animation, values=lead_lips(values, animation.fps))


def lead_lips(values: np.ndarray, fps: float, lead: float = rules.LIP_LEAD) -> np.ndarray:
    """``values`` with the lips' shape channels (``rules.LEADING_CHANNELS``) taken ``lead``
    seconds later in the curves: the lips round and spread ahead of the sound. The last
    frame's value is held past the end.

    >>> v = np.zeros((4, len(CHANNEL_INDEX)), np.float32); v[2:, CHANNEL_INDEX["MouthPucker"]] = 1
    >>> lead_lips(v, fps=10.0, lead=0.1)[:, CHANNEL_INDEX["MouthPucker"]].tolist()
    [0.0, 1.0, 1.0, 1.0]
    """
    if not len(values) or lead <= 0:
        return values
    out = values.copy()
    columns = [CHANNEL_INDEX[name] for name in rules.LEADING_CHANNELS]
    out[:, columns] = advance(values[:, columns], lead * fps)
    return out


def resting(weights: np.ndarray | None, frames: int) -> np.ndarray:
    """Per frame, how much the phones hold the jaw: the weight of the P/B/M viseme.

    Not of silence: recognizers hear silence inside real speech often enough that holding
    the jaw there costs more than it gives (mean r0 0.405 -> 0.339 leave-one-speaker-out,
    0.383 holding only deep inside pauses); the mouth rests a little open in a pause."""
    if weights is None:
        return np.zeros(frames, np.float32)
    return weights[:, VISEMES.index("PP")]


def jaw_from(z: np.ndarray, phonetic: np.ndarray, closing: np.ndarray, opening: OpeningModel) -> np.ndarray:
    """JawOpen from the opening ``z``, held to the ``phonetic`` JawOpen where the phones close
    the lips (``closing``: :func:`resting`; fully from :data:`CLOSED` up, not at all below
    :data:`OPEN`): the lips meet for P/B/M whatever the sound."""
    jaw = np.clip(opening.jaw_mean + opening.jaw_spread * z, 0.0, 1.0)
    held = np.clip((closing - OPEN) / (CLOSED - OPEN), 0.0, 1.0)
    return (jaw * (1.0 - held) + phonetic * held).astype(np.float32)
