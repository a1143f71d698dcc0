"""The learned front end: log-mel frames to per-frame visemes and articulation, in numpy.

The network (trained by ``training/train.py``, weights in ``front_end.npz``) reads 16 kHz
audio as 40-band log-mel frames, 25 ms windows every 10 ms (:func:`~mouthpiece.audio.features.log_mel`).
Frame ``i`` describes the instant ``FRAME_CENTRE_S + i / FRAME_RATE`` (its window's centre).

1. Normalisation that streams: each band minus a running (exponential) mean that starts
   at the training corpus' mean, over the corpus' standard deviation; and the same
   frame minus the corpus mean (absolute level). 80 numbers a frame.
2. A first convolution over ``first_kernel`` frames that ends ``lookahead`` frames after
   the frame it describes: the only look into the future (4 frames + half a window =
   52.5 ms of audio).
3. Residual blocks of causal dilated convolutions (kernel 3, dilations 1, 2, 4, ...),
   ReLU, then a 1x1 projection added back: about 1.3 s of past context.
4. Two heads: 15 viseme logits (softmax posteriors) and 3 sigmoid articulation values,
   openness (JawOpen / the widest viseme's), rounding (Pucker + Funnel / the roundest's)
   and closure (lips shut, as for P B M).

:func:`run` does all frames at once; :class:`FrontEndStream` takes audio blocks of any
size and returns each frame as soon as its lookahead has arrived; both give the same
frames (to float32 rounding), because the stream keeps exactly the past frames each layer
needs and pads where the whole-array pass does. Past the recording's end the lookahead
hears the last frame held: the zeros it heard before (the corpus's mean spectrum, a burst
after a quiet ending) made it hear a lip closure at the end of nearly every recording
(held-out voices, no transcript: bilabial precision 0.801 -> 0.889).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.features import MEL_BANDS, MEL_HOP, MEL_RATE, MEL_WINDOW, log_mel
from ..errors import InputError
from ..types import Audio

FRAME_RATE = 100  # frames per second (MEL_RATE / MEL_HOP)
FRAME_CENTRE_S = MEL_WINDOW / MEL_RATE / 2  # s, from a frame's first sample to its window's centre
ARTICULATION = ("openness", "rounding", "closure")
MODEL_VERSION = 1  # of the npz layout below; a file with another is refused
DEFAULT_MODEL = Path(__file__).with_name("front_end.npz")


@dataclass(frozen=True)
class FrontEndConfig:
    """The network's shape and feature settings, as stored in the model file's JSON."""

    n_mels: int = MEL_BANDS  # log-mel bands per frame
    channels: int = 96  # width of every hidden layer
    first_kernel: int = 9  # frames seen by the first convolution
    lookahead: int = 4  # of those, frames after the described one (<= 6: 60 ms)
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32)  # one residual block each, kernel 3
    kernel: int = 3  # frames per dilated convolution
    ema_seconds: float = 3.0  # s, time constant of the running band mean
    visemes: tuple[str, ...] = ()  # output order of the viseme posteriors
    articulation: tuple[str, ...] = ARTICULATION

    @property
    def ema_rate(self) -> float:
        return 1.0 / (self.ema_seconds * FRAME_RATE)

    @property
    def receptive_past(self) -> int:
        """Frames before the described one that reach its output."""
        return self.first_kernel - 1 - self.lookahead + sum((self.kernel - 1) * d for d in self.dilations)


@dataclass(frozen=True)
class FrontEndOutput:
    """Per-frame outputs of the front end.

    posteriors : np.ndarray [shape=(T, 15), dtype=float32], viseme probabilities, rows sum to 1
    articulation : np.ndarray [shape=(T, 3), dtype=float32] in [0, 1]: openness, rounding, closure
    first : int, index in the stream of row 0 (frame ``i`` describes ``FRAME_CENTRE_S + i / 100`` s)
    hidden : np.ndarray [shape=(T, channels), dtype=float32] or None, the last hidden layer,
        which both heads read (the jaw's opening filter listens to it too)
    """

    posteriors: np.ndarray
    articulation: np.ndarray
    first: int = 0
    hidden: np.ndarray | None = None

    @property
    def openness(self) -> np.ndarray:
        return self.articulation[:, 0]

    @property
    def rounding(self) -> np.ndarray:
        return self.articulation[:, 1]

    @property
    def closure(self) -> np.ndarray:
        return self.articulation[:, 2]


@dataclass(frozen=True)
class FrontEnd:
    """A loaded model: its config, its float32 weights by name, and the file's metadata."""

    config: FrontEndConfig
    weights: dict[str, np.ndarray]
    meta: dict[str, Any]

    @functools.cached_property
    def fingerprint(self) -> str:
        """16 hex digits that change with any weight: what a model fitted to this one's
        outputs (the jaw's opening filter) records, to tell when it needs refitting."""
        digest = hashlib.sha256()
        for name in sorted(self.weights):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(self.weights[name], np.float32).tobytes())
        return digest.hexdigest()[:16]

    def normalize(self, mel: np.ndarray, mean: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Normalised features [T, 2 * n_mels] of log-mel frames [T, n_mels], and the running mean after them.

        ``mean`` is the running mean before the first frame (None: the corpus mean, a
        stream's start). Identical whether frames come at once or in consecutive parts.
        """
        from scipy.signal import lfilter

        w = self.weights
        a = self.config.ema_rate
        mel64 = np.asarray(mel, np.float64)
        start = w["feature_mean"].astype(np.float64) if mean is None else mean
        if len(mel64) == 0:
            return np.zeros((0, 2 * self.config.n_mels), np.float32), start
        running = lfilter([a], [1.0, a - 1.0], mel64, axis=0, zi=((1.0 - a) * start)[None, :])[0]
        inv = 1.0 / w["feature_std"].astype(np.float64)
        features = np.concatenate([(mel64 - running) * inv, (mel64 - w["feature_mean"]) * inv], axis=1)
        return features.astype(np.float32), running[-1]

    def forward(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Viseme posteriors [T, 15] and articulation [T, 3] of normalised features [T, 2 * n_mels]."""
        return _heads(self.hidden(features), self.weights)

    def outputs(self, features: np.ndarray) -> FrontEndOutput:
        """Posteriors, articulation and the last hidden layer of a recording's normalised features."""
        hidden = self.hidden(features)
        return FrontEndOutput(*_heads(hidden, self.weights), 0, hidden)

    def hidden(self, features: np.ndarray) -> np.ndarray:
        """The last hidden layer [T, channels] of normalised features [T, 2 * n_mels]."""
        cfg, w = self.config, self.weights
        left = cfg.first_kernel - 1 - cfg.lookahead
        x = np.concatenate([_zeros(left, features), features, past_end(features, cfg.lookahead)])
        h = np.maximum(_conv(x, w["conv1.w"], 1) + w["conv1.b"], 0.0)  # [T, C]
        for i, d in enumerate(cfg.dilations):
            past = np.concatenate([_zeros((cfg.kernel - 1) * d, h), h])
            h = _block(past, h, w, i, d)
        return h


def _zeros(n: int, like: np.ndarray) -> np.ndarray:
    return np.zeros((n, like.shape[1]), np.float32)


def past_end(features: np.ndarray, n: int) -> np.ndarray:
    """``n`` frames past the end of ``features``: its last frame held (what the lookahead
    hears after a recording; training and the export check pad the same way)."""
    if not len(features):
        return _zeros(n, features)
    return np.repeat(features[-1:], n, axis=0)


def _conv(x: np.ndarray, weight: np.ndarray, dilation: int) -> np.ndarray:
    """Valid 1-D convolution over time: x [T + (k - 1) * d, Cin], weight [k, Cin, Cout] -> [T, Cout]."""
    k = weight.shape[0]
    n = len(x) - (k - 1) * dilation
    out = x[0:n] @ weight[0]
    for j in range(1, k):
        out += x[j * dilation : j * dilation + n] @ weight[j]
    return out


def _block(past: np.ndarray, h: np.ndarray, w: dict[str, np.ndarray], i: int, d: int) -> np.ndarray:
    """One residual block: ``past`` holds the block's (k - 1) * d earlier inputs, then ``h``."""
    y = np.maximum(_conv(past, w[f"blocks.{i}.w1"], d) + w[f"blocks.{i}.b1"], 0.0)
    return h + y @ w[f"blocks.{i}.w2"] + w[f"blocks.{i}.b2"]


def _heads(h: np.ndarray, w: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    logits = h @ w["head_v.w"] + w["head_v.b"]
    logits -= logits.max(axis=1, keepdims=True)
    post = np.exp(logits)
    post /= post.sum(axis=1, keepdims=True)
    art = 1.0 / (1.0 + np.exp(-(h @ w["head_a.w"] + w["head_a.b"])))
    return post.astype(np.float32), art.astype(np.float32)


def _expected_shapes(cfg: FrontEndConfig) -> dict[str, tuple[int, ...]]:
    c, n_in = cfg.channels, 2 * cfg.n_mels
    shapes: dict[str, tuple[int, ...]] = {
        "feature_mean": (cfg.n_mels,),
        "feature_std": (cfg.n_mels,),
        "conv1.w": (cfg.first_kernel, n_in, c),
        "conv1.b": (c,),
        "head_v.w": (c, len(cfg.visemes)),
        "head_v.b": (len(cfg.visemes),),
        "head_a.w": (c, len(cfg.articulation)),
        "head_a.b": (len(cfg.articulation),),
    }
    for i in range(len(cfg.dilations)):
        shapes |= {f"blocks.{i}.w1": (cfg.kernel, c, c), f"blocks.{i}.b1": (c,)}
        shapes |= {f"blocks.{i}.w2": (c, c), f"blocks.{i}.b2": (c,)}
    return shapes


def load_model(path: str | os.PathLike[str] = DEFAULT_MODEL) -> FrontEnd:
    """Load a front-end model file (``.npz``: float32 weights and a JSON ``config``).

    Parameters
    ----------
    path : str or path-like, the model file; default the one shipped with mouthpiece

    Returns
    -------
    FrontEnd

    Raises
    ------
    InputError
        One sentence naming the file: it is missing, unreadable, corrupt or of another layout.
    """
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise InputError(f"Neural front-end model file {name!r} does not exist.")
    try:
        with open(name, "rb") as f, np.load(f, allow_pickle=False) as npz:  # our handle: closed on any error
            arrays = {k: npz[k] for k in npz.files}
        meta = json.loads(str(arrays.pop("config")))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise InputError(f"Neural front-end model file {name!r} is corrupt or not a model file ({e}).") from e
    if not isinstance(meta, dict) or meta.get("version") != MODEL_VERSION:
        found = meta.get("version") if isinstance(meta, dict) else None
        raise InputError(
            f"Neural front-end model file {name!r} has layout version {found!r}; this mouthpiece reads {MODEL_VERSION}."
        )
    try:
        fields = {k: v for k, v in meta["model"].items() if k in FrontEndConfig.__dataclass_fields__}
        for key in ("dilations", "visemes", "articulation"):
            fields[key] = tuple(fields[key])
        cfg = FrontEndConfig(**fields)
    except (KeyError, TypeError, AttributeError) as e:
        raise InputError(f"Neural front-end model file {name!r} has an incomplete model config ({e}).") from e
    for key, shape in _expected_shapes(cfg).items():
        got = arrays.get(key)
        if got is None or got.shape != shape or not np.all(np.isfinite(got)):
            problem = "is missing" if got is None else f"has shape {got.shape} or non-finite values, expected {shape}"
            raise InputError(f"Neural front-end model file {name!r} is incompatible: weight {key!r} {problem}.")
    if cfg.lookahead > 6 or cfg.lookahead >= cfg.first_kernel:
        raise InputError(f"Neural front-end model file {name!r} looks {cfg.lookahead} frames ahead; at most 6 stream.")
    weights = {k: np.ascontiguousarray(v, np.float32) for k, v in arrays.items()}
    return FrontEnd(cfg, weights, meta)


@functools.lru_cache(maxsize=1)
def default_model() -> FrontEnd:
    """The model shipped with mouthpiece, loaded once."""
    return load_model(DEFAULT_MODEL)


def run(audio: Audio | np.ndarray, *, model: FrontEnd | None = None) -> FrontEndOutput:
    """Per-frame viseme posteriors and articulation of a whole recording.

    Parameters
    ----------
    audio : Audio, or np.ndarray [shape=(n,)] of float samples at 16 kHz
    model : FrontEnd or None (the shipped model)

    Returns
    -------
    FrontEndOutput with one row per whole 25 ms window every 10 ms (none under 400 samples)

    Examples
    --------
    >>> out = run(np.zeros(16_000, np.float32))
    >>> out.posteriors.shape, out.articulation.shape
    ((98, 15), (98, 3))
    """
    model = model or default_model()
    samples = _samples(audio)
    features, _ = model.normalize(log_mel(samples))
    if len(features) == 0:
        return _empty(model, 0)
    return model.outputs(features)


def _samples(audio: Audio | np.ndarray) -> np.ndarray:
    if isinstance(audio, Audio):
        if audio.sample_rate != MEL_RATE:
            raise InputError(f"The neural front end needs 16 kHz audio, got {audio.sample_rate} Hz.")
        return audio.samples
    samples = np.asarray(audio, np.float32)
    if samples.ndim != 1 or not np.all(np.isfinite(samples)):
        raise InputError(f"The neural front end needs finite mono samples, got shape {samples.shape}.")
    return samples


def _empty(model: FrontEnd, first: int) -> FrontEndOutput:
    cfg = model.config
    return FrontEndOutput(
        np.zeros((0, len(cfg.visemes)), np.float32),
        np.zeros((0, len(cfg.articulation)), np.float32),
        first,
        np.zeros((0, cfg.channels), np.float32),
    )


class FrontEndStream:
    """The front end on a live stream: blocks of 16 kHz samples in, finished frames out.

    Frame ``i`` comes out once the samples up to its window's end plus ``lookahead``
    frames have arrived (52.5 ms after the instant it describes); :meth:`finish` returns
    the last ones. The frames equal :func:`run`'s on the whole stream.

    Examples
    --------
    >>> stream = FrontEndStream()
    >>> parts = [stream.push(np.zeros(n, np.float32)) for n in (1000, 7, 8993)]
    >>> sum(len(p.posteriors) for p in parts + [stream.finish()])
    61
    """

    def __init__(self, model: FrontEnd | None = None) -> None:
        self.model = model or default_model()
        cfg = self.model.config
        self._samples = np.zeros(0, np.float32)  # not yet framed: from the next frame's first sample on
        self._mean: np.ndarray | None = None  # running band mean (None: not started)
        c = cfg.channels
        self._conv1 = np.zeros((cfg.first_kernel - 1 - cfg.lookahead, 2 * cfg.n_mels), np.float32)
        self._past = [np.zeros(((cfg.kernel - 1) * d, c), np.float32) for d in cfg.dilations]
        self._emitted = 0
        self._finished = False

    def push(self, samples: np.ndarray) -> FrontEndOutput:
        """Take the next samples (any number, float at 16 kHz); return the frames they finish."""
        samples = _samples(samples)
        buffer = np.concatenate([self._samples, samples])
        n = max(0, (len(buffer) - MEL_WINDOW) // MEL_HOP + 1)
        mel = log_mel(buffer[: (n - 1) * MEL_HOP + MEL_WINDOW]) if n else np.zeros((0, MEL_BANDS))
        self._samples = buffer[n * MEL_HOP :]
        return self.push_mel(mel)

    def push_mel(self, mel: np.ndarray) -> FrontEndOutput:
        """Take the stream's next log mel frames [T, n_mels] (:func:`~mouthpiece.audio.features.log_mel`
        of consecutive windows) instead of samples; return the frames they finish."""
        if self._finished:
            raise InputError("This front-end stream has finished; start a new one.")
        features, self._mean = self.model.normalize(mel, self._mean)
        return self._advance(features)

    def finish(self) -> FrontEndOutput:
        """The frames still waiting for lookahead (the stream's end holds its last frame)."""
        if self._finished:
            return _empty(self.model, self._emitted)
        self._finished = True
        return self._advance(past_end(self._conv1, self.model.config.lookahead))

    def _advance(self, features: np.ndarray) -> FrontEndOutput:
        cfg, w = self.model.config, self.model.weights
        x = np.concatenate([self._conv1, features])
        self._conv1 = x[max(0, len(x) - (cfg.first_kernel - 1)) :]
        if len(x) < cfg.first_kernel:
            return _empty(self.model, self._emitted)
        h = np.maximum(_conv(x, w["conv1.w"], 1) + w["conv1.b"], 0.0)
        for i, d in enumerate(cfg.dilations):
            past = np.concatenate([self._past[i], h])
            self._past[i] = past[len(past) - (cfg.kernel - 1) * d :]
            h = _block(past, h, w, i, d)
        post, art = _heads(h, w)
        out = FrontEndOutput(post, art, self._emitted, h)
        self._emitted += len(post)
        return out
