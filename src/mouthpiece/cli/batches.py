"""Batches: many files (animate) or a manifest's videos (render, dub) in worker processes, with a report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from .. import batch, manifest
from ..errors import InputError
from .common import ProgressBar


def _run_batch(
    args: argparse.Namespace,
    items: list[batch.BatchItem],
    options: dict[str, Any],
    wrote: str,
    task: Callable[[str, str, dict[str, Any]], dict[str, Any]] | None = None,
) -> int:
    """A batch with a progress bar, a line per failure and warning, the report, and its exit status."""
    bar = ProgressBar(f"{len(items)} files", enabled=not args.quiet)

    def done(result: batch.BatchResult) -> None:
        if result.status == "error":
            bar.close()
            print(f"mouthpiece: {result.message}", file=sys.stderr)
        for warning in result.warnings if not args.quiet else ():
            print(f"mouthpiece: warning: '{result.input}': {warning}", file=sys.stderr)

    try:
        results = batch.run(items, options, jobs=args.jobs, ray=getattr(args, "ray", None), task=task,
                            skip_existing=args.skip_existing, progress=bar, done=done)  # fmt: skip
    finally:
        bar.close()
    if args.report:
        batch.write_report(results, args.report)
    failures = sum(r.status == "error" for r in results)
    if not args.quiet:
        skipped = sum(r.status == "skipped" for r in results)
        print(f"wrote {len(results) - failures - skipped} {wrote}"
              + (f", skipped {skipped} that existed" if skipped else ""), file=sys.stderr)  # fmt: skip
    if failures:
        print(f"mouthpiece: {failures} of {len(items)} inputs failed.", file=sys.stderr)
    return 1 if failures else 0


def _cmd_manifest(args: argparse.Namespace) -> int:
    """render/dub --manifest: a video per row of the CSV, in worker processes."""
    kind = args.command
    given = [name for name in ("portrait", "video", "audio", "output") if getattr(args, name, None) is not None]
    if given:
        raise InputError(f"--manifest takes every video's files from its rows: give no {given[0]} beside it.")
    items = manifest.read_manifest(args.manifest, kind)
    common = {"language": args.language, "recognizer": args.recognizer, "face": args.face,
              "max_seconds": args.max_seconds}  # fmt: skip
    if kind == "render":
        options = {**common, "size": args.size, "fps": args.fps, "idle": not args.no_idle, "seed": args.seed,
                   "emotion": args.emotion, "intensity": args.intensity}  # fmt: skip
    else:
        options = {**common, "fit": args.fit, "original_audio": args.keep_original_audio_mix}
    options["style"] = args.style  # a row's own style column wins
    return _run_batch(args, items, options, "videos", task=manifest.TASKS[kind])
