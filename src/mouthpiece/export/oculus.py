"""Per-frame weights of the 15 Oculus (Meta) visemes as CSV.

One row per animation frame: its start time in seconds, then the weight of each
viseme in the Oculus Lipsync order::

    time,sil,PP,FF,TH,DD,kk,CH,SS,nn,RR,aa,E,I,O,U
    0.000000,1.000000,0.000000,...

The weights are ``Animation.viseme_weights``; without them, the viseme showing at
each frame (from ``Animation.visemes``) gets weight 1 and the others 0.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from ..errors import InputError
from ..timebase import frames_to_time
from ..types import Animation, VisemeTrack
from ..vocabulary import SILENCE, VISEMES
from .base import Exporter

DECIMALS = 6  # digits after the point of times and weights


def one_hot_weights(track: VisemeTrack, times: np.ndarray) -> np.ndarray:
    """Weight 1 for the viseme showing at each time, 0 for the rest.

    Parameters
    ----------
    track : VisemeTrack
    times : np.ndarray [shape=(T,)], seconds

    Returns
    -------
    np.ndarray [shape=(T, 15), dtype=float32]

    Examples
    --------
    >>> track = VisemeTrack([(0.0, 0.1, "PP"), (0.2, 0.3, "aa")], 0.3)
    >>> one_hot_weights(track, np.array([0.05, 0.15, 0.25])).argmax(axis=1).tolist()
    [1, 0, 10]
    """
    column = np.full(len(times), VISEMES.index(SILENCE), dtype=np.int64)
    if track.segments:
        starts = np.array([s.start for s in track.segments], dtype=np.float64)
        ends = np.array([s.end for s in track.segments], dtype=np.float64)
        labels = np.array([VISEMES.index(s.label) for s in track.segments], dtype=np.int64)
        index = np.searchsorted(starts, times, side="right") - 1  # last segment starting <= t
        clipped = np.maximum(index, 0)
        inside = (index >= 0) & (times < ends[clipped])
        column[inside] = labels[clipped[inside]]
    weights = np.zeros((len(times), len(VISEMES)), dtype=np.float32)
    weights[np.arange(len(times)), column] = 1.0
    return weights


def viseme_weights(animation: Animation, times: np.ndarray) -> np.ndarray | None:
    """The Animation's viseme weights [shape=(T, 15)], else one-hot from its viseme track at
    ``times`` (its frames' times, seconds); None when it has neither."""
    if animation.viseme_weights is not None:
        return animation.viseme_weights
    if animation.visemes is not None:
        return one_hot_weights(animation.visemes, times)
    return None


@dataclass(frozen=True)
class OculusExporter(Exporter):
    """Oculus viseme weights per frame, as CSV."""

    name = "oculus"
    extension = ".csv"

    def export(self, animation: Animation, stream: TextIO) -> None:
        times = np.asarray(frames_to_time(np.arange(animation.frame_count), fps=animation.fps))
        weights = viseme_weights(animation, times)
        if weights is None:
            raise InputError(
                "The animation has neither viseme weights nor a viseme track, one of which the 'oculus' format writes."
            )
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["time", *VISEMES])
        table = np.round(np.column_stack([times, weights.astype(np.float64)]), DECIMALS) + 0.0
        for row in table:
            writer.writerow([f"{v:.{DECIMALS}f}" for v in row])
