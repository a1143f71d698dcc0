"""Motion: phones to visemes to an Animation, in these steps.

1. ``to_visemes``   phones -> Oculus visemes (``visemes.py``)
2. ``to_curves``    visemes -> ARKit curves with coarticulation and held closures (``curves.py``)
3. ``modulate_jaw`` loudness scales the jaw (``prosody.py``)
4. ``to_cues``      phones -> Rhubarb mouth cues A-H, X, by Rhubarb's shape conventions (``cues.py``)

``animate`` runs those four. Where the speech itself is at hand (recognized or aligned
speech, not synthesized), the caller then sets the jaw's opening from the curves and the
sound (``shape_jaw`` with the frames of ``heard``, ``opening.py``: a filter fitted on
real footage). Callers then apply, in this order, the optional steps
that take an Animation and return a new one:

5. ``add_idle``      blinks, head motion, gaze shifts and emphasis brow raises from the audio (``idle.py``)
6. ``apply_emotion`` an emotion's pose over the speech, easing off where it would hide it (``emotion.py``)

The rules they share (poses, dominance, shape sets) are data in ``rules.py``; the idle
and emotion steps keep their tables at the top of their modules.
"""

from __future__ import annotations

import numpy as np

from ..types import Animation, PhoneTrack
from .cues import to_cues
from .curves import to_curves
from .emotion import EMOTIONS, apply_emotion
from .idle import LiveIdle, add_idle
from .opening import Hearing, heard, shape_jaw
from .prosody import modulate_jaw
from .visemes import to_visemes

DEFAULT_FPS = 60.0

__all__ = [
    "DEFAULT_FPS",
    "EMOTIONS",
    "Hearing",
    "LiveIdle",
    "add_idle",
    "animate",
    "apply_emotion",
    "heard",
    "modulate_jaw",
    "shape_jaw",
    "to_cues",
    "to_curves",
    "to_visemes",
]


def animate(phones: PhoneTrack, *, fps: float = DEFAULT_FPS, loudness_db: np.ndarray | None = None) -> Animation:
    """The Animation of a phone track.

    Parameters
    ----------
    phones : PhoneTrack
    fps : float in [1, 240], frames per second of the curves
    loudness_db : np.ndarray [shape=(T,)] or None, dBFS per animation frame; scales the jaw

    Returns
    -------
    Animation
        All channels of ``vocabulary.CHANNELS`` (head and eyes at rest), with the
        phones, visemes, Rhubarb cues and per-frame viseme weights.
    """
    visemes = to_visemes(phones)
    values, weights = to_curves(visemes, fps=fps)
    if loudness_db is not None:
        values = modulate_jaw(values, loudness_db)
    return Animation(
        fps=fps, values=values, phones=phones, visemes=visemes, cues=to_cues(phones), viseme_weights=weights
    )
