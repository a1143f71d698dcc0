"""``mouthpiece animate``: speech files to mouth cues and curves in any export format, or onto a 3D avatar."""

from __future__ import annotations

import argparse
import glob
import os
import sys
from pathlib import Path
from typing import Any

from .. import api, batch
from ..errors import InputError
from ..export import EXPORTERS, format_for_path, get_exporter
from ..export.cues import REST_SHAPE, allowed_extended_shapes
from ..inputs import read_text_file
from .batches import _run_batch
from .common import GENERIC_STYLE, ProgressBar, _check_writable, _print_warnings


def _export_options(args: argparse.Namespace, audio_path: str) -> dict[str, Any]:
    return {
        "extended_shapes": REST_SHAPE if args.no_extended_shapes else args.extended_shapes,
        "dat_fps": args.dat_fps,
        "preston_blair": args.dat_preston_blair,
        "sound_file": os.path.abspath(audio_path),
    }


def _animate_options(args: argparse.Namespace, fmt: str) -> dict[str, Any]:
    """The command line as the options of :func:`mouthpiece.batch.animate_one`."""
    return {
        "format": fmt, "text": args.text, "text_sidecar": args.text_sidecar, "fps": args.fps,
        "recognizer": args.recognizer, "language": args.language, "idle": args.idle, "seed": args.seed,
        "max_seconds": args.max_seconds,
        "emotion": args.emotion, "intensity": args.intensity, "cue_shapes": args.cue_shapes,
        "style": args.style if args.style not in (None, GENERIC_STYLE) else None,
        "export": {k: v for k, v in _export_options(args, "").items() if k != "sound_file"},
    }  # fmt: skip


def _animate_one(
    args: argparse.Namespace, audio_path: str, output: str | None, fmt: str, avatar: api.Avatar | None = None
) -> None:
    bar = ProgressBar(os.path.basename(audio_path), enabled=not args.quiet)
    try:  # the style is in force already (cli.main): not loaded again
        animation, said = batch.animation_of(audio_path, {**_animate_options(args, fmt), "style": None}, progress=bar)
    finally:
        bar.close()
    _print_warnings(args, audio_path, said)
    if avatar is not None and output is not None:
        _report_avatar(args, api.animate_onto(animation, avatar, output))
        return
    options = _export_options(args, audio_path)
    if output is None:
        api.export_stream(animation, sys.stdout, format=fmt, **options)
    else:
        api.export_file(animation, output, format=fmt, **options)


def _cmd_animate(args: argparse.Namespace) -> int:
    inputs: list[str] = args.audio
    output: str | None = args.output
    if args.text_file is not None:
        args.text = read_text_file(args.text_file)  # read once; a bad file fails before any work
    if args.onto is not None:
        one = inputs[0]
        if len(inputs) != 1 or os.path.isdir(one) or (glob.has_magic(one) and not os.path.exists(one)):
            raise InputError("--onto animates one avatar with one speech file: give one input.")
        if args.format is not None:
            raise InputError("-f does not apply with --onto: the avatar is written as -o's extension says.")
        avatar = _load_avatar(args.onto, output)
        _animate_one(args, inputs[0], output, "", avatar)
        return 0
    if args.format is not None:
        get_exporter(args.format)  # an unknown format name fails before any work
    allowed_extended_shapes(args.extended_shapes)  # so do letters other than G, H and X
    several = len(inputs) > 1 or any(os.path.isdir(p) or (glob.has_magic(p) and not os.path.exists(p)) for p in inputs)
    if output is None or not (several or os.path.isdir(output)):
        if several:
            raise InputError("Several inputs need an output folder: add -o DIR.")
        fmt = args.format or (format_for_path(output) if output else "tsv")
        _animate_one(args, inputs[0], output, fmt)
        return 0
    if not os.path.isdir(output) and Path(output).suffix.lower() in {e.extension for e in EXPORTERS.values()}:
        raise InputError(f"Several inputs need an output folder, and '{output}' names a file: give -o a folder.")
    fmt = args.format or "tsv"
    items = batch.plan(batch.expand(inputs), output, EXPORTERS[fmt].extension)
    options = _animate_options(args, fmt)
    if args.ray is not None:  # a cluster nobody answers at is told before anything is written
        from ..cluster import check_reachable

        check_reachable(args.ray)
    os.makedirs(output, exist_ok=True)
    return _run_batch(args, items, options, f"files to {output}")


def _load_avatar(path: str, output: str | None) -> api.Avatar:
    """The avatar of --onto, once it and -o are known to fit each other (before any speech work)."""
    if output is None:
        raise InputError("--onto needs -o: the animated avatar to write (.glb, .gltf or .vrm).")
    avatar = api.load_avatar(path)
    api.check_avatar_output(avatar, output)
    _check_writable(output, "avatar")
    return avatar


def _report_avatar(args: argparse.Namespace, report: api.AvatarReport, *also: str) -> None:
    if not args.quiet:
        lines = report.lines()
        lines[0] = lines[0].replace(f"wrote {report.output}", f"wrote {' and '.join([report.output, *also])}", 1)
        print("\n".join(lines), file=sys.stderr)
