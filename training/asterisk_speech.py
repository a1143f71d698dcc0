"""Shards of real human speech for the front end: the prompts of Asterisk's core sounds.

Debian's ``asterisk-core-sounds-{en,es,fr,it,ru}`` (CC BY-SA 3.0 / CC BY 3.0) are a telephone
system's prompts, spoken by voice actors in five languages (US English and Mexican Spanish by
Allison Smith, Canadian French by June Wallack, Italian by Carlo Flora, Russian by
IvrvoiceRU): about 470-600 prompts, 25 minutes, per language, each prompt's text listed in
the package's ``core-sounds-LL.txt``. The ``-g722`` packages hold them at 16 kHz (G.722,
decoded by PyAV); the others' own recordings are 8 kHz. Before them the front end heard
real voices only in Czech and Dutch (``training.real_speech``), none in English.

Each prompt is aligned to its text and kept or refused exactly as a Fish Fillets line is
(``real_speech.aligned_spans``: refused where the aligner finds the text nowhere and falls
back to recognizing, or the alignment is implausible; the lists hold some texts that are
not what was said), then written twice, as heard and degraded, with its chain prefixed
``real:`` (``train.py --real-share`` weighs Fish Fillets and Asterisk together). Prompts
whose name sorts into every tenth place are validation.

    python -m training.asterisk_speech     # ~6 min on one core; shards in ~/.cache/mouthpiece-train/{train,val}
"""

from __future__ import annotations

import argparse
import gzip
import re
from collections import Counter
from pathlib import Path

import numpy as np

from mouthpiece.audio.features import log_mel
from mouthpiece.types import SAMPLE_RATE

from .line_shards import LineShards
from .make_corpus import DEFAULT_OUT
from .real_speech import VALIDATION_EVERY, aligned_spans

SOUNDS = Path("/usr/share/asterisk/sounds")
DOCS = Path("/usr/share/doc")
# package language -> (the folder of its voice, the espeak-ng language its text is read in)
VOICES = {
    "en": ("en_US_f_Allison", "en-us"),
    "es": ("es_MX_f_Allison", "es-419"),
    "fr": ("fr_CA_f_June", "fr"),
    "it": ("it_IT_m_Carlo", "it"),
    "ru": ("ru_RU_f_IvrvoiceRU", "ru"),
}
PROMPT = re.compile(r"^([\w./-]+):\s*(.+)$")
NOT_SPEECH = re.compile(r"\[[^\]]*\]")  # "[ascending tones]": a description, not words


def prompts(language: str, sounds: Path = SOUNDS, docs: Path = DOCS) -> list[tuple[str, Path, str]]:
    """(name, G.722 file, text) of every listed prompt of ``language`` that has a recording
    and words to say (the first text where a name is listed twice)."""
    folder, _ = VOICES[language]
    listing = docs / f"asterisk-core-sounds-{language}" / f"core-sounds-{language}.txt.gz"
    if not listing.exists():
        return []
    texts: dict[str, str] = {}
    for line in gzip.open(listing, "rt", encoding="utf-8-sig", errors="replace"):
        found = PROMPT.match(line.strip())
        if found and not found.group(1).startswith(";"):
            text = NOT_SPEECH.sub(" ", found.group(2)).strip()
            if re.search(r"\w", text):
                texts.setdefault(found.group(1), text)
    out = []
    for name, text in sorted(texts.items()):
        sound = sounds / folder / f"{name}.g722"
        if sound.exists():
            out.append((name, sound, text))
    return out


def read_g722(path: Path) -> np.ndarray:
    """16 kHz float samples in [-1, 1] of a raw G.722 file."""
    import av  # PyAV, a dependency of the product (video)

    with av.open(str(path), format="g722") as container:
        stream = container.streams.audio[0]
        if stream.rate != SAMPLE_RATE:
            raise ValueError(f"{path} decodes at {stream.rate} Hz, not {SAMPLE_RATE}")
        blocks = [frame.to_ndarray().reshape(-1) for frame in container.decode(stream)]
    samples = np.concatenate(blocks) if blocks else np.zeros(0, np.int16)
    return (samples.astype(np.float32) / 32768.0).clip(-1.0, 1.0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--sounds", type=Path, default=SOUNDS, help="the packages' recordings")
    parser.add_argument("--docs", type=Path, default=DOCS, help="where the packages' prompt lists are")
    parser.add_argument("--seed", type=int, default=40)
    parser.add_argument("--limit", type=int, default=0, help="prompts per language (0: all), for a quick look")
    parser.add_argument("--languages", default=",".join(VOICES), help="comma list of the packages' languages")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    shards = LineShards(args.out, f"asterisk{args.seed}", "real", rng)
    refused: Counter = Counter()
    for language in args.languages.split(","):
        listed = prompts(language, args.sounds, args.docs)
        if not listed:
            raise SystemExit(
                f"No {language} prompts: install asterisk-core-sounds-{language} asterisk-core-sounds-{language}-g722."
            )
        folder, espeak = VOICES[language]
        for i, (name, sound, text) in enumerate(listed[: args.limit or None]):
            samples = read_g722(sound)
            if len(samples) < SAMPLE_RATE // 10:
                refused[f"{language}:too short"] += 1
                continue
            mel = log_mel(samples)
            try:
                spans, refusal = aligned_spans(samples, mel, text, espeak)
            except Exception as e:  # a text espeak-ng or the aligner cannot take: that prompt only
                refused[f"{language}:unalignable"] += 1
                print(f"skipped {sound}: {e}", flush=True)
                continue
            if spans is None:
                refused[f"{language}:{refusal}"] += 1
                continue
            split = "val" if i % VALIDATION_EVERY == VALIDATION_EVERY - 1 else "train"
            shards.add(split, samples, spans, f"{language}-{name.replace('/', '-')}", f"asterisk:{folder}", espeak,
                       mel=mel)  # fmt: skip
    shards.close(refused=dict(refused))


if __name__ == "__main__":
    main()
