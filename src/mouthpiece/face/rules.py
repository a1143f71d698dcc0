"""How each ARKit blendshape moves a face, as data.

``RIG_MOVES[channel]`` lists the moves that make up that channel at weight 1. A move is
``(name, amount)``:

- ``name`` a region of :mod:`~mouthpiece.face.regions` (``"jaw"``, ``"cornerLeft"``, ...)
  and ``amount`` a displacement ``(dx, dy, dz)`` in face units (one unit is the distance
  between the eye centres; x towards the subject's left, y down, z away from the
  camera): every landmark moves by it times its weight in the region;
- or ``name`` a field (``"closeEyeLeft"``, ``"gather"``, ...) and ``amount`` a scale.

A name may multiply in further regions with ``*``: ``"lowerLip*sideLeft"`` is the lower
lip, fading out towards the subject's right corner. Magnitudes are set so that our
viseme poses (:data:`mouthpiece.motion.rules.VISEME_POSES`) open the mouth as far as
people do in speech: "aa" (jawOpen 0.62, lowerDown 0.3) parts the lips by about 0.3
face units, some 20 mm.
"""

from __future__ import annotations

JAW_DROP = 0.42  # face units the chin and lower lip drop at JawOpen 1
BLINK_OVERLAP = 1.2  # a closed upper lid reaches this far onto the lower lid (1 = just meets it)
# Of the jaw's opening, how much a full MouthPucker closes the lips (ARKit: "contraction and
# compression of both closed lips"; MouthFunnel is the rounded *open* shape). Without it a
# rounded vowel rendered as wide open as the jaw: the rendered mouth followed real footage
# worse (6 real clips, mouth found again in the render: r 0.458 without, 0.485 with).
PUCKER_CLOSES = 1.0

Move = tuple[str, "tuple[float, float, float] | float"]

