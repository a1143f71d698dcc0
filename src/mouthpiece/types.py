"""The values that cross stage boundaries, and nothing else.

Each is a frozen dataclass checked by ``validate()`` on construction (an invalid one
raises :class:`~mouthpiece.errors.InputError`), with a JSON form (``to_dict`` /
``from_dict``, plain JSON types) and an NPZ form (``save_npz`` / ``load_npz``).
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, TypeVar

import numpy as np

from .errors import InputError
from .vocabulary import CHANNELS, PHONES, SHAPES, VISEMES

SAMPLE_RATE = 16_000  # Hz, the rate every stage after audio loading works at
TIME_TOLERANCE = 0.02  # s, how far a segment may end past its track's duration (rounding)

T = TypeVar("T")


def _save_npz(path: str | os.PathLike[str], meta: dict[str, Any], **arrays: np.ndarray) -> None:
    np.savez_compressed(path, __meta__=np.array(json.dumps(meta)), **arrays)


def _load_npz(path: str | os.PathLike[str] | io.BytesIO) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return json.loads(str(arrays.pop("__meta__"))), arrays


@dataclass(frozen=True)
class Audio:
    """Mono speech.

    samples : np.ndarray [shape=(n,), dtype=float32], nominally in [-1, 1]
    sample_rate : int > 0, Hz
    """

    samples: np.ndarray
    sample_rate: int = SAMPLE_RATE

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", np.ascontiguousarray(self.samples, dtype=np.float32))
        self.validate()

    def validate(self) -> None:
        if self.samples.ndim != 1:
            raise InputError(f"Audio samples must be one-dimensional, got shape {self.samples.shape}.")
        if not isinstance(self.sample_rate, (int, np.integer)) or self.sample_rate <= 0:
            raise InputError(f"Audio sample rate must be a positive integer, got {self.sample_rate!r}.")
        if not np.all(np.isfinite(self.samples)):
            raise InputError("Audio samples contain NaN or infinity.")

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    def to_dict(self) -> dict[str, Any]:
        return {"sample_rate": int(self.sample_rate), "samples": self.samples.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Audio:
        return cls(np.asarray(data["samples"], dtype=np.float32), int(data["sample_rate"]))

    def save_npz(self, path: str | os.PathLike[str]) -> None:
        _save_npz(path, {"type": "Audio", "sample_rate": int(self.sample_rate)}, samples=self.samples)

    @classmethod
    def load_npz(cls, path: str | os.PathLike[str] | io.BytesIO) -> Audio:
        meta, arrays = _load_npz(path)
        return cls(arrays["samples"], int(meta["sample_rate"]))


class Phone(NamedTuple):
    """One phone: ``[start, end)`` in seconds, its ARPAbet label, a confidence in [0, 1]."""

    start: float
    end: float
    label: str
    score: float = 1.0


class Word(NamedTuple):
    """One word of a transcript with its time span in seconds."""

    start: float
    end: float
    text: str


class Segment(NamedTuple):
    """One labelled span ``[start, end)`` in seconds of a viseme or mouth-shape track."""

    start: float
    end: float
    label: str


def _check_spans(spans: tuple[tuple[Any, ...], ...], duration: float, what: str) -> None:
    if not np.isfinite(duration) or duration < 0:
        raise InputError(f"{what} duration must be a finite number >= 0, got {duration!r}.")
    previous_end = 0.0
    for span in spans:
        start, end = span[0], span[1]
        if not (np.isfinite(start) and np.isfinite(end)) or start < 0 or end < start:
            raise InputError(f"{what} has an invalid span {span!r}.")
        if start < previous_end - 1e-6:
            raise InputError(f"{what} spans overlap or are out of order at {span!r}.")
        if end > duration + TIME_TOLERANCE:
            raise InputError(f"{what} span {span!r} ends after the track's duration {duration:.3f} s.")
        previous_end = end


@dataclass(frozen=True)
class PhoneTrack:
    """Timed phones (and, when a transcript was aligned, words) of an utterance.

    phones : tuple of Phone, sorted, non-overlapping, labels from ``vocabulary.PHONES``
    duration : float >= 0, seconds of the audio the track describes
    words : tuple of Word, sorted, non-overlapping (empty without a transcript)
    """

    phones: tuple[Phone, ...]
    duration: float
    words: tuple[Word, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "phones",
            tuple(Phone(float(p[0]), float(p[1]), str(p[2]), float(p[3]) if len(p) > 3 else 1.0) for p in self.phones),
        )
        object.__setattr__(self, "words", tuple(Word(float(w[0]), float(w[1]), str(w[2])) for w in self.words))
        object.__setattr__(self, "duration", float(self.duration))
        self.validate()

    def validate(self) -> None:
        _check_spans(self.phones, self.duration, "PhoneTrack")
        _check_spans(self.words, self.duration, "PhoneTrack words")
        for p in self.phones:
            if p.label not in PHONES:
                raise InputError(f"PhoneTrack has a phone {p.label!r} outside the ARPAbet inventory.")
            if not 0.0 <= p.score <= 1.0:
                raise InputError(f"PhoneTrack phone {p!r} has a score outside [0, 1].")

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration": self.duration,
            "phones": [list(p) for p in self.phones],
            "words": [list(w) for w in self.words],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PhoneTrack:
        return cls(
            tuple(Phone(*p) for p in data["phones"]),
            data["duration"],
            tuple(Word(*w) for w in data.get("words", ())),
        )

    def save_npz(self, path: str | os.PathLike[str]) -> None:
        _save_npz(path, {"type": "PhoneTrack", **self.to_dict()})

    @classmethod
    def load_npz(cls, path: str | os.PathLike[str] | io.BytesIO) -> PhoneTrack:
        return cls.from_dict(_load_npz(path)[0])


@dataclass(frozen=True)
class _LabelTrack:
    """Contiguous labelled segments covering ``[0, duration)``."""

    segments: tuple[Segment, ...]
    duration: float
    vocabulary: ClassVar[tuple[str, ...]] = ()
    rest: ClassVar[str] = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(Segment(float(s[0]), float(s[1]), str(s[2])) for s in self.segments))
        object.__setattr__(self, "duration", float(self.duration))
        self.validate()

    def validate(self) -> None:
        name = type(self).__name__
        _check_spans(self.segments, self.duration, name)
        for s in self.segments:
            if s.label not in self.vocabulary:
                raise InputError(f"{name} has a label {s.label!r}; expected one of {' '.join(self.vocabulary)}.")

    def label_at(self, t: float) -> str:
        """The label showing at time ``t`` (the rest label outside every segment)."""
        for s in self.segments:
            if s.start <= t < s.end:
                return s.label
        return self.rest

    def to_dict(self) -> dict[str, Any]:
        return {"duration": self.duration, "segments": [list(s) for s in self.segments]}

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        return cls(tuple(Segment(*s) for s in data["segments"]), data["duration"])  # type: ignore[call-arg]

    def save_npz(self, path: str | os.PathLike[str]) -> None:
        _save_npz(path, {"type": type(self).__name__, **self.to_dict()})

    @classmethod
    def load_npz(cls: type[T], path: str | os.PathLike[str] | io.BytesIO) -> T:
        return cls.from_dict(_load_npz(path)[0])  # type: ignore[attr-defined, no-any-return]


@dataclass(frozen=True)
class VisemeTrack(_LabelTrack):
    """Timed visemes from the Oculus 15 set (``vocabulary.VISEMES``)."""

    vocabulary: ClassVar[tuple[str, ...]] = VISEMES
    rest: ClassVar[str] = "sil"


@dataclass(frozen=True)
class ShapeTrack(_LabelTrack):
    """Timed Rhubarb mouth shapes A-H and X (``vocabulary.SHAPES``): Rhubarb's mouth cues."""

    vocabulary: ClassVar[tuple[str, ...]] = SHAPES
    rest: ClassVar[str] = "X"


