"""Shards of real human speech for the front end: the voiced dialogue of Fish Fillets NG.

The game's Czech and Dutch voice packs (Debian ``fillets-ng-data-cs``, ``fillets-ng-data-nl``;
GPL-2) hold some 3,300 lines, about 3.1 hours, spoken by actors, and its scripts
(``fillets-ng-data``) hold each line's text in the language spoken. Real voices are what the
synthetic corpus lacks: the front end that heard only synthesizers follows real speech
worse than pocketsphinx's English model (issue 14).

No phone timings come with the lines, so each is aligned to its text as the product aligns
a transcript (``api.to_phones(audio, text=..., language=...)``: espeak-ng's phonemes,
placed by the current front end). A line is refused when its alignment leaves its loud
frames silent or puts speech where it is quiet (the text is not what was said: an ad-lib,
a cut line), or when its text has more phones than its speech could hold: 2,269 of 3,230
lines are kept, 2.1 hours. Each kept line is written twice, as it is and through
``augment.degrade``; its chain is prefixed ``real:`` so training can weigh the real lines
apart (``train.py --real-share``). Levels whose name sorts into every tenth place are
validation.

    python -m training.real_speech            # ~4 min on one core; shards in ~/.cache/mouthpiece-train/{train,val}
"""

from __future__ import annotations

import argparse
import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from mouthpiece import api
from mouthpiece.audio.features import log_mel
from mouthpiece.audio.load import load
from mouthpiece.errors import InputError
from mouthpiece.neural.model import FRAME_RATE
from mouthpiece.phonetics.tts import tts
from mouthpiece.types import SAMPLE_RATE, Audio

from .labels import frame_targets
from .line_shards import LineShards
from .make_corpus import DEFAULT_OUT

GAME = Path("/usr/share/games/fillets-ng")
LANGUAGES = ("cs", "nl")  # the voice packs Debian has
DIALOG = re.compile(r'dialogId\("([^"]+)"[^)]*\)\s*dialogStr\("((?:[^"\\]|\\.)*)"\)', re.S)
LOUD_DB = 30.0  # a frame within this many dB of the line's loudest is speech
MIN_HEARD = 0.85  # share of the loud frames up to the last phone that the alignment covers with phones
MAX_QUIET = 0.25  # share of the aligned phones' frames that may be quiet
START_SLACK = 0.2  # s, between the first loud frame and the first phone
END_SLACK = 0.15  # s the last phone may run past the last loud frame (a soft final consonant)
ECHO = 0.7  # s, the longest the game's echo keeps a line loud after its last phone
MAX_PHONE_RATE = 25.0  # phones/s: the text's phones (as espeak-ng says it) over the aligned speech's length
# (real lines measure 5.8-23.2, 1st-99th percentile; a text too long for its line is squeezed past it)
VALIDATION_EVERY = 10  # every tenth level (sorted by name) is validation


def dialog_lines(game: Path, language: str) -> list[tuple[str, str, Path, str]]:
    """(level, line id, sound file, text) of every voiced line of ``language``."""
    out = []
    for script in sorted((game / "script").glob(f"*/dialogs_{language}.lua")):
        level = script.parent.name
        for line, text in DIALOG.findall(script.read_text(encoding="utf-8", errors="replace")):
            sound = game / "sound" / level / language / f"{line}.ogg"
            if sound.exists() and text.strip():
                out.append((level, line, sound, text.replace('\\"', '"')))
    return out


def validation_levels(game: Path) -> set[str]:
    """The levels whose lines are validation, in every language and voice: every tenth of the
    game's levels sorted by name (one split for all, so no line is heard in training in one
    language and checked in another)."""
    levels = sorted({script.parent.name for script in (game / "script").glob("*/dialogs_*.lua")})
    return set(levels[VALIDATION_EVERY - 1 :: VALIDATION_EVERY])


