"""Polyphase resampling of sample arrays (scipy's, imported only when needed: it costs 0.3 s)."""

from __future__ import annotations

from math import gcd

import numpy as np


def resample(x: np.ndarray, *, from_rate: int, to_rate: int) -> np.ndarray:
    """``x`` resampled from ``from_rate`` to ``to_rate`` (Hz), as float32.

    >>> resample(np.ones(441, np.float32), from_rate=44_100, to_rate=16_000).shape
    (160,)
    """
    if from_rate == to_rate:
        return np.asarray(x, np.float32)
    from scipy.signal import resample_poly

    divisor = gcd(int(from_rate), int(to_rate))
    return resample_poly(x, int(to_rate) // divisor, int(from_rate) // divisor).astype(np.float32)
