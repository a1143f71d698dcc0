"""MBROLA voices for the training corpus (``training.mbrola``): respelt, repaired, across
languages. Needs the ``mbrola`` binary and Debian's it1 and de4 databases (contrib/non-free,
training machines only): skipped where they are missing."""

from __future__ import annotations

import shutil
from collections import Counter

import numpy as np
import pytest

from training import mbrola

pytestmark = pytest.mark.skipif(
    shutil.which("mbrola") is None or not all((mbrola.MBROLA_DIR / db / db).exists() for db in ("it1", "de4")),
    reason="needs mbrola with the it1 and de4 databases (Debian contrib/non-free)",
)


def _loud(samples: np.ndarray, spans: list[tuple[float, float, str]], phone: str) -> list[float]:
    """Level in dB of each span labelled ``phone``."""
    out = []
    for a, b, p in spans:
        if p == phone:
            part = samples[int(a * mbrola.RATE) : int(b * mbrola.RATE)]
            out.append(10 * np.log10(np.mean(part**2) + 1e-12))
    return out


def test_italian_is_said_by_it1_with_its_own_spelling_and_exact_labels():
    unknown: Counter = Counter()
    # "molto" needs T-O2, which it1 lacks: the o is swapped for another, not silenced
    samples, spans = mbrola.speak_mbrola("Il mio papà beve molto vino.", "it1", "it", np.random.default_rng(1), unknown)
    assert not unknown
    labels = [p for _, _, p in spans]
    assert labels.count("P") == 2 and labels.count("M") == 2 and "V" in labels
    assert spans[-1][1] == pytest.approx(len(samples) / mbrola.RATE, abs=0.05)
    vowels = _loud(samples, spans, "OW") + _loud(samples, spans, "AO")
    assert len(vowels) >= 3 and min(vowels) > -40  # every o is heard


def test_a_sentence_the_database_cannot_say_is_refused():
    # it1 has no diphone joining Dutch's schwa to a velar fricative, and no alternative for them
    with pytest.raises(mbrola.MissingDiphones):
        mbrola._render(["_", "@", "x", "_"], [["50"], ["80"], ["80"], ["50"]], "it1", "it1")


def test_dutch_is_said_by_a_german_database_with_dutch_labels():
    unknown: Counter = Counter()
    samples, spans = mbrola.speak_mbrola("Het water is warm.", "de4-nl", "nl", np.random.default_rng(2), unknown)
    assert not unknown and mbrola.mbrola_database("de4-nl") == "de4"
    labels = [p for _, _, p in spans]
    assert "W" not in labels and labels.count("V") == 2  # Dutch w is labiodental
    assert labels.count("M") == 1
    assert min(_loud(samples, spans, "AA")) > -40