RIG_MOVES: dict[str, tuple[Move, ...]] = {
    # Jaw
    "JawOpen": (("jaw", (0.0, JAW_DROP, 0.05)), ("gather", 0.04)),
    "JawForward": (("jaw", (0.0, -0.02, -0.10)),),
    "JawLeft": (("jaw", (0.08, 0.0, 0.0)),),
    "JawRight": (("jaw", (-0.08, 0.0, 0.0)),),
    # Lips
    "MouthClose": (("lowerLip", (0.0, -JAW_DROP, -0.05)),),
    # Funnel rounds and flares the lips without parting them further: the jaw parts them. With a
    # parting move the rig's lip gap followed real mouths worse (22 real clips, the rig's own gap
    # from our curves: mean r0 0.337 with it, 0.398 without; benchmarks/real_mouths.py --paths render).
    "MouthFunnel": (("gather", 0.22), ("thinUpper", -0.15), ("thinLower", -0.15)),
    "MouthPucker": (("gather", 0.35), ("thinUpper", -0.25), ("thinLower", -0.25)),
    "MouthLeft": (("mouth", (0.10, 0.0, 0.0)),),
    "MouthRight": (("mouth", (-0.10, 0.0, 0.0)),),
    "MouthSmileLeft": (("cornerLeft", (0.12, -0.12, 0.02)), ("cheekLeft", (0.04, -0.08, -0.02))),
    "MouthSmileRight": (("cornerRight", (-0.12, -0.12, 0.02)), ("cheekRight", (-0.04, -0.08, -0.02))),
    "MouthFrownLeft": (("cornerLeft", (0.02, 0.10, 0.0)),),
    "MouthFrownRight": (("cornerRight", (-0.02, 0.10, 0.0)),),
    "MouthDimpleLeft": (("cornerLeft", (0.05, 0.0, 0.02)),),
    "MouthDimpleRight": (("cornerRight", (-0.05, 0.0, 0.02)),),
    "MouthStretchLeft": (("cornerLeft", (0.09, 0.03, 0.0)), ("lowerLip*sideLeft", (0.0, 0.02, 0.0))),
    "MouthStretchRight": (("cornerRight", (-0.09, 0.03, 0.0)), ("lowerLip*sideRight", (0.0, 0.02, 0.0))),
    "MouthRollLower": (("thinLower", 0.55), ("lowerLip", (0.0, -0.02, 0.02))),
    "MouthRollUpper": (("thinUpper", 0.50),),
    "MouthShrugLower": (("lowerLip", (0.0, -0.05, -0.02)),),
    "MouthShrugUpper": (("upperLip", (0.0, -0.04, -0.01)),),
    "MouthPressLeft": (("thinUpper*sideLeft", 0.30), ("thinLower*sideLeft", 0.30)),
    "MouthPressRight": (("thinUpper*sideRight", 0.30), ("thinLower*sideRight", 0.30)),
    "MouthLowerDownLeft": (("lowerLip*sideLeft*mouthMiddle", (0.0, 0.12, 0.0)),),
    "MouthLowerDownRight": (("lowerLip*sideRight*mouthMiddle", (0.0, 0.12, 0.0)),),
    "MouthUpperUpLeft": (("upperLip*sideLeft*mouthMiddle", (0.0, -0.09, 0.0)),),
    "MouthUpperUpRight": (("upperLip*sideRight*mouthMiddle", (0.0, -0.09, 0.0)),),
    # Cheeks and nose
    "CheekPuff": (("cheekLeft", (0.07, 0.0, -0.05)), ("cheekRight", (-0.07, 0.0, -0.05))),
    "CheekSquintLeft": (("cheekLeft", (0.0, -0.05, 0.0)), ("squintEyeLeft", 0.15)),
    "CheekSquintRight": (("cheekRight", (0.0, -0.05, 0.0)), ("squintEyeRight", 0.15)),
    "NoseSneerLeft": (("noseWingLeft", (0.0, -0.05, 0.0)), ("upperLip*sideLeft", (0.0, -0.02, 0.0))),
    "NoseSneerRight": (("noseWingRight", (0.0, -0.05, 0.0)), ("upperLip*sideRight", (0.0, -0.02, 0.0))),
    # Eyes: the lids close onto the lower lid; the irises turn (In is towards the nose).
    "EyeBlinkLeft": (("closeEyeLeft", BLINK_OVERLAP),),
    "EyeBlinkRight": (("closeEyeRight", BLINK_OVERLAP),),
    "EyeWideLeft": (("widenEyeLeft", 0.35),),
    "EyeWideRight": (("widenEyeRight", 0.35),),
    "EyeSquintLeft": (("squintEyeLeft", 0.30), ("closeEyeLeft", 0.10)),
    "EyeSquintRight": (("squintEyeRight", 0.30), ("closeEyeRight", 0.10)),
    "EyeLookUpLeft": (("irisLeft", (0.0, -0.06, 0.0)), ("widenEyeLeft", 0.15)),
    "EyeLookUpRight": (("irisRight", (0.0, -0.06, 0.0)), ("widenEyeRight", 0.15)),
    "EyeLookDownLeft": (("irisLeft", (0.0, 0.05, 0.0)), ("closeEyeLeft", 0.25)),
    "EyeLookDownRight": (("irisRight", (0.0, 0.05, 0.0)), ("closeEyeRight", 0.25)),
    "EyeLookInLeft": (("irisLeft", (-0.07, 0.0, 0.0)),),
    "EyeLookInRight": (("irisRight", (0.07, 0.0, 0.0)),),
    "EyeLookOutLeft": (("irisLeft", (0.07, 0.0, 0.0)),),
    "EyeLookOutRight": (("irisRight", (-0.07, 0.0, 0.0)),),
    # Brows
    "BrowDownLeft": (("browLeft", (-0.03, 0.09, 0.0)),),
    "BrowDownRight": (("browRight", (0.03, 0.09, 0.0)),),
    "BrowInnerUp": (("browInnerLeft", (0.0, -0.12, 0.0)), ("browInnerRight", (0.0, -0.12, 0.0))),
    "BrowOuterUpLeft": (("browOuterLeft", (0.0, -0.09, 0.0)),),
    "BrowOuterUpRight": (("browOuterRight", (0.0, -0.09, 0.0)),),
}

# Teeth edges below the line where the lips meet at rest, face units: the upper incisors
# hang a little below it and the lower ones sit just behind them.
UPPER_TEETH_SHOW = 0.05
LOWER_TEETH_SHOW = 0.015
CLOSED_GAP = 0.01  # face units; lips parted less than this in a photo count as closed

# Points around the head that turn with it: the face outline pushed out from the face's
# centre by these factors (hair and skull above, the jaw's edge below), then a fixed ring
# further out that holds the background still.
HEAD_RING_SCALE = (1.25, 1.10)  # (at the top of the head, at the chin)
ANCHOR_RING_SCALE = (1.70, 1.50)
# A portrait's head ring reaches as far as its hair does (head_reach) down to the ears,
# less and less from REACH_FULL to REACH_UNTIL of the outline's height (below: long hair
# and shoulders, which stay).
REACH_FULL, REACH_UNTIL = 0.45, 0.7
HEAD_RING_FOLLOWS_JAW = 0.6  # the share of the face outline's expression moves the head ring takes
NECK_HEAD_WEIGHT = 0.4  # the share of a head turn the ring under the chin follows
# The head turns about a point on the neck: below the chin and behind the face, in face units.
PIVOT_BELOW_CHIN = 0.35
PIVOT_BEHIND_FACE = 0.70
