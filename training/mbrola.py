"""MBROLA diphone voices for the training corpus: espeak-ng writes the phones (``--pho``:
names, durations in ms, pitch targets), the ``mbrola`` binary says them with a database of
diphones cut from recorded speech, and the labels come from the phones, so they are exact.

Three things make more databases usable than espeak-ng's own ``mb-`` voices allow:

- **Respellings**: some databases spell a sound otherwise than espeak-ng's voice file for
  them writes it (it1 and it2 write a geminate s ``SS`` and /j/ ``J``, where espeak-ng
  writes ``ss`` and ``j``): :data:`RESPELLINGS`.
- **Voices across languages**: a language with no usable database of its own is said by
  the database of a near one, its phones renamed into that database's (Dutch by the German
  ``de3``, ``de4`` and ``de5``, as espeak-ng itself has German databases read English):
  :data:`CROSS_VOICES`. The labels follow what the audio says.
- **Repair**: where a database lacks a diphone the sentence needs (MBROLA would put silence
  there), the phone on one side is swapped for a sound of the same mouth shape the database
  has (it1 has no T-O2, so "molto" takes its other o, ``O``): :data:`ALTERNATIVES`. A
  sentence still short of diphones after that raises :class:`MissingDiphones`.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from mouthpiece.audio.resample import resample
from mouthpiece.types import SAMPLE_RATE as RATE

from .labels import add_phones, sampa_to_arpabet

MBROLA_DIR = Path("/usr/share/mbrola")
REPAIR_ROUNDS = 3  # renderings tried with swapped phones before a sentence is given up

_ITALIAN = {"ss": "SS", "j": "J", "dZ": "gh", "tS": "ch", "ts2": "TS", "dz2": "DZ", "U1": "U"}
# Symbols espeak-ng writes for a voice that its database spells otherwise.
# vz1 marks vowels with / and * that its database spells bare; vz1, mx1 and mx2 have no
# l^ (their /l/). For es4 espeak-ng writes /l/ as L, the trill R2 (rr) and /j/ as j (jj).
_VENEZUELAN = {f"{v}{mark}": v for v in "aeiou" for mark in "/*"} | {"l^": "l"}
_MEXICAN = {"e/": "e", "o/": "o", "l^": "l"}
RESPELLINGS: dict[str, dict[str, str]] = {
    "mx1": _MEXICAN, "mx2": _MEXICAN, "it1": _ITALIAN, "it2": _ITALIAN,
    "vz1": _VENEZUELAN, "es4": {"L": "l", "R2": "rr", "j": "jj", "J^": "J"},
}  # fmt: skip
# Labels of symbols a voice's phones use in their own sense (it1's upper-case SAMPA: ``P``
# is /p/, ``J`` /j/), looked up before :func:`training.labels.sampa_to_arpabet`.
_ITALIAN_LABELS = {
    "A": ("AA",), "A2": ("AA",), "E": ("EY",), "E2": ("EY",), "I2": ("IY",), "I": ("IY",), "O2": ("OW",),
    "O1": ("AO",), "O": ("OW",), "U": ("UW",), "U1": ("UW",), "U2": ("UW",), "J": ("Y",), "W": ("W",),
    "P": ("P",), "B": ("B",), "T": ("T",), "D": ("D",), "K": ("K",), "G": ("G",), "M": ("M",), "N": ("N",),
    "F": ("F",), "V": ("V",), "VV": ("V",), "S": ("S",), "Z": ("Z",), "L": ("L",), "R": ("R",),
}  # fmt: skip
# Dutch said by a German database: the few Dutch sounds German lacks take the nearest
# German one, and the labels say what is heard (Dutch w is labiodental, [ʋ]: a v).
_DUTCH_IN_GERMAN = {
    "A": "a", "a": "a:", "e": "e:", "i": "i:", "o": "o:", "u": "u:", "y": "y:", "2": "2:", "9y": "OY",
    "Ei": "aI", "Au": "aU", "G": "x", "w": "v", "W": "v", "r": "R", "L": "l", "tj": "tS", "nj": "n", "A~": "a",
}  # fmt: skip
_DUTCH_LABELS = {"G": ("K",), "w": ("V",), "W": ("V",), "L": ("L",), "tj": ("CH",), "nj": ("N",), "A~": ("AA",)}
# name -> (espeak-ng voice that writes the phones, database, respellings, labels)
CROSS_VOICES: dict[str, tuple[str, str, dict[str, str], dict[str, tuple[str, ...]]]] = {
    f"{db}-nl": ("mb-nl1", db, _DUTCH_IN_GERMAN, _DUTCH_LABELS) for db in ("de3", "de4", "de5")
}
LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "it1": _ITALIAN_LABELS, "it2": _ITALIAN_LABELS, "es4": {"L": ("L",)},
    "vz1": {"B": ("B",)},  # its intervocalic b, [β]: the lips all but meet
}  # fmt: skip
# Sounds of the same mouth shape a database may have where it lacks a diphone of another.
ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "O2": ("O", "O1"), "O1": ("O", "O2"), "O": ("O2", "O1"), "E2": ("E", "E1"), "E1": ("E", "E2"),
    "E": ("E2", "E1"), "A2": ("A",), "A": ("A2",), "I2": ("I",), "I": ("I2",), "U": ("U2",), "U2": ("U",),
    "ng": ("N",), "RR": ("R",), "R": ("RR",), "VV": ("V",), "SS": ("S",), "Z": ("S",),
    "e:": ("e",), "i:": ("i",), "o:": ("o",), "u:": ("u",), "y:": ("Y",), "2:": ("9",), "a:": ("a",),
    "x": ("C",), "z": ("s", "s2"), "s": ("s2",), "r": ("r2",), "oo": ("O", "o"), "d": ("t",), "b": ("p",),
    "v": ("f",), "i": ("j",), "u": ("w",), "jj": ("i",),
}  # fmt: skip


class MissingDiphones(Exception):
    """MBROLA lacked diphones the .pho asked for and put silence there: the audio no longer
    says the labels."""


def mbrola_database(voice: str) -> str:
    """The MBROLA database a voice speaks with: ``de4-en`` (English by espeak-ng's rules with
    the German diphones of ``de4``) and ``de4-nl`` use ``de4``."""
    return CROSS_VOICES[voice][1] if voice in CROSS_VOICES else voice.split("-")[0]


def respellings(voice: str) -> dict[str, str]:
    """How ``voice``'s database spells the symbols espeak-ng writes for it otherwise."""
    return CROSS_VOICES[voice][2] if voice in CROSS_VOICES else RESPELLINGS.get(voice, {})