@dataclass(frozen=True)
class Animation:
    """Face animation curves sampled at ``fps``, with the tracks they were made from.

    fps : float in [1, 240]
    values : np.ndarray [shape=(T, C), dtype=float32]; blendshapes in [0, 1], rotations in radians
    channels : tuple of C channel names, a subset of ``vocabulary.CHANNELS`` (default all)
    phones, visemes, cues : the PhoneTrack, VisemeTrack and Rhubarb ShapeTrack behind it
    viseme_weights : np.ndarray [shape=(T, 15), dtype=float32] or None; per-frame weight of each viseme
    """

    fps: float
    values: np.ndarray
    channels: tuple[str, ...] = CHANNELS
    phones: PhoneTrack | None = None
    visemes: VisemeTrack | None = None
    cues: ShapeTrack | None = None
    viseme_weights: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", np.ascontiguousarray(self.values, dtype=np.float32))
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "fps", float(self.fps))
        if self.viseme_weights is not None:
            object.__setattr__(self, "viseme_weights", np.ascontiguousarray(self.viseme_weights, dtype=np.float32))
        self.validate()

    def validate(self) -> None:
        if not (np.isfinite(self.fps) and 1 <= self.fps <= 240):
            raise InputError(f"Animation fps must be between 1 and 240, got {self.fps!r}.")
        if self.values.ndim != 2 or self.values.shape[1] != len(self.channels):
            raise InputError(
                f"Animation values must have shape (frames, {len(self.channels)}), got {self.values.shape}."
            )
        unknown = [c for c in self.channels if c not in CHANNELS]
        if unknown or len(set(self.channels)) != len(self.channels):
            raise InputError(f"Animation has unknown or repeated channels: {unknown or self.channels}.")
        if not np.all(np.isfinite(self.values)):
            raise InputError("Animation values contain NaN or infinity.")
        if self.viseme_weights is not None and self.viseme_weights.shape != (len(self.values), len(VISEMES)):
            raise InputError(
                f"Animation viseme weights must have shape ({len(self.values)}, 15), got {self.viseme_weights.shape}."
            )

    @property
    def frame_count(self) -> int:
        return len(self.values)

    @property
    def duration(self) -> float:
        """Seconds covered: the duration of the tracks behind it, else frames / fps."""
        for track in (self.phones, self.visemes, self.cues):
            if track is not None:
                return track.duration
        return self.frame_count / self.fps

    def channel(self, name: str) -> np.ndarray:
        """The curve of one channel, shape (T,)."""
        try:
            return self.values[:, self.channels.index(name)]
        except ValueError:
            raise InputError(f"Animation has no channel {name!r}.") from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "fps": self.fps,
            "channels": list(self.channels),
            "values": np.round(self.values.astype(np.float64), 5).tolist(),
            "phones": self.phones.to_dict() if self.phones else None,
            "visemes": self.visemes.to_dict() if self.visemes else None,
            "cues": self.cues.to_dict() if self.cues else None,
            "viseme_weights": None
            if self.viseme_weights is None
            else np.round(self.viseme_weights.astype(np.float64), 5).tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Animation:
        channels = tuple(data["channels"])
        values = np.asarray(data["values"], dtype=np.float32).reshape(-1, len(channels))
        weights = data.get("viseme_weights")
        return cls(
            fps=data["fps"],
            values=values,
            channels=channels,
            phones=PhoneTrack.from_dict(data["phones"]) if data.get("phones") else None,
            visemes=VisemeTrack.from_dict(data["visemes"]) if data.get("visemes") else None,
            cues=ShapeTrack.from_dict(data["cues"]) if data.get("cues") else None,
            viseme_weights=None if weights is None else np.asarray(weights, dtype=np.float32).reshape(-1, len(VISEMES)),
        )

    def save_npz(self, path: str | os.PathLike[str]) -> None:
        meta = self.to_dict()
        del meta["values"], meta["viseme_weights"]
        arrays = {"values": self.values}
        if self.viseme_weights is not None:
            arrays["viseme_weights"] = self.viseme_weights
        _save_npz(path, {"type": "Animation", **meta}, **arrays)

    @classmethod
    def load_npz(cls, path: str | os.PathLike[str] | io.BytesIO) -> Animation:
        meta, arrays = _load_npz(path)
        meta.pop("type")
        meta["values"] = arrays["values"]
        meta["viseme_weights"] = arrays.get("viseme_weights")
        return cls.from_dict(meta)


