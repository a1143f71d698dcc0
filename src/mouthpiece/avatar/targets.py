"""Which curve drives a morph target: rules for the names avatars give them.

A morph target's name is matched, ignoring case and the separators ``_ - . space``,
after dropping a namespace (what precedes the last ``.``, ``:`` or ``|``, as in
``blendShape1.jawOpen``) and, when that alone does not match, a common prefix
(``ARKit_``, ``bs_``, ``blendshape_``, ``morph_``, ``shape_``):

- the 52 ARKit names, their sides also as ``L``/``R`` suffixes: ``jawOpen``,
  ``JawOpen``, ``jaw_open``, ``eyeBlink_L``, ``eyeBlinkL``, ``EyeBlink_Left`` and
  ``eyeBlinkLeft`` are all the same target;
- Ready Player Me's Oculus visemes ``viseme_sil`` ... ``viseme_U``, driven by the
  Animation's viseme weights;
- Ready Player Me's default expressions: ``eyesClosed``, ``eyesLookUp``,
  ``eyesLookDown`` and ``mouthSmile``, the mean of the two sides' ARKit curves.

VRM expressions (:mod:`.vrm`) are driven from :data:`VRM_VOWELS` and the blink channels.

Examples
--------
>>> [arkit_channel(n) for n in ("blendShape1.jawOpen", "ARKit_jawOpen", "eyeBlink_L", "mouthOpen")]
['JawOpen', 'JawOpen', 'EyeBlinkLeft', None]
>>> viseme_name("viseme_PP"), viseme_name("Wolf3D_Head.viseme_aa"), viseme_name("aa")
('PP', 'aa', None)
"""

from __future__ import annotations

import re

from ..vocabulary import ARKIT_BLENDSHAPES, VISEMES

SIDES = {"Left": ("left", "l"), "Right": ("right", "r")}  # an ARKit side and how names spell it at the end
PREFIX = re.compile(r"^(arkit|blendshapes?\d*|bs|morph|shapes?)")  # on the simplified name
VISEME_PREFIX = "viseme"

# Ready Player Me's default (non-ARKit) expressions: the mean of these channels.
RPM_EXPRESSIONS: dict[str, tuple[str, ...]] = {
    "eyesclosed": ("EyeBlinkLeft", "EyeBlinkRight"),
    "eyeslookup": ("EyeLookUpLeft", "EyeLookUpRight"),
    "eyeslookdown": ("EyeLookDownLeft", "EyeLookDownRight"),
    "mouthsmile": ("MouthSmileLeft", "MouthSmileRight"),
}

# VRM 1.0 vowel expressions and the Oculus viseme that drives each.
VRM_VOWELS: dict[str, str] = {"aa": "aa", "ih": "I", "ou": "U", "ee": "E", "oh": "O"}
# VRM 0.x preset names (lower case) as their VRM 1.0 expressions.
VRM0_PRESETS: dict[str, str] = {
    "a": "aa", "i": "ih", "u": "ou", "e": "ee", "o": "oh",
    "blink": "blink", "blink_l": "blinkLeft", "blink_r": "blinkRight",
    "joy": "happy", "angry": "angry", "sorrow": "sad", "fun": "relaxed",
}  # fmt: skip
VRM_BLINKS: dict[str, tuple[str, ...]] = {
    "blinkLeft": ("EyeBlinkLeft",), "blinkRight": ("EyeBlinkRight",), "blink": ("EyeBlinkLeft", "EyeBlinkRight"),
}  # fmt: skip

# What moves the mouth, and the eyelids, comes from one source: the first of these an avatar has.
MOUTH_KEY = "JawOpen"  # an avatar with this ARKit target moves its mouth with the ARKit targets
EYELID_KEYS = ("EyeBlinkLeft", "EyeBlinkRight")  # with either, its eyelids move with the ARKit targets


def simplify(name: str) -> str:
    """Lower case, letters and digits only, namespace dropped (a Blender side suffix ``.L`` kept).

    >>> simplify("blendShape1.eyeBlink_L"), simplify("mixamorig:Head"), simplify("eyeBlink.R")
    ('eyeblinkl', 'head', 'eyeblinkr')
    """
    parts = re.split(r"[.:|]", name)
    last = parts[-1]
    if len(parts) > 1 and last.lower() in ("l", "r", "left", "right"):
        last = parts[-2] + last
    return re.sub(r"[^a-z0-9]", "", last.lower())


def _arkit_spellings() -> dict[str, str]:
    spellings: dict[str, str] = {}
    for channel in ARKIT_BLENDSHAPES:
        base, side = channel, None
        for full in SIDES:
            if channel.endswith(full):
                base, side = channel[: -len(full)], full
        keys = [base.lower() + ending for ending in SIDES[side]] if side else [channel.lower()]
        for key in keys:
            assert key not in spellings, key  # the spellings must not collide
            spellings[key] = channel
    return spellings


ARKIT_SPELLINGS = _arkit_spellings()
VISEME_SPELLINGS = {VISEME_PREFIX + v.lower(): v for v in VISEMES}


def arkit_channel(name: str) -> str | None:
    """The ARKit channel a morph target named ``name`` is, or None."""
    key = simplify(name)
    if key in ARKIT_SPELLINGS:
        return ARKIT_SPELLINGS[key]
    return ARKIT_SPELLINGS.get(PREFIX.sub("", key))


def viseme_name(name: str) -> str | None:
    """The Oculus viseme (``VISEMES``) a morph target named ``name`` is, or None."""
    return VISEME_SPELLINGS.get(simplify(name))


def rpm_expression(name: str) -> tuple[str, ...] | None:
    """The ARKit channels whose mean drives a Ready Player Me expression named ``name``, or None."""
    return RPM_EXPRESSIONS.get(simplify(name))


def vrm_expression(preset: str, *, version: int) -> str:
    """A VRM expression preset's VRM 1.0 name (a VRM 0.x ``presetName`` is translated)."""
    return VRM0_PRESETS.get(preset.lower(), preset) if version == 0 else preset
