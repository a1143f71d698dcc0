"""A person's own style of moving their mouth, fitted on their footage: a ``.style`` file.

The jaw's opening filter (:mod:`.opening`) is fitted on many speakers; one person leads
the sound by their own margin, opens wider for some sounds than others, and carries a
shape into the next sound in their own way, and all of that is in the filter's weights
over the phonetic curves and the sound, tap by tap. A style is that filter refitted on
the person's videos: each frame's features (exactly as the product computes them) against
the opening seen in the frame (:mod:`mouthpiece.face.seen`), standardized per video, by a
ridge regression pulled towards the generic weights (``STYLE_RIDGE``: a few videos refine
the generic filter rather than replace it). How wide the person opens at all sets the
jaw's spread: their seen opening's spread over that of typical footage.

On the real footage with several clips of one speaker (7 clips, 2 speakers), a style
fitted on the speaker's other clips raised r0 on the held-out clip from 0.48 to 0.60
(``benchmarks/real_mouths.py --paths style``).

A style file is an opening-filter file (``.npz`` layout, :meth:`.opening.OpeningModel.save`)
whose card says it is a style and what it was fitted on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..atomic import atomic_output
from ..errors import InputError
from ..types import Animation, Audio
from .opening import CENTRE, FEATURE_RATE, OpeningModel, features, heard, tapped

STYLE_RIDGE = 1000.0  # pull towards the generic weights (held-out clip r0: 300 0.598, 1000 0.602, 3000 0.594)
TYPICAL_SPREAD = 0.039  # the seen opening's standard deviation in typical footage (median of 22 real clips)
MIN_FRAMES = 50  # video frames with a face a style needs at least
SPREAD_RANGE = (0.5, 2.0)  # how much wider or narrower than typical a style opens, at most (real clips: 0.6-2.6)
SUFFIX = ".style"


@dataclass(frozen=True)
class StyleExample:
    """One video's features and the opening seen, on the frames where a face was seen."""

    name: str
    x: np.ndarray  # [N, K * F] tapped features at each seen frame
    target: np.ndarray  # [N] the seen opening, standardized
    spread: float  # the seen opening's standard deviation


def footage_example(
    name: str, speech: Audio, animation: Animation, seen_times: np.ndarray, seen: np.ndarray, base: OpeningModel
) -> StyleExample:
    """A video's example: its speech, the Animation of its phones *without* the opening
    filter (at any rate), and the opening ``seen`` at ``seen_times`` (s; NaN: no face)."""
    frames = features(animation, heard(speech.samples, base), base)
    ok = np.isfinite(seen)
    if ok.sum() < 2 or not len(frames):
        return StyleExample(name, np.zeros((0, len(base.weights)), np.float32), np.zeros(0), 0.0)
    rows = np.clip(np.round((seen_times[ok] - CENTRE) * FEATURE_RATE).astype(int), 0, len(frames) - 1)
    values = seen[ok]
    spread = float(values.std())
    target = (values - values.mean()) / max(spread, 1e-9)
    return StyleExample(name, tapped(frames, base.taps)[rows], target, spread)


def fit_style(examples: Sequence[StyleExample], base: OpeningModel, *, ridge: float = STYLE_RIDGE) -> OpeningModel:
    """The opening filter refitted on one person's ``examples``, from ``base`` (see the module)."""
    used = [e for e in examples if len(e.target)]
    frames = sum(len(e.target) for e in used)
    if frames < MIN_FRAMES:
        names = ", ".join(f"'{e.name}'" for e in examples)
        raise InputError(
            f"{names}: a face was seen in {frames} frames, too few to fit a style (at least {MIN_FRAMES})."
        )
    xs = (np.concatenate([e.x for e in used]) - base.mean) / base.std
    y = np.concatenate([e.target for e in used])
    prior = base.weights.astype(np.float64)
    weights = np.linalg.solve(xs.T @ xs + ridge * np.eye(xs.shape[1]), xs.T @ (y - y.mean()) + ridge * prior)
    spread = float(np.average([e.spread for e in used], weights=[len(e.target) for e in used]))
    card = json.dumps({"kind": "style", "videos": [e.name for e in used], "frames": frames, "ridge": ridge,
                       "seen_spread": round(spread, 4), "typical_spread": TYPICAL_SPREAD})  # fmt: skip
    wider = float(np.clip(spread / TYPICAL_SPREAD, *SPREAD_RANGE))  # past that the jaw would mostly clip at 0 or 1
    return replace(base, weights=weights.astype(np.float32), jaw_spread=base.jaw_spread * wider, card=card)


def save_style(style: OpeningModel, path: str | os.PathLike[str]) -> None:
    """Write ``style`` to ``path`` atomically (its folder must exist)."""
    with atomic_output(path, what="style file") as partial, open(partial, "wb") as f:
        style.save(f)  # a file object: np.savez would add ".npz" to a name


def load_style(path: str | os.PathLike[str]) -> OpeningModel:
    """The style in ``path``; InputError naming the file when it is missing or not a style."""
    name = os.fspath(path)
    if not Path(name).is_file():
        raise InputError(f"'{name}' does not exist (make a style with: mouthpiece style VIDEO... -o {name}).")
    model = OpeningModel.load(name)
    if model.scores().get("kind") != "style":
        raise InputError(f"'{name}' is not a style file (make one with: mouthpiece style VIDEO... -o {name}).")
    return model
