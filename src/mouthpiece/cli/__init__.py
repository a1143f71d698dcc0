"""The ``mouthpiece`` command: subcommands that call :mod:`mouthpiece.api`, nothing deeper.

Exit codes: 0 success, 1 failure (one sentence on stderr per failed input), 2 usage.

One module per command (:mod:`.animate`, :mod:`.video` for render and dub, ...), their
shared checks in :mod:`.common` and the grammar in :mod:`.parser`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Sequence

from ..cpus import single_threaded_math
from ..errors import MouthpieceError
from ..motion import opening
from .common import ANIMATION_FPS, VIDEO_FPS, ProgressBar, _style_for
from .parser import build_parser


def _reuse_freed_memory() -> None:
    """Ask glibc to keep large freed blocks for reuse instead of unmapping them.

    Rendering allocates several frame-sized arrays per frame (6 MB each at 1080p); by
    default glibc maps and unmaps each one, and the page faults cost a third of a 1080p
    render's CPU time (33 of 118 s, all in the kernel). Kept, the same memory is reused.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 1 << 30)
    libc.mallopt(m_trim_threshold, 1 << 30)


def _stop_on_signals() -> None:
    """SIGTERM (``kill``, ``timeout``, ``docker stop``) and SIGHUP (the terminal closed) unwind
    like Ctrl-C: outputs being written are removed (see :mod:`mouthpiece.atomic`) and the
    process exits 128 + the signal's number (143, 129)."""

    def stop(signum: int, frame: object) -> None:
        raise _Terminated(128 + signum)

    with contextlib.suppress(ValueError):  # not the main thread (an embedding app): leave it be
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGHUP, stop)


class _Terminated(BaseException):
    """SIGTERM or SIGHUP arrived; its value is the exit status."""


def main(argv: Sequence[str] | None = None) -> int:
    _reuse_freed_memory()
    single_threaded_math()
    _stop_on_signals()
    args = build_parser().parse_args(argv)
    if args.fps is None:
        makes_video = args.command in ("render", "dub") or getattr(args, "portrait", None)
        args.fps = VIDEO_FPS if makes_video else ANIMATION_FPS
    try:
        if args.command == "serve":
            return int(args.run(args))
        style = _style_for(args)
        with opening.using(style) if style is not None else contextlib.nullcontext():
            return int(args.run(args))
    except MouthpieceError as e:
        print(f"mouthpiece: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mouthpiece: interrupted.", file=sys.stderr)
        return 130
    except _Terminated as e:
        print("mouthpiece: terminated.", file=sys.stderr)
        return int(e.args[0])
    except BrokenPipeError:  # the reader went away (`mouthpiece animate x.wav | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error on exit
        return 0


__all__ = ["ProgressBar", "build_parser", "main"]
