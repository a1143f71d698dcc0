"""The picture of a sync measurement: what a person looks at to see where sync breaks."""

from __future__ import annotations

import os

import numpy as np

from ..atomic import atomic_output
from .sync import SyncResult


def plot_sync(result: SyncResult, seen: np.ndarray, expected: np.ndarray, path: str | os.PathLike[str], *, title: str):
    """Write a PNG: the two mouth-opening tracks over time (the expected one shifted by the
    offset found), the correlation against lag, and the offset of each window."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    seconds = np.arange(len(seen)) / result.fps
    figure, (tracks, curve, drift) = plt.subplots(3, 1, figsize=(10, 8), gridspec_kw={"height_ratios": [2, 1, 1]})
    scale = np.nanmax(seen) if np.isfinite(np.nanmax(seen)) and np.nanmax(seen) > 0 else 1.0
    tracks.plot(seconds, seen / scale, label="mouth opening seen in the frames (scaled)", color="tab:blue")
    tracks.plot(seconds, expected, label="JawOpen expected from the audio", color="tab:orange", alpha=0.8)
    tracks.set_xlabel("seconds")
    tracks.set_title(title)
    tracks.legend(loc="upper right")
    curve.plot(result.lags, result.curve, marker="o", color="tab:green")
    curve.axvline(result.offset, color="tab:red", linestyle="--", label=f"offset {result.offset:+d} frames")
    curve.axhline(float(np.median(result.curve)), color="grey", linestyle=":", label="median")
    curve.set_xlabel("lag (frames; positive: the audio is late)")
    curve.set_ylabel("correlation")
    curve.legend(loc="upper right")
    if result.windows:
        centres = [(w.start + w.end) / 2 for w in result.windows]
        drift.plot(centres, [w.offset for w in result.windows], marker="s", color="tab:purple")
    drift.axhline(0, color="grey", linewidth=0.5)
    drift.set_xlabel("seconds (window centres)")
    drift.set_ylabel("offset (frames)")
    figure.tight_layout()
    with atomic_output(path, what="plot") as temp:
        figure.savefig(temp, format="png", dpi=100)
    plt.close(figure)
