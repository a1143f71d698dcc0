"""``mouthpiece eval``: lip sync (sync), mouth cues (cues), lip motion (motion), the rest of the frame (preserve)."""

from __future__ import annotations

import argparse
import json
import os

from .. import api
from ..atomic import atomic_output


def _cmd_eval_sync(args: argparse.Namespace) -> int:
    result, seen, expected = api.evaluate_sync(args.video, audio=args.audio, recognizer=args.recognizer)
    name = os.path.basename(args.video)
    print(
        f"{name}: offset {result.offset:+d} frames ({result.offset_seconds * 1000:+.0f} ms), "
        f"confidence {result.confidence:.3f}  ({len(seen)} frames at {result.fps:g} fps; "
        f"positive offset: the audio is late)"
    )
    if result.windows:
        print(f"  {'window (s)':<14}{'offset':>8}{'confidence':>12}")
        for w in result.windows:
            print(f"  {w.start:5.1f}-{w.end:<7.1f}{w.offset:>+8d}{w.confidence:>12.3f}")
    if args.json:
        _write_report(args.json, {"video": args.video}, result.to_dict())
    if args.plot:
        from ..evaluate.plot import plot_sync

        plot_sync(result, seen, expected, args.plot, title=f"{name}: offset {result.offset:+d} frames")
    return 0


def _cmd_eval_cues(args: argparse.Namespace) -> int:
    from ..evaluate.cues import METRICS
    from ..evaluate.plot import plot_cues

    report = api.evaluate_cues(args.reference, args.predicted)
    folder = os.path.isdir(args.reference)
    shown = report.utterances if args.per_utterance or not folder else ()
    width = max([10, *(len(u.name) + 2 for u in shown)])

    def row(label: str, metrics: dict[str, float]) -> str:
        return f"{label:<{width}}" + "".join(f"{metrics[m]:>{len(m) + 2}.3f}" for m in METRICS)

    counts = report.counts
    if folder:
        missing = ", ".join(report.missing[:5]) + (", ..." if len(report.missing) > 5 else "")
        print(f"{len(report.utterances)} of {len(report.utterances) + len(report.missing)} utterances scored", end="")
        print(f"; {len(report.missing)} have no prediction in '{args.predicted}': {missing}" if missing else "")
    print(f"{counts.frames} frames of 10 ms, {counts.bilabials} P/B/M, {counts.closures} predicted closures in speech")
    print(f"{'':<{width}}" + "".join(f"{m:>{len(m) + 2}}" for m in METRICS))
    for score in shown:
        print(row(score.name, score.metrics))
    if folder:
        print(row("macro", report.macro))
        print(row("pooled", report.pooled))
    ceiling = report.ceiling
    print(
        f"(the oracle itself scores bil_prec {ceiling['bil_prec']:.3f} and sil_acc {ceiling['sil_acc']:.3f}: "
        "it closes the lips before P/B and holds shapes through pauses under 0.35 s)"
    )
    if args.json:
        _write_report(args.json, {"reference": args.reference, "predicted": args.predicted}, report.to_dict())
    if args.plot:
        name = os.path.basename(os.path.normpath(args.reference)) if folder else report.utterances[0].name
        metrics = report.pooled if folder else report.utterances[0].metrics
        plot_cues(report, args.plot, title=f"{name}: acc {metrics['acc']:.3f}, open_r {metrics['open_r']:.3f}")
    return 0


def _cmd_eval_motion(args: argparse.Namespace) -> int:
    result = api.evaluate_motion(args.reference, args.video)
    reference, video = os.path.basename(args.reference), os.path.basename(args.video)
    print(
        f"{video} against {reference}: {result.compared} of {result.frames} frames at {result.fps:g} fps compared "
        f"({result.frames - result.compared} without a face in either)"
    )
    rows = [
        ("LMD (eye distances)", f"{result.lmd_mean:.4f}"),
        ("LMD (reference pixels)", f"{result.lmd_pixels:.2f}"),
        ("mouth-opening r", f"{result.mouth_r:.3f}"),
        ("jitter of the reference", f"{result.jitter_reference:.4f}"),
        ("jitter of the video", f"{result.jitter_video:.4f}"),
    ]
    for label, value in rows:
        print(f"  {label:<26}{value:>10}")
    print("(jitter: eye distances per frame, how much the lips shake; 0 for a still face)")
    if args.json:
        _write_report(args.json, {"reference": args.reference, "video": args.video}, result.to_dict())
    if args.plot:
        from ..evaluate.plot import plot_motion

        plot_motion(result, args.plot, title=f"{video} against {reference}: LMD {result.lmd_mean:.4f}")
    return 0


def _cmd_eval_preserve(args: argparse.Namespace) -> int:
    result = api.evaluate_preserve(args.source, args.video)
    source, video = os.path.basename(args.source), os.path.basename(args.video)
    masked = int(result.masked.sum())
    print(
        f"{video} against {source}: {result.frames} frames at {result.fps:g} fps, the mouth and jaw left out of "
        f"{masked} ({result.frames - masked} without a face compared whole)"
    )
    print(f"  {'':<10}{'mean':>10}{'min':>10}{'worst frame':>13}")
    print(f"  {'PSNR (dB)':<10}{result.psnr_mean:>10.2f}{result.psnr_min:>10.2f}{result.psnr_worst:>13d}")
    print(f"  {'SSIM':<10}{result.ssim_mean:>10.4f}{result.ssim_min:>10.4f}{result.ssim_worst:>13d}")
    if args.json:
        _write_report(args.json, {"source": args.source, "video": args.video}, result.to_dict())
    if args.plot:
        from ..evaluate.plot import plot_preserve

        plot_preserve(result, args.plot, title=f"{video} against {source}: SSIM {result.ssim_mean:.4f}")
    return 0


def _write_report(path: str, inputs: dict[str, str], result: dict[str, object]) -> None:
    """An evaluation's JSON report: the absolute paths of what it compared, then its result."""
    with atomic_output(path, what="JSON report") as temp, open(temp, "w", encoding="utf-8") as f:
        json.dump({**{k: os.path.abspath(v) for k, v in inputs.items()}, **result}, f, indent=1)
