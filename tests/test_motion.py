"""Motion: phones -> visemes -> curves and Rhubarb cues, on hand-made phone tracks."""

from __future__ import annotations

import numpy as np
import pytest

from mouthpiece.motion import animate, modulate_jaw, to_cues, to_curves, to_visemes
from mouthpiece.motion.cues import heard_shapes
from mouthpiece.types import Phone, PhoneTrack, Segment, ShapeTrack
from mouthpiece.vocabulary import CHANNEL_INDEX


def track(*spec: tuple[str, float], lead: float = 0.3, tail: float = 0.3) -> PhoneTrack:
    """Phones of the given durations (s), between silences."""
    phones, t = [Phone(0, lead, "sil")], lead
    for label, duration in spec:
        phones.append(Phone(t, t + duration, label))
        t += duration
    phones.append(Phone(t, t + tail, "sil"))
    return PhoneTrack(tuple(phones), t + tail)


def frames_in(animation, start, end):
    t = np.arange(animation.frame_count) / animation.fps
    return (t >= start) & (t < end)


def channel(animation, name):
    return animation.values[:, CHANNEL_INDEX[name]]


def test_visemes_follow_the_oculus_table_and_hh_takes_the_next_phone():
    visemes = to_visemes(track(("HH", 0.05), ("EH", 0.1), ("L", 0.05), ("OW", 0.2)))
    assert [s.label for s in visemes.segments] == ["sil", "E", "nn", "O", "sil"]
    assert visemes.segments[0].end == pytest.approx(0.3) and visemes.segments[-1].start == pytest.approx(0.7)
    assert visemes.segments[-1].end == pytest.approx(visemes.duration)


@pytest.mark.parametrize("fps", [24, 25, 30, 60, 120, 240])
@pytest.mark.parametrize("closure", ["P", "B", "M"])
def test_every_bilabial_reaches_a_closure_even_when_short(fps, closure):
    phones = track(("AA", 0.15), (closure, 0.02), ("AA", 0.15))
    animation = animate(phones, fps=fps)
    start = 0.3 + 0.15
    t = np.arange(animation.frame_count) / fps
    # the closure is held for at least 1/30 s around the phone: visible at 30 fps
    closed = (channel(animation, "JawOpen") < 0.01) & (channel(animation, "MouthPressLeft") > 0.4)
    assert closed.any()
    assert np.all(np.abs(t[closed] - (start + 0.01)) <= 1 / 30)
    if fps >= 30:
        assert t[closed].max() - t[closed].min() >= 1 / 30 - 1 / fps - 1e-9


def test_labiodentals_show_the_lip_on_teeth_shape():
    animation = animate(track(("AA", 0.15), ("F", 0.03), ("IY", 0.15)), fps=60)
    inside = frames_in(animation, 0.45, 0.48)
    assert np.all(channel(animation, "MouthRollLower")[inside] >= 0.59)
    assert np.all(channel(animation, "MouthUpperUpLeft")[inside] >= 0.29)


def test_lips_round_ahead_of_a_rounded_vowel():
    animation = animate(track(("S", 0.1), ("UW", 0.2)), fps=100)
    pucker = channel(animation, "MouthPucker")
    during_s = pucker[frames_in(animation, 0.35, 0.4)]
    assert during_s.mean() > 0.15  # already rounding during the S
    spread = animate(track(("S", 0.1), ("IY", 0.2)), fps=100)
    assert channel(spread, "MouthPucker")[frames_in(spread, 0.35, 0.4)].max() < 0.05


def test_a_very_short_phone_does_not_flicker():
    animation = animate(track(("M", 0.1), ("AA", 0.01), ("M", 0.1)), fps=100)
    jaw = channel(animation, "JawOpen")
    assert jaw.max() < 0.2  # a 10 ms vowel barely opens the mouth
    steps = np.abs(np.diff(jaw))
    assert steps.max() < 0.2


def test_silence_relaxes_to_rest():
    animation = animate(track(("AA", 0.2), tail=1.0), fps=30)
    rest = animation.values[frames_in(animation, 0.8, 1.5), :52]
    assert np.abs(rest).max() < 1e-3


def test_louder_frames_open_the_jaw_wider():
    values, _ = to_curves(to_visemes(track(("AA", 0.5))), fps=50)  # the vowel is frames 15-40
    level = np.full(len(values), -20.0)
    level[15:22] = -8.0  # a loud moment, 12 dB over the typical level
    out = modulate_jaw(values, level)
    jaw = CHANNEL_INDEX["JawOpen"]
    assert np.all(out[17:22, jaw] > values[17:22, jaw] * 1.25)
    np.testing.assert_array_equal(out[25:40, jaw], values[25:40, jaw])
    assert out.min() >= 0 and out.max() <= 1


def test_viseme_weights_are_a_distribution_that_peaks_on_the_spoken_viseme():
    animation = animate(track(("AA", 0.2), ("UW", 0.2)), fps=60)
    weights = animation.viseme_weights
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-5)
    assert weights[frames_in(animation, 0.38, 0.42)].mean(0).argmax() == 10  # aa
    assert weights[frames_in(animation, 0.58, 0.62)].mean(0).argmax() == 14  # U


