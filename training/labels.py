"""Per-frame training targets from timed phones, and MBROLA's SAMPA symbols in ARPAbet.

A target frame ``i`` is the log-mel frame windowed from sample ``160 * i`` at 16 kHz; it
describes the instant at its window's centre, ``FRAME_CENTRE_S + i / FRAME_RATE``. Its
viseme is the viseme of the phone sounding there (``motion.rules.PHONE_TO_VISEME``); its
articulation (openness, rounding, closure) comes from that viseme's ARKit pose in
``motion.rules.VISEME_POSES``, smoothed over three frames because lips move continuously.
"""

from __future__ import annotations

import numpy as np

from mouthpiece.motion.rules import PHONE_TO_VISEME, VISEME_POSES
from mouthpiece.neural.model import ARTICULATION, FRAME_CENTRE_S, FRAME_RATE
from mouthpiece.vocabulary import VISEMES

OPEN_MAX = max(p.get("JawOpen", 0.0) for p in VISEME_POSES.values())  # JawOpen of the widest viseme
ROUND_MAX = max(p.get("MouthPucker", 0.0) + p.get("MouthFunnel", 0.0) for p in VISEME_POSES.values())


def viseme_articulation() -> np.ndarray:
    """[15, 3] openness, rounding, closure of each viseme's pose, each in [0, 1]."""
    table = np.zeros((len(VISEMES), len(ARTICULATION)), np.float32)
    for i, name in enumerate(VISEMES):
        pose = VISEME_POSES[name]
        table[i, 0] = pose.get("JawOpen", 0.0) / OPEN_MAX
        table[i, 1] = (pose.get("MouthPucker", 0.0) + pose.get("MouthFunnel", 0.0)) / ROUND_MAX
        table[i, 2] = 1.0 if name == "PP" else 0.0
    return table


ARTICULATION_TABLE = viseme_articulation()
VISEME_INDEX = {name: i for i, name in enumerate(VISEMES)}


def add_phones(spans: list[tuple[float, float, str]], start: float, end: float, phones: tuple[str, ...]) -> None:
    """Append to ``spans`` the ARPAbet ``phones`` one engine symbol stands for, sharing
    ``[start, end)`` (s) evenly; a symbol that stands for none lengthens the phone before it
    (silence if it is the first)."""
    if phones:
        bounds = np.linspace(start, end, len(phones) + 1)
        spans += [(float(a), float(b), p) for a, b, p in zip(bounds[:-1], bounds[1:], phones)]
    elif spans:
        spans[-1] = (spans[-1][0], end, spans[-1][2])
    else:
        spans.append((0.0, end, "sil"))


def frame_targets(spans: list[tuple[float, float, str]], n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Viseme index [n_frames] uint8 and articulation [n_frames, 3] float32 of ARPAbet spans (s)."""
    centres = FRAME_CENTRE_S + np.arange(n_frames) / FRAME_RATE
    starts = np.array([s[0] for s in spans])
    visemes = np.array([VISEME_INDEX[PHONE_TO_VISEME[s[2]]] for s in spans], np.uint8)
    raw = np.searchsorted(starts, centres, side="right") - 1
    which = np.clip(raw, 0, len(spans) - 1)
    ends = np.array([s[1] for s in spans])
    inside = (raw >= 0) & (centres < ends[which])
    index = np.where(inside, visemes[which], 0).astype(np.uint8)  # outside every span: silence
    art = ARTICULATION_TABLE[index]
    padded = np.concatenate([art[:1], art, art[-1:]])
    art = 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]
    return index, art.astype(np.float32)


# MBROLA voices' SAMPA symbols (as espeak-ng's --pho writes them) in ARPAbet. Symbols
# missing here join the phone before them (a count is kept in the corpus summary).
SAMPA_TO_ARPABET: dict[str, tuple[str, ...]] = {
    "_": ("sil",),
    # consonants
    "p": ("P",), "b": ("B",), "m": ("M",), "f": ("F",), "v": ("V",), "pf": ("P", "F"),
    "T": ("TH",), "D": ("DH",), "t": ("T",), "d": ("D",), "k": ("K",), "g": ("G",),
    "N": ("NG",), "ng": ("NG",), "x": ("K",), "h": ("HH",), "H": ("HH",), "C": ("HH",),
    "S": ("SH",), "Z": ("ZH",), "s": ("S",), "s2": ("S",), "ss": ("S",), "z": ("Z",),
    "ts": ("T", "S"), "ts2": ("T", "S"), "tS": ("CH",), "dZ": ("JH",), "dz": ("D", "Z"),
    "j": ("Y",), "jj": ("Y",), "J^": ("Y",), "J": ("N", "Y"), "nh": ("N", "Y"), "ny": ("N", "Y"),
    "L": ("L", "Y"), "lh": ("L", "Y"), "l": ("L",), "l^": ("L",), "n": ("N",), "nf": ("N",),
    "r": ("R",), "r2": ("R",), "rr": ("R",), "R": ("R",), "R2": ("R",), "RR": ("R",),
    "w": ("W",), "W": ("V",), "G": ("G",),
    # vowels
    "a": ("AA",), "a:": ("AA",), "A": ("AA",), "a1": ("AA",), "a~": ("AA",), "am": ("AA",), "an": ("AA",),
    "aI": ("AY",), "aU": ("AW",), "Au": ("AW",),
    "e": ("EY",), "e:": ("EY",), "e1": ("EY",), "e/": ("EY",), "ee": ("EH",), "em": ("EH",), "en": ("EH",),
    "E": ("EH",), "E:": ("EH",), "E1": ("EH",), "e~": ("EH",), "Ei": ("EY",), "eI": ("EY",), "eU": ("EH", "UW"),
    "i": ("IY",), "i:": ("IY",), "i1": ("IY",), "i/": ("IY",), "im": ("IY",), "in": ("IY",), "I": ("IH",),
    "o": ("OW",), "o:": ("OW",), "o1": ("OW",), "o/": ("OW",), "O1": ("AO",), "om": ("OW",), "on": ("OW",),
    "oo": ("AO",), "O": ("AO",), "o~": ("AO",), "OY": ("OY",),
    "u": ("UW",), "u:": ("UW",), "u1": ("UW",), "u~": ("UW",), "um": ("UW",), "un": ("UW",), "U": ("UH",),
    "y": ("UW",), "y:": ("UW",), "Y": ("UH",), "2": ("OW",), "2:": ("OW",), "9": ("ER",), "9y": ("OY",),
    "@": ("AX",), "6": ("AX",), "6~": ("AX",), "6~j~": ("AX", "Y"),
    # Swedish (sw1, sw2): aspirated stops, retroflex s, long vowels
    "ph": ("P",), "th": ("T",), "kh": ("K",), "rs": ("SH",), "A:": ("AA",), "}:": ("UW",), "u0": ("UH",),
    # Greek (gr2) and Afrikaans (af1) speaking English
    "c": ("K",), "q": ("G",), "X": ("HH",), "l#": ("L",), "{": ("AE",), "&": ("EY",), "$": ("OW",),
    "EI": ("EY",), "@U": ("OW",),
}  # fmt: skip


def sampa_to_arpabet(symbol: str) -> tuple[str, ...] | None:
    """ARPAbet of one .pho symbol (a leading glottal stop ``?`` dropped); None if unknown."""
    if symbol.startswith("?") and len(symbol) > 1:
        symbol = symbol[1:]
    if symbol == "?":
        return ()
    return SAMPA_TO_ARPABET.get(symbol)
