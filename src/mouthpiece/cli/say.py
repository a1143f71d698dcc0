"""``mouthpiece say``: text to speech and its animation, a talking portrait or an avatar speaking it."""

from __future__ import annotations

import argparse
import os
import sys

from .. import api
from ..audio import save
from ..errors import InputError
from .animate import _load_avatar, _report_avatar
from .common import _check_writable
from .video import _load_portrait, _render


def _cmd_say(args: argparse.Namespace) -> int:
    if args.onto:
        return _say_onto(args)
    _check_writable(args.output, "speech file" if not args.portrait else "video")
    _check_writable(args.animation, "animation file")
    if args.portrait:
        portrait = _load_portrait(args)
        speech, animation = api.say(args.text, voice=args.voice, fps=args.fps)
        _render(args, portrait, speech, animation, os.path.basename(args.output))
        return 0
    speech, animation = api.say(args.text, voice=args.voice, fps=args.fps)
    animation = api.add_life(animation, speech, idle=False, emotion=args.emotion, intensity=args.intensity)
    save(speech, args.output)
    if args.animation:
        api.export_file(animation, args.animation, format=args.format or "anim-json")
    if not args.quiet:
        print(f"wrote {args.output}" + (f" and {args.animation}" if args.animation else ""), file=sys.stderr)
    return 0


def _say_onto(args: argparse.Namespace) -> int:
    """say --onto: -o is the animated avatar, and the speech goes beside it as <stem>.wav."""
    if args.portrait:
        raise InputError("--portrait and --onto both say what -o is: give one of them.")
    avatar = _load_avatar(args.onto, args.output)
    speech_path = os.path.splitext(args.output)[0] + ".wav"
    _check_writable(args.animation, "animation file")
    speech, animation = api.say(args.text, voice=args.voice, fps=args.fps)
    animation = api.add_life(
        animation, speech, idle=not args.no_idle, seed=args.seed, emotion=args.emotion, intensity=args.intensity
    )
    report = api.animate_onto(animation, avatar, args.output)
    save(speech, speech_path)
    if args.animation:
        api.export_file(animation, args.animation, format=args.format or "anim-json")
    _report_avatar(args, report, speech_path, *([args.animation] if args.animation else []))
    return 0
