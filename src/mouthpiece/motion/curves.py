"""Visemes to ARKit curves, with coarticulation.

Sketch (after Cohen and Massaro's dominance model). Each viseme segment pulls the face
towards its pose (``rules.VISEME_POSES``) with a dominance that is flat over the
segment and decays exponentially outside it; every frame is the dominance-weighted mean
of the poses of the segments around it. Strong visemes (closures, F/V) win over their
neighbours, weak ones (tongue consonants) let neighbours through, and the rounding
channels of unrounded consonants are weaker still, so lips round ahead of a rounded
vowel. A short phone cannot flicker: its pull is blended with its neighbours'.

Then two guarantees the blend alone cannot give: P/B/M reach a full closure and F/V
the lip-on-teeth pose, each held for at least one frame at 30 fps.
"""

from __future__ import annotations

import numpy as np

from ..timebase import frame_count, frames_to_time
from ..types import VisemeTrack
from ..vocabulary import CHANNEL_INDEX, CHANNELS, VISEMES
from . import rules

DECAY = 0.03  # s, distance outside a segment over which its dominance falls by 1/e
NEIGHBOURS = 4  # segments either side that can influence a frame
BLOCK = 4096  # frames blended at once (bounds memory)
MIN_HOLD = 1 / 30  # s, closures and F/V poses last at least one frame at 30 fps
HOLD_RAMP = 0.03  # s, over which a held pose is eased in and out
_VISEME_INDEX = {v: i for i, v in enumerate(VISEMES)}


def _expand(pose: dict[str, float]) -> np.ndarray:
    vector = np.zeros(len(CHANNELS), np.float32)
    for name, weight in pose.items():
        for channel in (name[:-1] + "Left", name[:-1] + "Right") if name.endswith("*") else (name,):
            vector[CHANNEL_INDEX[channel]] = weight
    return vector


def _channel_indices(names: tuple[str, ...]) -> np.ndarray:
    return np.flatnonzero(_expand({name: 1.0 for name in names}))


POSES = np.stack([_expand(rules.VISEME_POSES[v]) for v in VISEMES])  # [15, C]
HELD = {_VISEME_INDEX[v]: _channel_indices(names) for v, names in rules.HELD_CHANNELS.items()}
_ROUNDING = np.array([CHANNEL_INDEX[c] for c in rules.ROUNDING_CHANNELS])


def _dominance_table() -> np.ndarray:
    """Dominance of each viseme for each channel, [15, C]."""
    table = np.array([rules.DOMINANCE[v] for v in VISEMES], np.float32)[:, None].repeat(len(CHANNELS), 1)
    for i, v in enumerate(VISEMES):
        if v not in rules.ROUNDED_VISEMES | rules.VOWEL_VISEMES | {"sil"}:
            table[i, _ROUNDING] = rules.ROUNDING_DOMINANCE_OF_UNROUNDED_CONSONANTS
    return table


DOMINANCE = _dominance_table()
BASE_DOMINANCE = np.array([rules.DOMINANCE[v] for v in VISEMES], np.float32)
ONE_HOT = np.eye(len(VISEMES), dtype=np.float32)


def to_curves(visemes: VisemeTrack, *, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Blendshape curves and per-frame viseme weights for a viseme track.

    Parameters
    ----------
    visemes : VisemeTrack
    fps : float > 0, frames per second

    Returns
    -------
    values : np.ndarray [shape=(T, C), dtype=float32], C = len(vocabulary.CHANNELS)
    weights : np.ndarray [shape=(T, 15), dtype=float32], rows sum to 1
    """
    n_frames = frame_count(visemes.duration, fps=fps)
    segments = visemes.segments or ((0.0, visemes.duration, "sil"),)
    starts = np.array([s[0] for s in segments])
    ends = np.array([s[1] for s in segments])
    ids = np.array([_VISEME_INDEX[s[2]] for s in segments])
    values = np.empty((n_frames, len(CHANNELS)), np.float32)
    weights = np.empty((n_frames, len(VISEMES)), np.float32)
    for first in range(0, n_frames, BLOCK):  # in blocks: the [T, K, C] terms would not fit for long audio
        frames = np.arange(first, min(first + BLOCK, n_frames))
        t = np.asarray(frames_to_time(frames, fps=fps))  # frame k shows time k / fps
        values[frames], weights[frames] = _blend(t, starts, ends, ids)
    _hold_targets(values, visemes, fps=fps)
    return values, weights


def _blend(t: np.ndarray, starts: np.ndarray, ends: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dominance-weighted poses and viseme weights at times ``t`` (s), [T, C] and [T, 15]."""
    # Each frame looks at its own segment and NEIGHBOURS either side: [T, K]
    own = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(starts) - 1)
    k = np.clip(own[:, None] + np.arange(-NEIGHBOURS, NEIGHBOURS + 1)[None, :], 0, len(starts) - 1)
    distance = np.maximum(0.0, np.maximum(starts[k] - t[:, None], t[:, None] - ends[k]))
    falloff = np.exp(-distance / DECAY).astype(np.float32)
    falloff[:, 1:][k[:, 1:] == k[:, :-1]] = 0.0  # indices repeated by clipping at the track's ends

    seg_ids = ids[k]  # [T, K]
    dominance = DOMINANCE[seg_ids] * falloff[:, :, None]  # [T, K, C]
    values = np.einsum("tkc,tkc->tc", dominance, POSES[seg_ids]) / np.maximum(dominance.sum(1), 1e-12)
    pull = BASE_DOMINANCE[seg_ids] * falloff  # [T, K]
    weights = np.einsum("tk,tkv->tv", pull, ONE_HOT[seg_ids])
    weights /= np.maximum(weights.sum(1, keepdims=True), 1e-12)
    return values, weights


def _hold_targets(values: np.ndarray, visemes: VisemeTrack, *, fps: float) -> None:
    """Force closures and F/V poses over their segments, widened to at least ``MIN_HOLD``,
    eased in and out over ``HOLD_RAMP`` so the lips close fast but do not pop."""
    n_frames = len(values)
    ramp = max(1, round(HOLD_RAMP * fps))
    for start, end, label in visemes.segments:
        viseme = _VISEME_INDEX[label]
        if viseme not in HELD:
            continue
        centre, half = (start + end) / 2, max(end - start, MIN_HOLD) / 2
        first = int(np.ceil((centre - half) * fps - 1e-9))
        last = int(np.ceil((centre + half) * fps - 1e-9)) - 1
        if first > last:  # below 30 fps a hold may fall between frames: take the nearest
            first = last = int(round(centre * fps))
        frames = np.arange(max(first - ramp, 0), min(last + ramp, n_frames - 1) + 1)
        if len(frames) == 0:
            continue
        # 1 over the hold, falling linearly to 0 over `ramp` frames either side: [F, 1]
        weight = np.clip(1 - np.maximum(first - frames, frames - last) / (ramp + 1), 0, 1)[:, None]
        channels = HELD[viseme]
        block = values[np.ix_(frames, channels)]
        values[np.ix_(frames, channels)] = block + weight * (POSES[viseme, channels] - block)
