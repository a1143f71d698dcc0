"""Flite's statistical English voices for the training corpus.

``awb`` (a Scottish man) and ``rms`` (an American man) in Debian's ``flite`` package are
CMU clustergen voices: a vocoder renders the spectra the voice predicts frame by frame for
the segment durations it predicts, so the end times ``flite -psdur`` prints label the audio
exactly. They sound nearer to a person than the diphone engines do. Issue 14 reserves
flite's ``kal`` and ``slt``; they are never used here.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from mouthpiece.audio.resample import resample
from mouthpiece.motion.rules import PHONE_TO_VISEME
from mouthpiece.types import SAMPLE_RATE

from .labels import add_phones

FLITE_VOICES = ("awb", "rms")
# Flite's CMU phone set is ARPAbet in lower case but for these.
SPELLINGS = {"pau": "sil", "axr": "ER"}


def speak_flite(
    text: str, voice: str, rng: np.random.Generator, unknown: Counter
) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """``text`` said by flite's ``voice`` at a random tempo (0.8-1.3x longer): float samples at
    16 kHz and (start, end, ARPAbet) spans. ``unknown`` counts phones no viseme is known for
    (they join the phone before them)."""
    if voice not in FLITE_VOICES:
        raise ValueError(f"flite voice {voice!r} is not one the corpus may use")
    stretch = rng.uniform(0.8, 1.3)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp, "u.wav")
        command = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch:.3f}", "-psdur"]
        printed = subprocess.run([*command, "-t", text, "-o", str(wav)], capture_output=True, text=True, check=True,
                                 timeout=120).stdout  # fmt: skip
        rate, pcm = wavfile.read(wav)
    spans: list[tuple[float, float, str]] = []
    start = 0.0
    for item in printed.split():
        name, _, end_text = item.rpartition(":")
        end = float(end_text)
        phone = SPELLINGS.get(name, name.upper())
        if phone not in PHONE_TO_VISEME:
            unknown[f"flite-{voice}:{name}"] += 1
        add_phones(spans, start, end, (phone,) if phone in PHONE_TO_VISEME else ())
        start = end
    samples = resample(pcm.astype(np.float32) / 32768.0, from_rate=rate, to_rate=SAMPLE_RATE)
    return samples, spans
