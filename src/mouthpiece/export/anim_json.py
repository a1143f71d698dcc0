"""mouthpiece's own animation JSON: everything in an Animation, versioned, and its reader.

The document (schema ``mouthpiece.animation``, version 1)::

    {
      "schema": "mouthpiece.animation", "version": 1,
      "fps": 30.0, "duration": 2.0,
      "channels": ["JawOpen", ...],          C names, a subset of vocabulary.CHANNELS
      "values": [[0.0, ...], ...],           T rows of C numbers
      "phones": [{"start", "end", "label", "score"}, ...] or null,
      "words": [{"start", "end", "text"}, ...],
      "visemes": [{"start", "end", "label"}, ...] or null,
      "cues": [{"start", "end", "label"}, ...] or null,
      "viseme_weights": [[15 numbers], ...] or null,
      "track_durations": {"phones": 2.0, "visemes": 2.0, "cues": 2.0}
    }

Values and weights carry six decimals. ``track_durations`` holds the duration of each
track present; a reader may fall back on ``duration`` when it is missing. ``null``
means the animation has no such track; ``[]`` means an empty one. Words belong to the
phone track and need one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

from ..errors import InputError
from ..types import Animation, Phone, PhoneTrack, Segment, ShapeTrack, VisemeTrack, Word
from ..vocabulary import VISEMES
from .base import Exporter

SCHEMA = "mouthpiece.animation"
VERSION = 1
DECIMALS = 6  # digits after the point of values, weights and times (a microsecond: no float noise)

LabelTrack = VisemeTrack | ShapeTrack


def _segments(track: LabelTrack | None) -> list[dict[str, Any]] | None:
    if track is None:
        return None
    return [{"start": _time(s.start), "end": _time(s.end), "label": s.label} for s in track.segments]


def _time(seconds: float) -> float:
    """``seconds`` as written: 0.35, not 0.35000000000000003."""
    return round(float(seconds), DECIMALS) + 0.0


def _matrix(values: np.ndarray) -> list[list[float]]:
    return (np.round(values.astype(np.float64), DECIMALS) + 0.0).tolist()


def animation_document(animation: Animation) -> dict[str, Any]:
    """The JSON document of ``animation`` (plain JSON types), as described above."""
    phones, weights = animation.phones, animation.viseme_weights
    tracks = {"phones": phones, "visemes": animation.visemes, "cues": animation.cues}
    return {
        "schema": SCHEMA,
        "version": VERSION,
        "fps": animation.fps,
        "duration": _time(animation.duration),
        "channels": list(animation.channels),
        "values": _matrix(animation.values),
        "phones": None if phones is None else [_timed(p._asdict()) for p in phones.phones],
        "words": [] if phones is None else [_timed(w._asdict()) for w in phones.words],
        "visemes": _segments(animation.visemes),
        "cues": _segments(animation.cues),
        "viseme_weights": None if weights is None else _matrix(weights),
        "track_durations": {name: _time(t.duration) for name, t in tracks.items() if t is not None},
    }


def _timed(entry: dict[str, Any]) -> dict[str, Any]:
    """A phone's or word's fields with its times (and score) written as :func:`_time` does."""
    return {k: _time(v) if isinstance(v, float) else v for k, v in entry.items()}


@dataclass(frozen=True)
class AnimJsonExporter(Exporter):
    """The whole Animation as versioned JSON, read back by :func:`read_anim_json`."""

    name = "anim-json"
    extension = ".json"

    def export(self, animation: Animation, stream: TextIO) -> None:
        json.dump(animation_document(animation), stream, separators=(",", ":"))
        stream.write("\n")


def _animation_from_document(data: Any) -> Animation:
    """Raises KeyError, TypeError or ValueError on a malformed document; the caller words it."""
    durations = data.get("track_durations") or {}
    duration = data["duration"]

    def label_track(kind: type[LabelTrack], key: str) -> Any:
        if data.get(key) is None:
            return None
        segments = [Segment(s["start"], s["end"], s["label"]) for s in data[key]]
        return kind(tuple(segments), durations.get(key, duration))

    phones = None
    if data.get("phones") is not None:
        phones = PhoneTrack(
            tuple(Phone(p["start"], p["end"], p["label"], p.get("score", 1)) for p in data["phones"]),
            durations.get("phones", duration),
            tuple(Word(w["start"], w["end"], w["text"]) for w in data.get("words") or ()),
        )
    elif data.get("words"):
        raise ValueError("it has words but no phones")
    channels = tuple(data["channels"])
    rows = data["values"]
    with np.errstate(over="ignore"):  # a number past float32's range becomes inf, which Animation refuses
        values = np.asarray(rows, dtype=np.float32).reshape(len(rows), len(channels))
        weights = data.get("viseme_weights")
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float32).reshape(len(weights), len(VISEMES))
    return Animation(
        fps=data["fps"],
        values=values,
        channels=channels,
        phones=phones,
        visemes=label_track(VisemeTrack, "visemes"),
        cues=label_track(ShapeTrack, "cues"),
        viseme_weights=weights,
    )


def read_anim_json(source: str | os.PathLike[str] | TextIO) -> Animation:
    """Read an Animation written by the ``anim-json`` exporter.

    Parameters
    ----------
    source : str, os.PathLike or TextIO
        The file's path, or an open text stream.

    Returns
    -------
    Animation

    Raises
    ------
    InputError
        When the file cannot be read, is not JSON, is not a ``mouthpiece.animation``
        document, has a version other than 1, or holds a malformed or invalid animation.
    """
    if not isinstance(source, (str, os.PathLike)):
        return _read(source, getattr(source, "name", "<stream>"))
    name = os.fspath(source)
    try:
        with open(name, encoding="utf-8") as stream:
            return _read(stream, name)
    except OSError as e:
        raise InputError(f"Could not read animation file '{name}': {e.strerror}.") from e


def _read(stream: TextIO, name: str) -> Animation:
    try:
        data = json.load(stream)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"Animation file '{name}' is not valid JSON: {e}.") from e
    except ValueError as e:  # an integer past Python's limit of 4300 digits
        raise InputError(f"Animation file '{name}' holds a number with too many digits to read.") from e
    except RecursionError as e:
        raise InputError(f"Animation file '{name}' nests its arrays or objects too deeply to read.") from e
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema != SCHEMA:
        raise InputError(f"'{name}' is not a {SCHEMA} document (its schema is {schema!r}).")
    if data.get("version") != VERSION:
        raise InputError(
            f"Animation file '{name}' has version {data.get('version')!r}; this mouthpiece reads version {VERSION}."
        )
    try:
        return _animation_from_document(data)
    except InputError as e:
        raise InputError(f"Animation file '{name}' holds an invalid animation: {e}") from e
    except KeyError as e:
        raise InputError(f"Animation file '{name}' is malformed: no key {e.args[0]!r}.") from e
    except (TypeError, ValueError, AttributeError, OverflowError) as e:  # OverflowError: an int past float's range
        raise InputError(f"Animation file '{name}' is malformed: {e}.") from e