@pytest.mark.parametrize(
    "spec, expected",
    [
        ([("AA", 0.2)], "XDX"),  # open wide
        ([("M", 0.1), ("AA", 0.2)], "XADX"),  # closed, then wide
        ([("AA", 0.2), ("P", 0.08), ("AA", 0.2)], "XDADX"),  # occlusion before the plosive
        ([("F", 0.1), ("UW", 0.2)], "XGFX"),
        ([("L", 0.25)], "XHX"),  # a long L shows the tongue
        ([("AO", 0.2)], "XEX"),
        ([("OW", 0.3)], "XEFX"),  # diphthong: two shapes
        ([("AA", 0.2), ("sil", 0.08), ("AA", 0.2)], "XDX"),  # a very short pause holds the shape
        ([("AA", 0.2), ("sil", 0.25), ("AA", 0.2)], "XDCDX"),  # a short pause relaxes
        ([("AA", 0.2), ("sil", 0.6), ("AA", 0.2)], "XDXDX"),  # a long pause rests
    ],
)
def test_rhubarb_cues_follow_rhubarbs_shape_conventions(spec, expected):
    cues = to_cues(track(*spec))
    assert "".join(s.label for s in cues.segments) == expected
    assert cues.segments[0].start == 0 and cues.segments[-1].end == pytest.approx(cues.duration)


def test_animation_is_deterministic_and_sized_by_fps():
    phones = track(("HH", 0.05), ("EH", 0.1), ("L", 0.05), ("OW", 0.2))
    a, b = animate(phones, fps=60), animate(phones, fps=60)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.frame_count == int(np.ceil(phones.duration * 60))
    assert animate(phones, fps=1).frame_count == 1


def test_closures_are_eased_in_and_out_not_popped():
    animation = animate(track(("AA", 0.2), ("P", 0.06), ("AA", 0.2)), fps=60)
    jaw = channel(animation, "JawOpen")
    assert jaw.max() > 0.4 and jaw[frames_in(animation, 0.5, 0.56)].max() < 0.01
    assert np.abs(np.diff(jaw)).max() < 0.25  # no one-frame jump from open to closed


def test_no_cue_is_shorter_than_an_animation_frame():
    # A short diphthong between W and a plosive's occlusion gave a 10 ms C.
    phones = track(("W", 0.07), ("AY", 0.05), ("T", 0.03), ("G", 0.07), ("IH", 0.09), ("P", 0.05), ("AA", 0.1))
    cues = to_cues(phones)
    inside = cues.segments[1:-1]
    assert min(s.end - s.start for s in inside) >= 0.04 - 1e-9
    assert "A" in [s.label for s in cues.segments]  # the closure is kept
    # A 20 ms /m/ closes the lips for 40 ms, from 20 ms before it (the vowel before ends earlier).
    brief = [s for s in to_cues(track(("AA", 0.1), ("M", 0.02), ("AA", 0.1))).segments if s.label == "A"]
    assert [(s.start, s.end) for s in brief] == [pytest.approx((0.38, 0.42))]
    assert all(a.end == pytest.approx(b.start) for a, b in zip(cues.segments, cues.segments[1:]))
    assert cues.segments[0].start == 0 and cues.segments[-1].end == pytest.approx(cues.duration)


def test_heard_cue_shapes_open_where_the_jaw_opens_in_the_phones_shares():
    # The phones say: rest, B for 0.4 s, a closure, C for 0.4 s, D for 0.2 s, F, rest. The jaw
    # heard is wide open in the first 0.2 s of the B stretch and nearly shut everywhere else.
    cues = ShapeTrack(tuple(Segment(a, b, s) for a, b, s in [
        (0.0, 0.2, "X"), (0.2, 0.6, "B"), (0.6, 0.7, "A"), (0.7, 1.1, "C"), (1.1, 1.3, "D"), (1.3, 1.4, "F"),
        (1.4, 1.6, "X")]), 1.6)  # fmt: skip
    fps = 100
    jaw = np.full(160, 0.05)
    jaw[20:40] = 0.6  # wide open
    jaw[70:110] = np.linspace(0.1, 0.3, 40)  # opening slowly
    heard = heard_shapes(cues, jaw, fps)

    def at(t):
        return next(s.label for s in heard.segments if s.start <= t < s.end)

    assert [at(t) for t in (0.1, 0.65, 1.35, 1.5)] == ["X", "A", "F", "X"]  # what the lips do stays
    assert at(0.3) == "D"  # the wide-open jaw is the wide-open shape
    assert at(1.2) == "B"  # the phones' D where the jaw is shut is slightly open
    durations = {shape: sum(s.end - s.start for s in heard.segments if s.label == shape) for shape in "BCD"}
    assert durations == pytest.approx({"B": 0.4, "C": 0.4, "D": 0.2}, abs=0.041)  # the phones' shares
    assert heard.segments[0].start == 0 and heard.segments[-1].end == pytest.approx(1.6)
