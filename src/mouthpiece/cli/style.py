"""``mouthpiece style``: a person's own mouth style, fitted on videos of them speaking."""

from __future__ import annotations

import argparse
import os
import sys

from .. import api
from ..errors import InputError
from ..motion.style import SUFFIX as STYLE_SUFFIX
from ..motion.style import save_style
from .common import ProgressBar


def _cmd_style(args: argparse.Namespace) -> int:
    if not args.output.endswith(STYLE_SUFFIX):
        raise InputError(f"Cannot write a style to '{args.output}': name it *{STYLE_SUFFIX}.")
    bar = ProgressBar(os.path.basename(args.output), enabled=not args.quiet)
    try:
        style = api.fit_style(args.video, language=args.language, recognizer=args.recognizer, progress=bar)
    finally:
        bar.close()
    save_style(style, args.output)
    if not args.quiet:
        card = style.scores()
        print(f"wrote {args.output}: fitted on {card['frames']} frames of {len(args.video)} video(s)",
              file=sys.stderr)  # fmt: skip
    return 0
