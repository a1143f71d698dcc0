"""``mouthpiece render`` (a photo speaking) and ``mouthpiece dub`` (a video speaking new speech)."""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from .. import api
from ..errors import InputError
from ..inputs import read_text_file
from ..types import Animation, Audio
from .batches import _cmd_manifest
from .common import ProgressBar, _check_video_path, _check_writable, _print_warnings


def _need(args: argparse.Namespace, *names: str) -> None:
    """The files a render or dub of one video needs: InputError naming what is missing."""
    missing = [name.upper() for name in names if getattr(args, name) is None]
    if missing or args.output is None:
        wanted = " and ".join([*[n.upper() for n in names], "-o OUTPUT"])
        raise InputError(f"{args.command} needs {wanted} (or --manifest CSV for many videos).")


def _render(args: argparse.Namespace, portrait: api.Portrait, speech: Audio, animation: Animation, label: str) -> None:
    """Life, emotion, then the video (and the Animation that drove it when asked)."""
    animation = api.add_life(
        animation, speech, idle=not args.no_idle, seed=args.seed, emotion=args.emotion, intensity=args.intensity
    )
    bar = ProgressBar(label, enabled=not args.quiet)
    try:
        api.render_video(portrait, animation, args.output, audio=speech, progress=bar)
    finally:
        bar.close()
    _finish_video(args, animation)


def _finish_video(args: argparse.Namespace, animation: Animation) -> None:
    if args.animation:
        api.export_file(animation, args.animation, format="anim-json")
    if not args.quiet:
        print(f"wrote {args.output}" + (f" and {args.animation}" if args.animation else ""), file=sys.stderr)


def _load_portrait(args: argparse.Namespace) -> api.Portrait:
    _check_video_path(args.output)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        portrait = api.load_portrait(args.portrait, size=args.size, face=args.face)
    if not args.quiet:
        for w in caught:  # these name the photo themselves
            print(f"mouthpiece: warning: {w.message}", file=sys.stderr)
    return portrait


def _cmd_render(args: argparse.Namespace) -> int:
    if args.manifest is not None:
        return _cmd_manifest(args)
    _need(args, "portrait", "audio")
    _check_writable(args.animation, "animation file")
    text = read_text_file(args.text_file) if args.text_file is not None else args.text
    portrait = _load_portrait(args)  # a bad photo fails before any speech work
    speech = api.load_audio(args.audio, max_seconds=args.max_seconds)
    bar = ProgressBar(os.path.basename(args.output), enabled=not args.quiet)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            animation = api.render_speech(
                portrait, speech, args.output, text=text, fps=args.fps, recognizer=args.recognizer,
                language=args.language, idle=not args.no_idle, seed=args.seed, emotion=args.emotion,
                intensity=args.intensity, progress=bar,
            )  # fmt: skip
        finally:
            bar.close()
    _print_warnings(args, args.audio, caught)
    _finish_video(args, animation)
    return 0


def _cmd_dub(args: argparse.Namespace) -> int:
    if args.manifest is not None:
        return _cmd_manifest(args)
    _need(args, "video", "audio")
    _check_video_path(args.output)
    _check_writable(args.animation, "animation file")
    text = read_text_file(args.text_file) if args.text_file is not None else args.text
    speech = getattr(args, "speech", None) or api.load_audio(args.audio, max_seconds=args.max_seconds)
    bar = ProgressBar(os.path.basename(args.output), enabled=not args.quiet)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            animation, count = api.dub_video(
                args.video, speech, args.output, text=text, face=args.face, fit=args.fit,
                original_audio=args.keep_original_audio_mix, recognizer=args.recognizer, language=args.language,
                progress=bar,
            )  # fmt: skip
        finally:
            bar.close()
    _print_warnings(args, args.audio, caught)
    if getattr(args, "style_note", None) and not args.quiet:
        print(f"mouthpiece: {args.style_note}.", file=sys.stderr)
    if count.faceless and not args.quiet:
        print(
            f"mouthpiece: {count.faceless} of {count.frames} frames did not show the face and were left as they were.",
            file=sys.stderr,
        )
    _finish_video(args, animation)
    return 0
