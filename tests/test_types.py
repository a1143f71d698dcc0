"""The boundary types: validation on construction, JSON and NPZ round trips."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from mouthpiece.errors import InputError
from mouthpiece.types import Animation, Audio, Phone, PhoneTrack, Segment, ShapeTrack, VisemeTrack, Word
from mouthpiece.vocabulary import CHANNELS


def _phones() -> PhoneTrack:
    return PhoneTrack(
        (Phone(0, 0.1, "sil"), Phone(0.1, 0.2, "M"), Phone(0.2, 0.4, "AA", 0.8), Phone(0.4, 0.5, "sil")),
        0.5,
        (Word(0.1, 0.4, "ma"),),
    )


def _animation() -> Animation:
    values = np.linspace(0, 1, 30 * len(CHANNELS), dtype=np.float32).reshape(30, -1)
    return Animation(
        fps=60,
        values=values,
        phones=_phones(),
        visemes=VisemeTrack((Segment(0, 0.1, "sil"), Segment(0.1, 0.2, "PP"), Segment(0.2, 0.5, "aa")), 0.5),
        cues=ShapeTrack((Segment(0, 0.1, "X"), Segment(0.1, 0.2, "A"), Segment(0.2, 0.5, "D")), 0.5),
        viseme_weights=np.full((30, 15), 1 / 15, np.float32),
    )


@pytest.mark.parametrize("make", [lambda: Audio(np.arange(10, dtype=np.float32) / 10), _phones, _animation,
                                  lambda: _animation().visemes, lambda: _animation().cues])  # fmt: skip
def test_round_trips(make, tmp_path):
    value = make()
    again = type(value).from_dict(json.loads(json.dumps(value.to_dict())))
    buffer = io.BytesIO()
    value.save_npz(buffer)
    buffer.seek(0)
    from_npz = type(value).load_npz(buffer)
    for other in (again, from_npz):
        for name in value.__dataclass_fields__:
            a, b = getattr(value, name), getattr(other, name)
            if isinstance(a, np.ndarray):
                np.testing.assert_allclose(a, b, atol=1e-5)
            else:
                assert a == b, name


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Audio(np.zeros((2, 2))), "one-dimensional"),
        (lambda: Audio(np.array([np.nan])), "NaN"),
        (lambda: Audio(np.zeros(3), 0), "sample rate"),
        (lambda: PhoneTrack((Phone(0, 0.1, "QQ"),), 1.0), "inventory"),
        (lambda: PhoneTrack((Phone(0.2, 0.1, "AA"),), 1.0), "invalid span"),
        (lambda: PhoneTrack((Phone(0, 0.3, "AA"), Phone(0.2, 0.4, "B")), 1.0), "overlap"),
        (lambda: PhoneTrack((Phone(0, 2.0, "AA"),), 1.0), "after the track"),
        (lambda: PhoneTrack((Phone(0, 0.1, "AA", 1.5),), 1.0), "score"),
        (lambda: VisemeTrack((Segment(0, 0.1, "A"),), 1.0), "label"),
        (lambda: ShapeTrack((Segment(0, 0.1, "PP"),), 1.0), "label"),
        (lambda: Animation(fps=0.5, values=np.zeros((1, len(CHANNELS)))), "fps"),
        (lambda: Animation(fps=300, values=np.zeros((1, len(CHANNELS)))), "fps"),
        (lambda: Animation(fps=30, values=np.zeros((1, 3))), "shape"),
        (lambda: Animation(fps=30, values=np.zeros((1, 1)), channels=("Nope",)), "unknown"),
        (lambda: Animation(fps=30, values=np.full((1, len(CHANNELS)), np.inf)), "NaN"),
    ],
)
def test_invalid_values_are_rejected(make, message):
    with pytest.raises(InputError, match=message):
        make()


def test_track_lookups():
    animation = _animation()
    assert animation.duration == 0.5
    assert animation.channel("JawOpen").shape == (30,)
    assert animation.cues.label_at(0.15) == "A"
    assert animation.cues.label_at(0.7) == "X"
    assert animation.visemes.label_at(0.7) == "sil"
    with pytest.raises(InputError, match="no channel"):
        animation.channel("Nope")
