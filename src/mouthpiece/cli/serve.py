"""``mouthpiece serve``: the HTTP API, live stream and web page."""

from __future__ import annotations

import argparse
import os

from ..errors import DependencyError
from ..motion.opening import MODEL_VARIABLE
from ..motion.style import load_style
from .common import GENERIC_STYLE


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from ..serve import create_app
        from ..serve.server import run
    except ImportError as e:
        raise DependencyError(f"mouthpiece serve needs the server's packages ({e.name} is missing): "
                              "pip install 'mouthpiece[serve]'.") from None  # fmt: skip
    if args.style not in (None, GENERIC_STYLE):  # the workers load it from the environment
        load_style(args.style)
        os.environ[MODEL_VARIABLE] = os.path.abspath(args.style)
    app = create_app(
        token=args.token, max_upload_mb=args.max_upload_mb, render_workers=args.render_workers,
        stream_workers=args.stream_workers, max_streams=args.max_streams, idle_timeout=args.idle_timeout,
        request_timeout=args.request_timeout, max_seconds=args.max_seconds, max_megapixels=args.max_megapixels,
        max_jobs=args.max_jobs, allowed_origins=tuple(args.allow_origin), allowed_hosts=tuple(args.allow_host),
    )  # fmt: skip
    run(app, host=args.host, port=args.port, quiet=args.quiet)
    return 0
