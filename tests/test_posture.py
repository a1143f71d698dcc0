"""The lips' posture a dub takes from the video (render/posture.py)."""

from __future__ import annotations

import numpy as np

from mouthpiece.render.posture import PRIOR_FRAMES, LipPosture

READ = ("JawOpen", "MouthUpperUpLeft", "MouthFunnel", "MouthLowerDownLeft")
CHANNELS = ("EyeBlinkLeft", "JawOpen", "MouthFunnel", "MouthUpperUpLeft", "MouthLowerDownLeft")


def speech(frames: int, seed: int = 0) -> np.ndarray:
    """Rows of a talking mouth: every channel moving between 0 and about 0.4."""
    rng = np.random.default_rng(seed)
    rows = np.clip(0.2 + 0.15 * rng.standard_normal((frames, len(CHANNELS))), 0.0, 1.0).astype(np.float32)
    rows[:, 0] = 0.0
    return rows


def posture_of(upper_up: float, funnel: float) -> LipPosture:
    posture = LipPosture(READ, CHANNELS)
    for _ in range(30):  # the video's first look: the person holds the upper lip high, little rounding
        posture.see(np.array([0.5, upper_up, funnel, 0.3]))
    return posture


def test_the_new_speech_takes_on_the_persons_posture_and_keeps_its_own_motion():
    posture = posture_of(upper_up=0.5, funnel=0.05)
    rows = speech(400)
    out = np.array([posture(row) for row in rows])
    tail = slice(200, None)  # once the running mean has left its prior
    up, funnel = CHANNELS.index("MouthUpperUpLeft"), CHANNELS.index("MouthFunnel")
    assert abs(out[tail, up].mean() - 0.5) < 0.03  # raised to the person's mean
    assert abs(out[tail, funnel].mean() - 0.05) < 0.02  # lowered to it, by scaling: never below 0
    assert out.min() >= 0.0 and out.max() <= 1.0
    for k in (up, funnel):  # the speech's own motion is kept
        assert np.corrcoef(out[tail, k], rows[tail, k])[0, 1] > 0.99
    for name in ("JawOpen", "MouthLowerDownLeft", "EyeBlinkLeft"):  # the opening is the speech's; others untouched
        k = CHANNELS.index(name)
        assert np.array_equal(out[:, k], rows[:, k])


def test_a_mouth_comes_to_rest_when_the_speech_does():
    posture = posture_of(upper_up=0.5, funnel=0.05)
    for row in speech(100):
        posture(row)
    rest = np.zeros(len(CHANNELS), np.float32)
    lifted = [float(posture(rest).max()) for _ in range(75)]  # 3 s of rest at 25 frames/s
    assert lifted[0] > 0.1  # a pause keeps the posture for a while (no pop between words)...
    assert all(b <= a for a, b in zip(lifted, lifted[1:]))  # ...then it eases out
    assert lifted[-1] < 0.001  # and the mouth rests as the speech has it


def test_the_posture_phases_in_from_the_first_frame():
    posture = posture_of(upper_up=0.5, funnel=0.05)
    row = speech(1)[0]
    first = posture(row)
    k = CHANNELS.index("MouthUpperUpLeft")
    assert abs(first[k] - row[k]) < 0.5 / PRIOR_FRAMES * 2  # the running mean starts at the person's: no jump


def test_without_a_first_look_nothing_changes():
    posture = LipPosture(READ, CHANNELS)
    row = speech(1)[0]
    assert np.array_equal(posture(row), row)