def loud_frames(mel: np.ndarray) -> np.ndarray:
    """Per log mel frame (a target frame), whether it is within :data:`LOUD_DB` of the line's loudest."""
    energy = 10 * np.log10(np.exp(mel).sum(1) + 1e-12)
    return energy > energy.max() - LOUD_DB


def spans_of(audio, text: str, language: str) -> list[tuple[float, float, str]]:
    phones = api.to_phones(audio, text=text, language=language)
    return [(p.start, p.end, p.label) for p in phones.phones]


def aligned_spans(
    samples: np.ndarray, mel: np.ndarray, text: str, language: str
) -> tuple[list[tuple[float, float, str]] | None, str]:
    """A line's phones aligned to its ``text`` (16 kHz ``samples``, their log ``mel``), or
    None and why the line is refused: the aligner found the text nowhere in the speech and
    recognized phones instead (it warns; the labels would not be the text's), or the
    alignment is not :func:`plausible`. Exceptions of the aligner pass through."""
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        spans = spans_of(Audio(samples, SAMPLE_RATE), text, language)
    if any("recogniz" in str(w.message) for w in warned):
        return None, "text not heard"
    said = sum(p.label != "sil" for p in tts(text, voice=language)[1].phones)
    if not plausible(spans, loud_frames(mel), said):
        return None, "misaligned"
    return spans, ""


def plausible(spans: list[tuple[float, float, str]], loud: np.ndarray, phones: int) -> bool:
    """Whether the aligned phones lie where the line is loud: they start with it, end before
    its echo does, cover its loud frames up to their end and are seldom in quiet frames;
    and whether the text's ``phones`` fit in them at a rate people speak."""
    speaking = sum(b - a for a, b, label in spans if label != "sil")
    if phones > MAX_PHONE_RATE * speaking:
        return False
    vis, _ = frame_targets(spans, len(loud))
    speech = vis != 0
    if not speech.any() or not loud.any():
        return False
    spoken, heard_loud = np.flatnonzero(speech), np.flatnonzero(loud)
    first, last, loud_first, loud_last = spoken[0], spoken[-1], heard_loud[0], heard_loud[-1]
    if abs(first - loud_first) > START_SLACK * FRAME_RATE:
        return False
    if not loud_last - ECHO * FRAME_RATE <= last <= loud_last + END_SLACK * FRAME_RATE:
        return False
    heard = (speech & loud)[: last + 1].sum() / max(1, loud[: last + 1].sum())
    quiet = (speech & ~loud).sum() / speech.sum()
    return bool(heard >= MIN_HEARD and quiet <= MAX_QUIET)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--game", type=Path, default=GAME)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=30)
    parser.add_argument("--limit", type=int, default=0, help="lines per language (0: all), for a quick look")
    parser.add_argument("--languages", default=",".join(LANGUAGES), help="comma list of the voice packs to use")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    shards = LineShards(args.out, f"real{args.seed}", "real", rng)
    validation = validation_levels(args.game)
    refused: Counter = Counter()
    for language in args.languages.split(","):
        lines = dialog_lines(args.game, language)
        if not lines:
            raise SystemExit(
                f"No voiced {language} lines under {args.game}: install fillets-ng-data fillets-ng-data-{language}."
            )
        for level, line, sound, text in lines[: args.limit or None]:
            try:
                samples = load(sound).samples.astype(np.float32)
                mel = log_mel(samples)
                spans, refusal = aligned_spans(samples, mel, text, language)
            except InputError as e:
                refused[f"{language}:unreadable"] += 1
                print(f"skipped {sound}: {e}", flush=True)
                continue
            if spans is None:
                refused[f"{language}:{refusal}"] += 1
                continue
            character = line.split("-")[1] if line.count("-") >= 2 else "?"
            split = "val" if level in validation else "train"
            shards.add(split, samples, spans, f"{language}-{level}-{line}", f"fillets:{language}:{character}", language,
                       mel=mel)  # fmt: skip
    shards.close(refused=dict(refused))


if __name__ == "__main__":
    main()
