"""The pictures of the measurements: what a person looks at to see where sync breaks."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from ..atomic import atomic_output
from ..vocabulary import SILENCE
from .cues import BILABIALS, FPS, CueReport, CueScore, openness, runs
from .motion import MotionResult
from .preserve import PreserveResult
from .sync import SyncResult


def plot_sync(result: SyncResult, seen: np.ndarray, expected: np.ndarray, path: str | os.PathLike[str], *, title: str):
    """Write a PNG: the two mouth-opening tracks over time (the expected one shifted by the
    offset found), the correlation against lag, and the offset of each window."""
    plt = _pyplot()

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
    _save(plt, figure, path)


def plot_cues(report: CueReport, path: str | os.PathLike[str], *, title: str) -> None:
    """Write a PNG of a report.

    One utterance: its reference phones, the oracle's and the predicted shapes, and both
    openness curves over time. Several: each utterance's ``acc`` and ``open_r`` as bars.
    """
    plt = _pyplot()
    if len(report.utterances) == 1:
        figure = _plot_utterance(plt, report.utterances[0], title)
    else:
        figure = _plot_folder(plt, report.utterances, title)
    _save(plt, figure, path)


def _plot_utterance(plt, score: CueScore, title: str):  # type: ignore[no-untyped-def]
    seconds = (np.arange(len(score.oracle)) + 0.5) / FPS
    figure, (phones, shapes, curves) = plt.subplots(
        3, 1, figsize=(float(np.clip(len(seconds) / FPS * 4, 10, 40)), 7), sharex=True,
        gridspec_kw={"height_ratios": [1, 1.2, 2]},
    )  # fmt: skip
    for k, phone in enumerate(score.phones.phones):
        colour = "lightgrey" if phone.label == SILENCE else ("tab:red" if phone.label in BILABIALS else f"C{k % 2}")
        phones.axvspan(phone.start, phone.end, color=colour, alpha=0.35)
        if phone.label != SILENCE:
            phones.text((phone.start + phone.end) / 2, 0.5, phone.label, ha="center", va="center", fontsize=7)
    phones.set_yticks([])
    phones.set_title(title)
    phones.set_ylabel("phones")
    for row, frames in enumerate((score.predicted, score.oracle)):
        for start, end, shape in runs(frames):
            colour = f"C{'ABCDEFGHX'.index(shape)}"
            shapes.broken_barh([(start / FPS, (end - start) / FPS)], (row + 0.1, 0.8), color=colour, alpha=0.6)
            shapes.text((start + end) / 2 / FPS, row + 0.5, shape, ha="center", va="center", fontsize=7)
    shapes.set_yticks([0.5, 1.5], ["predicted", "oracle"])
    curves.step(seconds, openness(score.oracle), where="mid", label="oracle (from the reference phones)")
    curves.step(seconds, openness(score.predicted), where="mid", label="predicted", alpha=0.8)
    curves.set_ylabel("openness")
    curves.set_xlabel("seconds")
    curves.legend(loc="upper right")
    return figure


def _plot_folder(plt, scores: Sequence[CueScore], title: str):  # type: ignore[no-untyped-def]
    figure, axes = plt.subplots(figsize=(max(8.0, 0.15 * len(scores)), 4))
    x = np.arange(len(scores))
    axes.bar(x - 0.2, [s.metrics["acc"] for s in scores], width=0.4, label="acc")
    axes.bar(x + 0.2, [s.metrics["open_r"] for s in scores], width=0.4, label="open_r")
    axes.set_xticks(x, [s.name for s in scores], rotation=90, fontsize=6)
    axes.set_xlim(-1, len(scores))
    axes.set_ylim(min([0.0, *(s.metrics["open_r"] for s in scores if not math.isnan(s.metrics["open_r"]))]), 1.0)
    axes.set_title(title)
    axes.legend(loc="lower right")
    return figure


def plot_motion(result: MotionResult, path: str | os.PathLike[str], *, title: str) -> None:
    """Write a PNG: the two videos' mouth openings and the LMD of each frame over time (gaps: skipped frames)."""
    plt = _pyplot()

    seconds = np.arange(result.frames) / result.fps
    figure, (tracks, distance) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    tracks.plot(seconds, result.opening_reference, label="reference", color="tab:blue")
    tracks.plot(seconds, result.opening_video, label="video", color="tab:orange", alpha=0.8)
    tracks.set_ylabel("mouth opening (eye distances)")
    tracks.set_title(title)
    tracks.legend(loc="upper right")
    distance.plot(seconds, result.lmd, color="tab:red")
    distance.set_ylabel("LMD (eye distances)")
    distance.set_xlabel("seconds")
    _save(plt, figure, path)


def plot_preserve(result: PreserveResult, path: str | os.PathLike[str], *, title: str) -> None:
    """Write a PNG: PSNR and SSIM of each frame over time (identical frames, of infinite PSNR, leave gaps)."""
    plt = _pyplot()

    seconds = np.arange(result.frames) / result.fps
    psnr = result.psnr
    figure, (decibels, similarity) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    decibels.plot(seconds, np.where(np.isfinite(psnr), psnr, np.nan), color="tab:blue")
    decibels.set_ylabel("PSNR (dB)")
    decibels.set_title(title)
    if np.isinf(psnr).any():
        decibels.text(0.01, 0.95, f"{int(np.isinf(psnr).sum())} identical frames (inf) not drawn",
                      transform=decibels.transAxes, va="top", fontsize=8)  # fmt: skip
    similarity.plot(seconds, result.ssim, color="tab:green")
    similarity.set_ylabel("SSIM")
    similarity.set_xlabel("seconds")
    _save(plt, figure, path)


def _pyplot():  # type: ignore[no-untyped-def]
    """matplotlib's pyplot on the file-only Agg backend (imported when a plot is asked for)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def _save(plt, figure, path: str | os.PathLike[str]) -> None:  # type: ignore[no-untyped-def]
    """Lay out ``figure``, write it to ``path`` as a PNG atomically, and free it."""
    figure.tight_layout()
    with atomic_output(path, what="plot") as temp:
        figure.savefig(temp, format="png", dpi=100)
    plt.close(figure)
