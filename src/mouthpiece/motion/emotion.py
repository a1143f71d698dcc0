"""Emotion: a facial expression laid over the speech curves without hiding the speech.

Sketch. Each emotion is a pose, ARKit blendshape weights at full intensity
(``EMOTION_POSES``, after FACS: happy is AU6 + AU12, sad AU1 + AU4 + AU15, angry
AU4 + AU7 + AU9 + AU24, surprised AU1 + AU2 + AU5 + AU26), scaled by the intensity and
added to every frame. On the mouth the expression competes with articulation, so each
mouth channel's offset gives way (``SPEECH_YIELD``) in proportion to how closed
(P B M, F V), rounded (OO, OH, SH, R) or open the speech curves have the mouth at
that frame: a smile relaxes through "b" and "oo" and comes back on "ee". Blendshapes
are clipped to [0, 1]; head and eye rotations are left alone.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import InputError
from ..types import Animation
from . import rules

EMOTIONS = ("neutral", "happy", "sad", "angry", "surprised")

# ARKit blendshape weights at intensity 1; ``*`` stands for the Left and Right pair.
EMOTION_POSES: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {"MouthSmile*": 0.55, "CheekSquint*": 0.45, "EyeSquint*": 0.20, "MouthDimple*": 0.15},
    "sad": {
        "MouthFrown*": 0.45, "BrowInnerUp": 0.55, "BrowDown*": 0.15, "EyeSquint*": 0.15,
        "MouthShrugLower": 0.20,
    },
    "angry": {
        "BrowDown*": 0.65, "EyeSquint*": 0.35, "NoseSneer*": 0.35, "MouthPress*": 0.30,
        "MouthFrown*": 0.10,
    },
    "surprised": {"EyeWide*": 0.60, "BrowInnerUp": 0.60, "BrowOuterUp*": 0.55, "JawOpen": 0.12},
}  # fmt: skip

# Mouth channels whose emotion offset gives way to speech: the fraction removed when the
# lips are fully closed (P B M, F V), fully rounded, and when the jaw is fully open.
# The rest (brows, eyes, cheeks, nose) keep their offset throughout.
SPEECH_YIELD: dict[str, tuple[float, float, float]] = {
    "MouthSmile*": (0.8, 0.8, 0.0),
    "MouthDimple*": (0.8, 0.8, 0.0),
    "MouthFrown*": (0.5, 0.6, 0.0),
    "MouthShrugLower": (0.5, 0.6, 0.5),
    "MouthPress*": (0.0, 0.8, 0.9),
    "JawOpen": (1.0, 0.3, 0.0),
}

# How the speech curves say the mouth is closed, rounded or open: a channel and the weight
# at which it counts as fully so (the strongest pose of that kind in ``rules.VISEME_POSES``).
CLOSING = {
    "MouthPressLeft": rules.VISEME_POSES["PP"]["MouthPress*"],
    "MouthRollLower": rules.VISEME_POSES["FF"]["MouthRollLower"],
}
ROUNDING = {name: max(pose.get(name, 0.0) for pose in rules.VISEME_POSES.values()) for name in rules.ROUNDING_CHANNELS}
OPENING = {"JawOpen": max(pose.get("JawOpen", 0.0) for pose in rules.VISEME_POSES.values())}


def check_emotion(emotion: str, intensity: float) -> None:
    """Raise InputError unless ``emotion`` is one of ``EMOTIONS`` and ``intensity`` a number in [0, 1]."""
    if emotion not in EMOTIONS:
        raise InputError(f"Unknown emotion {emotion!r}; expected one of {', '.join(EMOTIONS)}.")
    if isinstance(intensity, bool) or not isinstance(intensity, (int, float, np.number)) or not 0 <= intensity <= 1:
        raise InputError(f"Emotion intensity must be a number between 0 and 1, got {intensity!r}.")


def apply_emotion(animation: Animation, emotion: str, intensity: float) -> Animation:
    """An Animation showing ``emotion`` at ``intensity`` while it speaks.

    Parameters
    ----------
    animation : Animation, usually from :func:`mouthpiece.motion.animate`
    emotion : str, one of ``EMOTIONS``
    intensity : float in [0, 1], 1 is the full ``EMOTION_POSES`` pose

    Returns
    -------
    Animation
        A copy with the pose added (the mouth's part easing off on closures, rounded and
        wide-open shapes), blendshapes clipped to [0, 1]; ``neutral`` or intensity 0
        gives the values unchanged. Channels the animation does not carry are skipped.

    Examples
    --------
    >>> from mouthpiece.vocabulary import CHANNELS
    >>> still = Animation(fps=30, values=np.zeros((3, len(CHANNELS))))
    >>> round(float(apply_emotion(still, "happy", 0.5).channel("MouthSmileLeft")[0]), 4)
    0.275
    """
    if not isinstance(animation, Animation):
        raise InputError(f"Expected mouthpiece.types.Animation, got {type(animation).__name__}.")
    check_emotion(emotion, intensity)
    values = animation.values.copy()
    if emotion == "neutral" or intensity == 0 or animation.frame_count == 0:
        return replace(animation, values=values)

    closed = _extent(animation, CLOSING)
    rounded = _extent(animation, ROUNDING)
    opened = _extent(animation, OPENING)
    for pattern, weight in EMOTION_POSES[emotion].items():
        closing, rounding, opening = SPEECH_YIELD.get(pattern, (0.0, 0.0, 0.0))
        gain = (1 - closing * closed) * (1 - rounding * rounded) * (1 - opening * opened)
        for name in _expand(pattern):
            if name in animation.channels:
                column = animation.channels.index(name)
                values[:, column] = np.clip(values[:, column] + float(intensity) * weight * gain, 0, 1)
    return replace(animation, values=values)


def _expand(pattern: str) -> tuple[str, ...]:
    """``"MouthSmile*"`` -> its Left and Right channels; any other name -> itself."""
    return (pattern[:-1] + "Left", pattern[:-1] + "Right") if pattern.endswith("*") else (pattern,)


def _extent(animation: Animation, signs: dict[str, float]) -> np.ndarray:
    """Per frame, in [0, 1], how fully the speech curves show any of ``signs`` (channel -> full weight)."""
    extent = np.zeros(animation.frame_count, np.float32)
    for name, full in signs.items():
        if name in animation.channels:
            extent = np.maximum(extent, np.clip(animation.channel(name) / full, 0, 1))
    return extent
