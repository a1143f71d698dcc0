"""The fixed name sets every stage agrees on: phones, visemes, mouth shapes, channels.

- ``PHONES``: the one phone inventory, ARPAbet without stress (CMUdict's 39), the
  schwa ``AX`` and ``sil``. IPA from espeak-ng is mapped onto it in :mod:`mouthpiece.phonetics.inventory`.
- ``VISEMES``: the Oculus/Meta 15 visemes.
- ``SHAPES``: Rhubarb Lip Sync's mouth shapes, A-F basic, G H X extended.
- ``CHANNELS``: the Animation columns, in Live Link Face CSV order: the 52 ARKit
  blendshapes, then head yaw/pitch/roll, then left and right eye yaw/pitch/roll.
"""

from __future__ import annotations

SILENCE = "sil"

PHONES: tuple[str, ...] = (
    SILENCE,
    # vowels (AX is the unstressed schwa, which the lips treat apart from stressed AH)
    "AA", "AE", "AH", "AX", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW",
    # consonants
    "B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S", "SH",
    "T", "TH", "V", "W", "Y", "Z", "ZH",
)  # fmt: skip

VOWELS = frozenset(PHONES[1:17])

VISEMES: tuple[str, ...] = (
    "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "I", "O", "U",
)  # fmt: skip

BASIC_SHAPES: tuple[str, ...] = ("A", "B", "C", "D", "E", "F")
EXTENDED_SHAPES: tuple[str, ...] = ("G", "H", "X")
SHAPES: tuple[str, ...] = BASIC_SHAPES + EXTENDED_SHAPES

# The 52 ARKit blendshapes in Live Link Face's CSV column order.
ARKIT_BLENDSHAPES: tuple[str, ...] = (
    "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft",
    "EyeSquintLeft", "EyeWideLeft",
    "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight", "EyeLookOutRight", "EyeLookUpRight",
    "EyeSquintRight", "EyeWideRight",
    "JawForward", "JawRight", "JawLeft", "JawOpen",
    "MouthClose", "MouthFunnel", "MouthPucker", "MouthRight", "MouthLeft",
    "MouthSmileLeft", "MouthSmileRight", "MouthFrownLeft", "MouthFrownRight",
    "MouthDimpleLeft", "MouthDimpleRight", "MouthStretchLeft", "MouthStretchRight",
    "MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper",
    "MouthPressLeft", "MouthPressRight", "MouthLowerDownLeft", "MouthLowerDownRight",
    "MouthUpperUpLeft", "MouthUpperUpRight",
    "BrowDownLeft", "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft", "BrowOuterUpRight",
    "CheekPuff", "CheekSquintLeft", "CheekSquintRight",
    "NoseSneerLeft", "NoseSneerRight", "TongueOut",
)  # fmt: skip

# Rotations, in radians as Live Link Face writes them.
POSE_CHANNELS: tuple[str, ...] = (
    "HeadYaw", "HeadPitch", "HeadRoll",
    "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)  # fmt: skip

CHANNELS: tuple[str, ...] = ARKIT_BLENDSHAPES + POSE_CHANNELS
CHANNEL_INDEX: dict[str, int] = {name: i for i, name in enumerate(CHANNELS)}

assert len(ARKIT_BLENDSHAPES) == 52 and len(PHONES) == 41 and len(VISEMES) == 15