@dataclass(frozen=True)
class FaceRig:
    """One face's landmarks at rest and how each channel moves them.

    landmarks : np.ndarray [shape=(N, 3), dtype=float32], pixels (x right, y down, z away
        from the camera), the face at rest (lips together); MediaPipe's 478, then points
        the rig adds (around the head, along the teeth)
    source : np.ndarray [shape=(N, 3), dtype=float32], where the same points are in the
        photo (differs from ``landmarks`` where the photo's face is not at rest, such as
        an open mouth)
    basis : np.ndarray [shape=(K, N, 3), dtype=float32], the displacement in pixels of
        every landmark at weight 1 of each of ``channels``
    channels : tuple of K blendshape names from ``vocabulary.CHANNELS``
    head_weight : np.ndarray [shape=(N,), dtype=float32] in [0, 1], how much of a head
        rotation each landmark follows (the neck less than the face)
    pivot : np.ndarray [shape=(3,), dtype=float32], pixels, the point the head turns about
    triangles : np.ndarray [shape=(F, 3), dtype=int32], the mesh over the landmarks that
        a renderer warps
    unit : float > 0, pixels per face unit (the distance between the eye centres)
    """

    landmarks: np.ndarray
    source: np.ndarray
    basis: np.ndarray
    channels: tuple[str, ...]
    head_weight: np.ndarray
    pivot: np.ndarray
    triangles: np.ndarray
    unit: float

    def __post_init__(self) -> None:
        for name in ("landmarks", "source", "basis", "head_weight", "pivot"):
            object.__setattr__(self, name, np.ascontiguousarray(getattr(self, name), dtype=np.float32))
        object.__setattr__(self, "triangles", np.ascontiguousarray(self.triangles, dtype=np.int32))
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "unit", float(self.unit))
        self.validate()

    def validate(self) -> None:
        count = len(self.landmarks)
        if self.landmarks.ndim != 2 or self.landmarks.shape[1] != 3:
            raise InputError(f"FaceRig landmarks must have shape (N, 3), got {self.landmarks.shape}.")
        if self.source.shape != self.landmarks.shape:
            raise InputError(f"FaceRig source points must have shape {self.landmarks.shape}, got {self.source.shape}.")
        if self.basis.shape != (len(self.channels), count, 3):
            raise InputError(
                f"FaceRig basis must have shape ({len(self.channels)}, {count}, 3), got {self.basis.shape}."
            )
        unknown = [c for c in self.channels if c not in CHANNELS]
        if unknown or len(set(self.channels)) != len(self.channels):
            raise InputError(f"FaceRig has unknown or repeated channels: {unknown or self.channels}.")
        if self.head_weight.shape != (count,) or self.pivot.shape != (3,):
            raise InputError("FaceRig head weights must have one value per landmark and the pivot three coordinates.")
        if (
            self.triangles.ndim != 2
            or self.triangles.shape[1] != 3
            or (self.triangles.size and (self.triangles.min() < 0 or self.triangles.max() >= count))
        ):
            raise InputError(f"FaceRig triangles must be (F, 3) indices of its {count} landmarks.")
        arrays = (self.landmarks, self.source, self.basis, self.head_weight, self.pivot)
        if not (np.isfinite(self.unit) and self.unit > 0 and all(np.all(np.isfinite(a)) for a in arrays)):
            raise InputError("FaceRig values contain NaN or infinity, or its unit is not positive.")

    _ARRAYS: ClassVar[tuple[str, ...]] = ("landmarks", "source", "basis", "head_weight", "pivot", "triangles")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self, name).tolist() for name in self._ARRAYS}
        return {**data, "channels": list(self.channels), "unit": self.unit}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaceRig:
        count = len(data["landmarks"])
        return cls(
            landmarks=np.asarray(data["landmarks"], np.float32).reshape(count, 3),
            source=np.asarray(data["source"], np.float32).reshape(count, 3),
            basis=np.asarray(data["basis"], np.float32).reshape(len(data["channels"]), count, 3),
            channels=tuple(data["channels"]),
            head_weight=np.asarray(data["head_weight"], np.float32),
            pivot=np.asarray(data["pivot"], np.float32),
            triangles=np.asarray(data["triangles"], np.int32).reshape(-1, 3),
            unit=data["unit"],
        )

    def save_npz(self, path: str | os.PathLike[str]) -> None:
        _save_npz(
            path,
            {"type": "FaceRig", "channels": list(self.channels), "unit": self.unit},
            **{name: getattr(self, name) for name in self._ARRAYS},
        )

    @classmethod
    def load_npz(cls, path: str | os.PathLike[str] | io.BytesIO) -> FaceRig:
        meta, arrays = _load_npz(path)
        return cls(channels=tuple(meta["channels"]), unit=meta["unit"], **arrays)