def label(voice: str, symbol: str) -> tuple[str, ...] | None:
    """ARPAbet of one of ``voice``'s .pho symbols (as espeak-ng wrote it); None if unknown."""
    own = CROSS_VOICES[voice][3] if voice in CROSS_VOICES else LABELS.get(voice, {})
    if symbol in own:
        return own[symbol]
    return sampa_to_arpabet(symbol) or sampa_to_arpabet(respellings(voice).get(symbol, symbol))


def speak_mbrola(
    text: str, voice: str, lang: str, rng: np.random.Generator, unknown: Counter
) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """``text`` said by ``voice`` at a random tempo and pitch (0.8-1.25x): float samples at
    16 kHz and (start, end, ARPAbet) spans. ``unknown`` counts symbols no label is known for."""
    source = CROSS_VOICES[voice][0] if voice in CROSS_VOICES else f"mb-{voice}"
    respell = respellings(voice)
    pho = subprocess.run(["espeak-ng", "-q", "--pho", "-v", source, text], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    tempo, pitch = rng.uniform(0.8, 1.25), rng.uniform(0.8, 1.25)
    names, rests, spans, t = [], [], [], 0
    for line in pho.splitlines():
        parts = line.split()
        if not parts or line.startswith(";"):
            continue
        dur = max(1, int(round(int(parts[1]) * tempo)))
        rest = parts[2:]
        for j in range(1, len(rest), 2):
            rest[j] = str(int(round(float(rest[j]) * pitch)))
        names.append(respell.get(parts[0], parts[0]))
        rests.append([str(dur), *rest])
        mapped = label(voice, parts[0])
        if mapped is None:
            unknown[f"{voice}:{parts[0]}"] += 1
        add_phones(spans, t / 1000, (t + dur) / 1000, mapped or ())
        t += dur
    return _render(names, rests, mbrola_database(voice), voice), spans


def _render(names: list[str], rests: list[list[str]], database: str, voice: str) -> np.ndarray:
    """The .pho said by ``database``, with phones swapped (:data:`ALTERNATIVES`) where a
    diphone is missing; MissingDiphones if some still are after :data:`REPAIR_ROUNDS`."""
    names = list(names)
    tried: dict[int, set[str]] = {}
    db = MBROLA_DIR / database / database
    with tempfile.TemporaryDirectory() as tmp:
        pho_path, wav_path = Path(tmp, "u.pho"), Path(tmp, "u.wav")
        for _ in range(REPAIR_ROUNDS + 1):
            lines = [" ".join([n, *r]) for n, r in zip(names, rests)]
            pho_path.write_text("\n".join(lines) + "\n", encoding="latin-1")
            done = subprocess.run(["mbrola", "-e", str(db), str(pho_path), str(wav_path)], capture_output=True,
                                  check=True)  # fmt: skip
            missing = set(re.findall(r"(\S+)-(\S+) unknown", done.stderr.decode("latin-1")))
            if not missing or not _swapped(names, missing, tried):
                break
        if missing:
            raise MissingDiphones(voice)
        rate, pcm = wavfile.read(wav_path)
    return resample(pcm.astype(np.float32) / 32768.0, from_rate=rate, to_rate=RATE)


def _swapped(names: list[str], missing: set[tuple[str, str]], tried: dict[int, set[str]]) -> bool:
    """Swap, in place, one side of each missing diphone (the second phone first) for an
    alternative not yet tried at that place (``tried``, updated); False if none was left."""
    changed = False
    for i in range(len(names) - 1):
        if (names[i], names[i + 1]) not in missing:
            continue
        for k in (i + 1, i):
            seen = tried.setdefault(k, {names[k]})
            options = [o for o in ALTERNATIVES.get(names[k], ()) if o not in seen]
            if options:
                names[k] = options[0]
                seen.add(options[0])
                changed = True
                break
    return changed
