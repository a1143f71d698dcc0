"""What the commands share: frame rates, the progress bar, checks of paths and values, warnings."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Sequence

from .. import api, manifest
from ..errors import InputError
from ..motion.opening import OpeningModel
from ..motion.style import load_style
from ..render.video import EXTENSIONS as VIDEO_EXTENSIONS

ANIMATION_FPS = 60.0
VIDEO_FPS = api.VIDEO_FPS


class ProgressBar:
    """A one-line progress bar on stderr, silent when stderr is not a terminal.

    Twenty lines, used for one file and for a batch's files alike; tqdm would add a
    dependency to draw the same bar."""

    WIDTH = 30

    def __init__(self, label: str, *, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()
        self.shown = False

    def __call__(self, fraction: float) -> None:
        if not self.enabled:
            return
        filled = int(self.WIDTH * min(max(fraction, 0.0), 1.0))
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {fraction:4.0%}")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _number_between(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a number from ``low`` to ``high``."""

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, got {value}")
        return number

    return parse


def _positive_seconds(value: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not (0 < seconds < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {value}")
    return seconds


GENERIC_STYLE = "generic"  # --style: the filter fitted on many speakers, not a person's own
_fps = _number_between(1, 240)
_intensity = _level = _number_between(0, 1)


def _size(value: str) -> tuple[int, int]:
    """``512`` (a square) or ``1920x1080``."""
    try:
        return manifest.parse_size(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _check_writable(path: str | None, what: str) -> None:
    """A file can be written at ``path`` (its folder exists and is writable), checked before any work."""
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(folder):
        raise InputError(f"Could not write {what} '{path}': the folder '{folder}' does not exist.")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise InputError(f"Could not write {what} '{path}': permission denied.")


def _check_video_path(path: str) -> None:
    if os.path.splitext(path)[1].lower() not in VIDEO_EXTENSIONS:
        raise InputError(f"Cannot write video to '{path}': use {', '.join(VIDEO_EXTENSIONS)}.")


def _print_warnings(args: argparse.Namespace, path: str, caught: Sequence[warnings.WarningMessage | str]) -> None:
    if not args.quiet:
        for w in caught:
            print(f"mouthpiece: warning: '{path}': {w if isinstance(w, str) else w.message}", file=sys.stderr)


def _style_for(args: argparse.Namespace) -> OpeningModel | None:
    """The style a command runs with: --style FILE, or for dub the source video's own (unless --style generic)."""
    chosen = getattr(args, "style", None)
    if getattr(args, "manifest", None) is not None:  # a manifest's rows choose their own
        return None
    if args.command == "dub":
        if args.audio is not None and args.text is None and args.text_file is None:  # heard while the style is fitted
            args.speech = api.load_audio(args.audio, max_seconds=args.max_seconds)
        style, args.style_note = api.dub_style(
            args.video, chosen, language=args.language, recognizer=args.recognizer, face=args.face,
            speech=getattr(args, "speech", None),
        )  # fmt: skip
        return style
    return None if chosen in (None, GENERIC_STYLE) else load_style(chosen)
