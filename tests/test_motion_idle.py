"""Idle life (blinks, head, gaze, brows) and emotion, on espeak-ng speech and on silence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mouthpiece import motion
from mouthpiece.api import to_animation
from mouthpiece.errors import InputError
from mouthpiece.motion import EMOTIONS, add_idle, apply_emotion
from mouthpiece.types import Animation, Audio
from mouthpiece.vocabulary import ARKIT_BLENDSHAPES, CHANNELS

HEAD_LIMITS = {"HeadYaw": 4.0, "HeadPitch": 3.0, "HeadRoll": 2.0}  # degrees
IDLE_CHANNELS = {
    "EyeBlinkLeft", "EyeBlinkRight", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft",
    "EyeLookDownRight", "EyeLookInRight", "EyeLookOutRight", "EyeLookUpRight",
    "BrowInnerUp", "BrowOuterUpLeft", "BrowOuterUpRight",
    "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "RightEyeYaw", "RightEyePitch",
}  # fmt: skip


def still(seconds: float, fps: float) -> Animation:
    return Animation(fps=fps, values=np.zeros((round(seconds * fps), len(CHANNELS)), np.float32))


def silence(seconds: float) -> Audio:
    return Audio(np.zeros(round(seconds * 16_000), np.float32))


def degrees(animation: Animation, name: str) -> np.ndarray:
    return np.degrees(animation.channel(name).astype(np.float64))


def blink_onsets(animation: Animation) -> np.ndarray:
    lid = animation.channel("EyeBlinkLeft")
    return np.flatnonzero((lid[1:] >= 0.5) & (lid[:-1] < 0.5)) + 1


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


@pytest.fixture(scope="module")
def speech20(spoken) -> Audio:
    """About 20 s of speech: the fixture sentence seven times."""
    return Audio(np.tile(spoken.audio.samples, 7), spoken.audio.sample_rate)


# --- Blinks ------------------------------------------------------------------------------


def test_blink_rate_and_intervals_are_natural(speech20):
    onsets = []
    for seed in range(3):
        quiet = add_idle(still(120, 25), silence(120), seed=seed)
        onsets.append(blink_onsets(quiet) / 25)
        assert 10 <= len(onsets[-1]) / 2 <= 24  # blinks per minute
    gaps = np.concatenate([np.diff(o) for o in onsets])
    assert 2.5 <= np.median(gaps) <= 4.5
    assert np.mean(gaps < 1.0) < 0.2  # short gaps are the occasional double blink
    assert np.mean(gaps > 9.0) < 0.05
    talking = add_idle(still(speech20.duration, 25), speech20, seed=0)
    assert 2 <= len(blink_onsets(talking)) <= 12


@pytest.mark.parametrize("fps", [1, 5, 12, 24, 25, 30, 60, 240])
def test_every_blink_closes_the_eyes_fully_at_any_fps(fps):
    animation = add_idle(still(30, fps), silence(30), seed=3)
    lid = animation.channel("EyeBlinkLeft")
    blinks = runs(lid > 0.1)
    assert len(blinks) >= 3
    assert all(lid[a:b].max() >= 0.95 for a, b in blinks)
    np.testing.assert_array_equal(lid, animation.channel("EyeBlinkRight"))


def test_blinks_close_fast_and_open_slower():
    lid = add_idle(still(20, 240), silence(20), seed=0).channel("EyeBlinkLeft")
    for a, b in runs(lid >= 0.5):
        closed = np.flatnonzero(lid[a:b] >= 0.95)
        if np.any(np.diff(closed) > 1) or a == 0 or b == len(lid):  # a double blink, or cut by the ends
            continue
        # Seconds from half to fully closed and back: 36 % of each raised-cosine ramp.
        closing, opening = closed[0] / 240, (b - a - 1 - closed[-1]) / 240
        assert 0.06 <= closing / 0.356 <= 0.12 and 0.14 <= opening / 0.356 <= 0.21  # ~100 ms; 150-200 ms
        assert opening > 1.2 * closing


def test_idle_is_deterministic_per_seed_and_differs_across_seeds(speech20):
    animation = still(speech20.duration, 30)
    a, b = add_idle(animation, speech20, seed=7), add_idle(animation, speech20, seed=7)
    np.testing.assert_array_equal(a.values, b.values)
    c = add_idle(animation, speech20, seed=8)
    assert not np.array_equal(a.channel("EyeBlinkLeft"), c.channel("EyeBlinkLeft"))
    assert not np.array_equal(a.channel("LeftEyeYaw"), c.channel("LeftEyeYaw"))


# --- Head ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fps", [25, 60])
@pytest.mark.parametrize("talk", [True, False])
def test_head_stays_within_a_few_degrees_moves_smoothly_and_starts_at_rest(speech20, fps, talk):
    audio = speech20 if talk else silence(speech20.duration)
    animation = add_idle(still(speech20.duration, fps), audio, seed=1)
    for name, limit in HEAD_LIMITS.items():
        angle = degrees(animation, name)
        assert np.abs(angle).max() <= limit
        assert np.abs(np.diff(angle)).max() * fps < 40  # degrees per second
        assert abs(angle[0]) < 0.05


def test_the_head_moves_more_while_speaking_than_in_silence(speech20):
    def travel(audio: Audio) -> float:
        animation = add_idle(still(speech20.duration, 30), audio, seed=2)
        return sum(float(np.abs(np.diff(degrees(animation, name))).sum()) for name in HEAD_LIMITS)

    assert travel(speech20) > 3 * travel(silence(speech20.duration))


def test_idle_leaves_the_speech_curves_alone(spoken):
    animation = to_animation(spoken.phones, audio=spoken.audio, fps=60)
    alive = add_idle(animation, spoken.audio, seed=0)
    others = [i for i, name in enumerate(CHANNELS) if name not in IDLE_CHANNELS]
    np.testing.assert_array_equal(alive.values[:, others], animation.values[:, others])
    assert alive.fps == animation.fps and alive.phones == animation.phones and alive.cues == animation.cues
    np.testing.assert_array_equal(alive.viseme_weights, animation.viseme_weights)
    assert np.abs(alive.channel("JawOpen") - animation.channel("JawOpen")).max() == 0


# --- Gaze -----------------------------------------------------------------------------------


def test_gaze_shifts_stay_small_and_the_eye_blendshapes_agree_with_the_angles(speech20):
    animation = add_idle(still(speech20.duration, 60), speech20, seed=4)
    yaw, pitch = degrees(animation, "LeftEyeYaw"), degrees(animation, "LeftEyePitch")
    np.testing.assert_array_equal(yaw, degrees(animation, "RightEyeYaw"))
    np.testing.assert_array_equal(pitch, degrees(animation, "RightEyePitch"))
    assert np.abs(yaw).max() <= 8.0 + 1e-4 and np.abs(pitch).max() <= 5.0 + 1e-4
    assert np.abs(yaw).max() > 1.0  # the eyes do move
    saccades = runs(np.abs(np.diff(yaw)) > 0.4)  # > 24 degrees/s: faster than the head ever turns
    assert 3 <= len(saccades) <= 25
    assert all(b - a <= 5 for a, b in saccades)  # each over within ~80 ms (60 ms, plus the head)

    def look(name: str) -> np.ndarray:
        return animation.channel(name)

    left, right = yaw > 0.1, yaw < -0.1  # the subject's left and right
    assert left.any() and right.any()
    assert np.all(look("EyeLookOutLeft")[left] > 0) and np.all(look("EyeLookInRight")[left] > 0)
    assert np.all(look("EyeLookInLeft")[left] == 0) and np.all(look("EyeLookOutRight")[left] == 0)
    assert np.all(look("EyeLookInLeft")[right] > 0) and np.all(look("EyeLookOutRight")[right] > 0)
    assert np.all(look("EyeLookOutLeft")[right] == 0) and np.all(look("EyeLookInRight")[right] == 0)
    up, down = pitch > 0.1, pitch < -0.1
    assert np.all(look("EyeLookUpLeft")[up] > 0) and np.all(look("EyeLookDownRight")[up] == 0)
    assert np.all(look("EyeLookDownLeft")[down] > 0) and np.all(look("EyeLookUpRight")[down] == 0)


# --- Brows ----------------------------------------------------------------------------------


def test_brows_rise_on_the_most_emphasized_syllables_only(speech20, spoken):
    talking = add_idle(still(speech20.duration, 30), speech20, seed=0)
    brow = talking.channel("BrowInnerUp")
    raises = runs(brow > 0.05)
    syllables = 7 * sum(p.label in ("IY", "AE", "AX", "IH", "UW", "OW", "AH", "AA") for p in spoken.phones.phones)
    assert 3 <= len(raises) <= syllables / 3
    assert 0.3 <= brow.max() <= 0.55
    assert talking.channel("BrowOuterUpLeft").max() > 0.2
    quiet = add_idle(still(20, 30), silence(20), seed=0)
    assert quiet.channel("BrowInnerUp").max() == 0


# --- Edge cases ---------------------------------------------------------------------------


def test_idle_copes_with_empty_short_and_partial_input(speech20):
    empty = Animation(fps=30, values=np.zeros((0, len(CHANNELS))))
    assert add_idle(empty, speech20).frame_count == 0
    mute = add_idle(still(5, 30), Audio(np.zeros(0, np.float32)))  # no audio at all: silence
    assert mute.channel("EyeBlinkLeft").max() >= 0.95
    one = add_idle(Animation(fps=30, values=np.zeros((1, len(CHANNELS)))), speech20)
    assert one.frame_count == 1 and np.all(np.abs(one.values) < 1e-3)  # at rest at the start
    some = Animation(fps=30, values=np.zeros((90, 2)), channels=("JawOpen", "HeadYaw"))
    assert add_idle(some, speech20).channel("JawOpen").max() == 0


def test_idle_on_long_audio_is_chunked_and_keeps_its_rates():
    minutes = 2.5 + 1 / 60  # not a whole number of analysis chunks
    rng = np.random.default_rng(0)
    hiss = Audio((0.01 * rng.standard_normal(round(minutes * 60 * 16_000))).astype(np.float32))
    animation = add_idle(still(minutes * 60, 60), hiss, seed=5)
    assert 10 <= len(blink_onsets(animation)) / minutes <= 24
    assert np.abs(degrees(animation, "HeadYaw")).max() <= 4


@pytest.mark.parametrize(
    "animation, audio, seed",
    [
        ("not an animation", silence(1), 0),
        (still(1, 30), np.zeros(16_000), 0),
        (still(1, 30), silence(1), 1.5),
        (still(1, 30), silence(1), "1"),
        (still(1, 30), silence(1), -1),
    ],
)
def test_idle_rejects_bad_input(animation, audio, seed):
    with pytest.raises(InputError):
        add_idle(animation, audio, seed=seed)


# --- Emotion ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "emotion, raised",
    [
        ("happy", ["MouthSmileLeft", "MouthSmileRight", "CheekSquintLeft", "CheekSquintRight", "EyeSquintLeft"]),
        ("sad", ["MouthFrownLeft", "MouthFrownRight", "BrowInnerUp"]),
        ("angry", ["BrowDownLeft", "BrowDownRight", "NoseSneerLeft", "MouthPressLeft", "EyeSquintRight"]),
        ("surprised", ["EyeWideLeft", "EyeWideRight", "BrowInnerUp", "BrowOuterUpLeft", "JawOpen"]),
    ],
)
def test_emotions_raise_their_channels_and_stay_in_range(spoken, emotion, raised):
    animation = to_animation(spoken.phones, audio=spoken.audio, fps=30)
    for intensity in (0.5, 1.0):
        felt = apply_emotion(animation, emotion, intensity)
        rest = np.abs(animation.values[:, :52]).max(axis=1) < 1e-3  # the silent frames
        for name in raised:
            assert np.all(felt.channel(name)[rest] >= animation.channel(name)[rest] + 0.1 * intensity), name
        assert felt.values[:, :52].min() >= 0 and felt.values[:, :52].max() <= 1
        np.testing.assert_array_equal(felt.values[:, 52:], animation.values[:, 52:])
    full = Animation(fps=30, values=np.ones((4, len(CHANNELS))))
    assert apply_emotion(full, emotion, 1.0).values[:, :52].max() <= 1


def test_the_smile_gives_way_to_closures_and_rounding(spoken):
    animation = to_animation(spoken.phones, audio=spoken.audio, fps=60)
    smile = apply_emotion(animation, "happy", 1.0).channel("MouthSmileLeft") - animation.channel("MouthSmileLeft")
    full = smile.max()
    closed = animation.channel("MouthPressLeft") >= 0.44  # P B M held
    rounded = animation.channel("MouthPucker") >= 0.6  # the OO of "blue"
    spread = sum(animation.channel(name) for name in ("MouthPucker", "MouthFunnel", "MouthPressLeft")) < 0.05
    open_ = (animation.channel("JawOpen") > 0.3) & spread
    assert closed.sum() >= 10 and rounded.any() and open_.any()
    assert np.all(smile[closed] <= 0.3 * full) and np.all(smile[rounded] <= 0.5 * full)
    assert np.all(smile[open_] >= 0.7 * full)
    # The lips still close: a closure's jaw stays shut under surprise's open jaw.
    surprised = apply_emotion(animation, "surprised", 1.0)
    assert surprised.channel("JawOpen")[closed].max() <= 0.01


def test_neutral_and_zero_intensity_change_nothing(spoken):
    animation = to_animation(spoken.phones, audio=spoken.audio, fps=30)
    for emotion, intensity in (("neutral", 1.0), ("happy", 0.0), ("angry", 0)):
        np.testing.assert_array_equal(apply_emotion(animation, emotion, intensity).values, animation.values)
    assert set(EMOTIONS) == {"neutral", "happy", "sad", "angry", "surprised"}


@pytest.mark.parametrize(
    "emotion, intensity",
    [("joyful", 0.5), ("Happy", 0.5), ("happy", -0.1), ("happy", 1.5), ("happy", math.nan), ("happy", "0.5")],
)
def test_emotion_rejects_an_unknown_name_or_an_intensity_outside_0_1(emotion, intensity):
    with pytest.raises(InputError, match="emotion|intensity"):
        apply_emotion(still(1, 30), emotion, intensity)


def test_idle_and_emotion_are_public_motion_steps():
    assert {"add_idle", "apply_emotion", "EMOTIONS"} <= set(motion.__all__)
    assert len(ARKIT_BLENDSHAPES) == 52  # the [:52] slices above are the blendshapes
