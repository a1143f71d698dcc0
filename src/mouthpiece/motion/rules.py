"""The motion stage's rules, as data: phone to viseme, viseme poses, Rhubarb shape choices.

Everything the motion algorithms look up lives here so it can be read, tuned and
documented in one place; the algorithms (``visemes.py``, ``curves.py``, ``cues.py``)
hold no phone or shape names of their own.
"""

from __future__ import annotations

# --- Phone -> Oculus viseme -------------------------------------------------------------
# The Oculus/Meta viseme reference: the viseme is what the lips, teeth and tongue show.
# HH takes the viseme of the phone after it (it is a breathy onset of that vowel), see
# ``TRANSPARENT_PHONES``.
PHONE_TO_VISEME: dict[str, str] = {
    "sil": "sil",
    "P": "PP", "B": "PP", "M": "PP",
    "F": "FF", "V": "FF",
    "TH": "TH", "DH": "TH",
    "T": "DD", "D": "DD",
    "K": "kk", "G": "kk", "NG": "kk",
    "CH": "CH", "JH": "CH", "SH": "CH", "ZH": "CH",
    "S": "SS", "Z": "SS",
    "N": "nn", "L": "nn",
    "R": "RR", "ER": "RR",
    "AA": "aa", "AE": "aa", "AH": "aa", "AX": "aa", "AY": "aa", "AW": "aa",
    "EH": "E", "EY": "E",
    "IH": "I", "IY": "I", "Y": "I",
    "AO": "O", "OW": "O", "OY": "O",
    "UW": "U", "UH": "U", "W": "U",
    "HH": "sil",
}  # fmt: skip
TRANSPARENT_PHONES = frozenset({"HH"})

# --- Viseme poses: ARKit blendshape weights (0..1) -----------------------------------
# Each viseme's mouth in ARKit terms. JawOpen carries openness; Funnel/Pucker carry
# rounding; Stretch/Smile spread the lips; RollLower + UpperUp make the lip-on-teeth of
# F/V; Press + Roll make the firm closure of P/B/M; TongueOut shows the tongue for TH.
# Left/right pairs are written once (``*``) and mirrored by ``curves.py``.
VISEME_POSES: dict[str, dict[str, float]] = {
    "sil": {},
    "PP": {"MouthClose": 0.10, "MouthPress*": 0.45, "MouthRollLower": 0.20, "MouthRollUpper": 0.15},
    "FF": {"JawOpen": 0.08, "MouthRollLower": 0.60, "MouthUpperUp*": 0.30, "MouthShrugUpper": 0.15},
    "TH": {"JawOpen": 0.15, "TongueOut": 0.35, "MouthUpperUp*": 0.10, "MouthStretch*": 0.10},
    "DD": {"JawOpen": 0.18, "MouthStretch*": 0.15, "MouthLowerDown*": 0.10},
    "kk": {"JawOpen": 0.25, "MouthStretch*": 0.12, "MouthLowerDown*": 0.10},
    "CH": {"JawOpen": 0.12, "MouthFunnel": 0.55, "MouthPucker": 0.20, "MouthShrugUpper": 0.20},
    "SS": {"JawOpen": 0.06, "MouthStretch*": 0.30, "MouthSmile*": 0.15, "MouthLowerDown*": 0.10},
    "nn": {"JawOpen": 0.14, "MouthStretch*": 0.10, "MouthLowerDown*": 0.05},
    "RR": {"JawOpen": 0.15, "MouthPucker": 0.35, "MouthFunnel": 0.25},
    "aa": {"JawOpen": 0.62, "MouthLowerDown*": 0.30, "MouthUpperUp*": 0.10, "MouthStretch*": 0.05},
    "E": {"JawOpen": 0.36, "MouthStretch*": 0.30, "MouthSmile*": 0.20, "MouthLowerDown*": 0.20},
    "I": {"JawOpen": 0.20, "MouthSmile*": 0.35, "MouthStretch*": 0.35, "MouthLowerDown*": 0.10},
    "O": {"JawOpen": 0.45, "MouthFunnel": 0.60, "MouthPucker": 0.30},
    "U": {"JawOpen": 0.18, "MouthPucker": 0.75, "MouthFunnel": 0.35},
}

