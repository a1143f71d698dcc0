"""Flite's statistical English voices for the training corpus (``training.flite``). Needs
Debian's ``flite`` (training machines only): skipped where it is missing."""

from __future__ import annotations

import shutil
from collections import Counter

import numpy as np
import pytest

from training import flite

pytestmark = pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian's flite package)")


def _level(samples: np.ndarray, a: float, b: float) -> float:
    middle = samples[int((a + 0.3 * (b - a)) * 16000) : int((a + 0.7 * (b - a)) * 16000)]
    return 10 * np.log10(np.mean(middle**2) + 1e-12)


@pytest.mark.parametrize("voice", flite.FLITE_VOICES)
def test_flite_labels_its_own_audio(voice):
    unknown: Counter = Counter()
    samples, spans = flite.speak_flite("Bob made a map of the moon for Pam.", voice, np.random.default_rng(0), unknown)
    assert not unknown
    labels = [p for _, _, p in spans]
    assert labels.count("P") == 2 and labels.count("B") == 2 and labels.count("M") == 4
    assert labels[0] == labels[-1] == "sil"
    assert spans[-1][1] == pytest.approx(len(samples) / 16000, abs=0.03)
    # the labels lie on the sound: the voiceless stops' closures are far quieter than vowels
    stops = [_level(samples, a, b) for a, b, p in spans if p == "P"]
    vowels = [_level(samples, a, b) for a, b, p in spans if p in ("AA", "EY", "AE", "UW")]
    assert max(stops) < min(vowels) - 15


def test_a_reserved_flite_voice_is_refused():
    with pytest.raises(ValueError, match="slt"):
        flite.speak_flite("Hello.", "slt", np.random.default_rng(0), Counter())
