"""Loudness modulates the jaw: louder speech opens the mouth wider.

Each frame's jaw opening is scaled by how loud that frame is against the utterance's
typical speech level (the median over frames within ``SPEECH_RANGE`` of the loudest),
a gentle gain clamped to ``GAIN_RANGE`` so quiet consonants stay visible and shouting
does not dislocate the jaw. The lips' opening channels follow the jaw.
"""

from __future__ import annotations

import numpy as np

from ..vocabulary import CHANNEL_INDEX

DB_PER_DOUBLING = 12.0  # dB louder than typical that doubles the opening (before clamping)
GAIN_RANGE = (0.75, 1.3)
SPEECH_RANGE = 35.0  # dB below the loudest frame that still counts as speech
JAW_CHANNELS = ("JawOpen", "MouthLowerDownLeft", "MouthLowerDownRight")


def modulate_jaw(values: np.ndarray, loudness_db: np.ndarray, *, typical_db: float | None = None) -> np.ndarray:
    """Scale the jaw channels of ``values`` by per-frame loudness.

    Parameters
    ----------
    values : np.ndarray [shape=(T, C)], Animation curves
    loudness_db : np.ndarray [shape=(T,)], dBFS per frame at the animation's fps
    typical_db : float or None
        The speech's typical level (:func:`typical_level`); by default that of ``loudness_db``.

    Returns
    -------
    np.ndarray [shape=(T, C)], a modulated copy; blendshapes stay in [0, 1]
    """
    out = values.copy()
    if len(loudness_db) == 0:
        return out
    level = np.asarray(loudness_db, np.float64)[: len(values)]
    level = np.pad(level, (0, len(values) - len(level)), mode="edge")
    typical = typical_level(level) if typical_db is None else typical_db
    gain = np.clip(2.0 ** ((level - typical) / DB_PER_DOUBLING), *GAIN_RANGE).astype(np.float32)
    columns = [CHANNEL_INDEX[c] for c in JAW_CHANNELS]
    out[:, columns] = np.clip(out[:, columns] * gain[:, None], 0.0, 1.0)
    return out


def typical_level(loudness_db: np.ndarray) -> float:
    """The typical level of speech, dBFS: the median of the frames within ``SPEECH_RANGE``
    of the loudest."""
    level = np.asarray(loudness_db, np.float64)
    speech = level[level > level.max() - SPEECH_RANGE]
    return float(np.median(speech)) if len(speech) else float(level.max())
