"""``mouthpiece head``: a photo's face as a 3D head (glTF) with ARKit morph targets, speaking."""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from .. import api
from ..audio import save
from ..types import Animation, Audio
from .common import _check_writable, _print_warnings


def _cmd_head(args: argparse.Namespace) -> int:
    """A photo's face as a 3D head (.glb, .gltf), speaking AUDIO (--text: its transcript) or --text."""
    api.check_head_output(args.output)
    _check_writable(args.output, "head")
    speech_path = os.path.splitext(args.output)[0] + ".wav" if args.audio is None and args.text else None
    _check_writable(speech_path, "speech file")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        head = api.head_mesh(args.photo, face=args.face)  # a bad photo fails before any speech work
    for w in caught if not args.quiet else ():  # these name the photo themselves
        print(f"mouthpiece: warning: {w.message}", file=sys.stderr)
    speech: Audio | None = None
    animation: Animation | None = None
    if args.audio is not None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            animation = api.animate_file(args.audio, text=args.text, fps=args.fps, recognizer=args.recognizer,
                                         language=args.language, max_seconds=args.max_seconds)  # fmt: skip
        _print_warnings(args, args.audio, caught)
        speech = api.load_audio(args.audio, max_seconds=args.max_seconds)
    elif args.text:
        speech, animation = api.say(args.text, voice=args.language, fps=args.fps)
    if animation is not None and speech is not None:
        animation = api.add_life(animation, speech, idle=args.idle, seed=args.seed)
    report = api.write_head(head, args.output, animation=animation)
    if speech_path is not None and speech is not None:
        save(speech, speech_path)
    if not args.quiet:
        written = " and ".join([args.output, *([speech_path] if speech_path else [])])
        shape = f"a head of {head.vertex_count} vertices with {len(head.channels)} ARKit morph targets"
        said = "at rest (give AUDIO or --text to make it speak)" if report is None else (
            f"speaking {report.frames} frames ({report.frames / report.fps:.1f} s at {report.fps:g} fps)")  # fmt: skip
        print(f"wrote {written}: {shape}, {said}", file=sys.stderr)
    return 0