# How strongly a phone holds its own pose against its neighbours (Cohen-Massaro
# dominance). Closures and F/V must reach their target; vowels are strong; tongue
# consonants barely constrain the lips, so lip rounding of a nearby vowel spreads over
# them (anticipatory rounding: the lips of "s" in "soon" are already round).
DOMINANCE: dict[str, float] = {
    "sil": 0.5, "PP": 1.5, "FF": 1.5, "TH": 0.8, "DD": 0.5, "kk": 0.4, "CH": 1.0,
    "SS": 0.7, "nn": 0.5, "RR": 0.8, "aa": 1.0, "E": 1.0, "I": 1.0, "O": 1.1, "U": 1.2,
}  # fmt: skip
# Rounding channels, whose dominance for non-rounded consonants is cut so that rounding
# anticipates across them.
ROUNDING_CHANNELS = ("MouthFunnel", "MouthPucker")
# The lips round and spread ahead of the sound they shape (anticipatory coarticulation).
# Where the speech is at hand (``opening.shape_jaw``) the curves of the lips' shape are
# advanced by this much. Fitted on the 22 real clips of ../shared/fixtures: the mouth
# width seen against our curves' width advanced by 0/40/80/120 ms correlates 0.346 / 0.371
# / 0.366 / 0.334 on average, a parabola's peak at ~50 ms. Closures are not advanced: a
# P/B/M phone begins where the lips meet (its silent closure is part of it), and leading
# the jaw's hold on closures cost the JawOpen curve 0.003-0.055 of r0 on every path.
LIP_LEAD = 0.05  # s
LEADING_CHANNELS = (
    "MouthFunnel", "MouthPucker", "MouthStretchLeft", "MouthStretchRight", "MouthSmileLeft", "MouthSmileRight",
    "MouthDimpleLeft", "MouthDimpleRight", "MouthFrownLeft", "MouthFrownRight",
)  # fmt: skip
ROUNDED_VISEMES = frozenset({"CH", "RR", "O", "U"})
VOWEL_VISEMES = frozenset({"aa", "E", "I", "O", "U"})
ROUNDING_DOMINANCE_OF_UNROUNDED_CONSONANTS = 0.15
# Visemes whose articulation must be reached, and the channels forced to their pose over
# the segment (the other channels keep the blend, so a P before "oo" closes rounded).
HELD_CHANNELS: dict[str, tuple[str, ...]] = {
    "PP": (
        "JawOpen",
        "MouthClose",
        "MouthPress*",
        "MouthRollLower",
        "MouthRollUpper",
        "MouthLowerDown*",
        "MouthUpperUp*",
        "MouthFunnel",
        "TongueOut",
    ),
    "FF": (
        "JawOpen",
        "MouthRollLower",
        "MouthUpperUp*",
        "MouthLowerDown*",
        "MouthShrugUpper",
        "MouthFunnel",
        "TongueOut",
    ),
}

