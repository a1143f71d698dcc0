"""``mouthpiece languages``: the languages and voices espeak-ng speaks."""

from __future__ import annotations

import argparse

from .. import api


def _cmd_languages(args: argparse.Namespace) -> int:
    for code, name in api.languages():
        print(f"{code}\t{name}")
    return 0