# --- Rhubarb mouth shapes ---------------------------------------------------------------
# A closed (M B P), B slightly open with teeth (most consonants, EE), C open (EH AE),
# D wide open (AA), E slightly rounded (AO ER), F puckered (UW OO W), G F/V, H L, X rest.
# Which shapes may show a phone, Rhubarb Lip Sync's conventions (its animationRules):
ANY_SHAPE = frozenset("ABCDEFGHX")
ANY_OPEN_SHAPE = frozenset("BCDEFGH")
PHONE_SHAPES: dict[str, frozenset[str]] = {
    "AO": frozenset("E"), "AA": frozenset("D"), "IY": frozenset("B"), "UW": frozenset("F"),
    "EH": frozenset("C"), "IH": frozenset("B"), "UH": frozenset("F"), "AE": frozenset("C"),
    "CH": frozenset("BF"), "JH": frozenset("BF"), "F": frozenset("G"), "V": frozenset("G"),
    "TH": frozenset("BF"), "DH": frozenset("BF"), "S": frozenset("BF"), "Z": frozenset("BF"),
    "SH": frozenset("BF"), "ZH": frozenset("BF"), "HH": ANY_SHAPE, "M": frozenset("A"),
    "N": frozenset("BCFH"), "NG": frozenset("BCEF"), "R": frozenset("BEF"),
    "Y": frozenset("BCF"), "W": frozenset("F"),
}  # fmt: skip
SCHWA_SHAPES = frozenset("BC")
# Phones whose shape depends on their duration: (threshold s, shorter, longer).
DURATION_DEPENDENT: dict[str, tuple[float, frozenset[str], frozenset[str]]] = {
    "AH": (0.20, frozenset("C"), frozenset("D")),
    "L": (0.20, frozenset("BEFH"), frozenset("H")),
    "ER": (0.07, SCHWA_SHAPES, frozenset("E")),
    "AX": (0.0, SCHWA_SHAPES, SCHWA_SHAPES),
}
# Diphthongs: (threshold s, first shape when shorter, when longer, second shape). The
# first shape holds for ``DIPHTHONG_SPLIT`` of the phone.
DIPHTHONGS: dict[str, tuple[float, str, str, str]] = {
    "EY": (0.0, "C", "C", "B"),
    "AY": (0.20, "C", "D", "B"),
    "OW": (0.0, "E", "E", "F"),
    "AW": (0.30, "C", "D", "E"),
    "OY": (0.0, "E", "E", "B"),
}
DIPHTHONG_SPLIT = 0.6
# Plosives: the occlusion shows *before* the release, taking half the previous phone
# (clamped), then the release may show these shapes.
PLOSIVES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "P": (frozenset("A"), ANY_SHAPE), "B": (frozenset("A"), ANY_SHAPE),
    "T": (frozenset("BF"), ANY_OPEN_SHAPE), "D": (frozenset("BF"), ANY_OPEN_SHAPE),
    "K": (frozenset("BCEFH"), ANY_OPEN_SHAPE), "G": (frozenset("BCEFH"), ANY_OPEN_SHAPE),
}  # fmt: skip
OCCLUSION_MIN, OCCLUSION_MAX = 0.04, 0.12  # s
# A P or B phone begins where the lips meet; Rhubarb draws its closure before the phone and
# opens at its start. The lips stay shut through the phone's silent closure, so A also
# covers this share of the phone itself: an alignment that starts the phone early then
# still shows the closure. Chosen on held-out voices (training/heldout.py): bilabials with
# the text found 0.988 -> 0.995 of the time, open_r -0.009; English dev acc -0.004.
BILABIAL_CLOSED_SHARE = 0.3

# For each shape, every shape in order of the effort it takes to move there from it.
SHAPE_EFFORT: dict[str, str] = {
    "A": "AXGBCHEDF", "B": "BGAXCHEDF", "C": "CHBGDAXEF", "D": "DCHBGAXEF", "E": "ECHBGAXDF",
    "F": "FBGAXCHED", "G": "GABCHXEDF", "H": "HCBGDAXEF", "X": "XAGBCHEDF",
}  # fmt: skip
RELAXED_SHAPE = {"A": "A", "B": "B", "C": "B", "D": "C", "E": "C", "F": "B", "G": "X", "H": "B", "X": "X"}
BASIC_SHAPE = {"A": "A", "B": "B", "C": "C", "D": "D", "E": "E", "F": "F", "G": "A", "H": "C", "X": "X"}
VOWEL_ANTICIPATION = 0.20  # s, how far a vowel's shape may spread back over consonants
PAUSE_HOLD = 0.12  # s, shorter pauses hold the previous shape
PAUSE_RELAX = 0.35  # s, pauses up to this long show a relaxed shape; longer ones rest (X)
# s, the shortest cue: one frame at 25 fps. A shorter one is never drawn at animation frame
# rates, only flickers; it joins the neighbour nearest its shape, a closure (A) is lengthened.
MIN_CUE = 0.04
# ``--cue-shapes heard``: the shapes whose openness the heard jaw chooses, and the level each
# counts as (slightly open B, open C, wide open D; E and H open about as much as C).
OPEN_SHAPE_LEVEL = {"B": "B", "C": "C", "E": "C", "H": "C", "D": "D"}
