"""A corpus of our own held-out voices, in the layout the team's cue scorer reads, to tune
methods on without touching the evaluation corpora.

The validation voices of :mod:`training.make_corpus` (MBROLA ``de7 fr6 br2 ro1-en``
and the espeak-ng variants ``f4 m6 klatt3 linda``: never trained on) say our own
pseudo-sentences, clean; per utterance ``<voice>_sNN.wav`` (16 kHz mono 16-bit),
``.txt``, ``.phones.tsv`` (``start end phone raw``, the synthesizer's exact timings) and a
``manifest.csv`` with ``utt, voice, language``, so that ``benchmarks/languages.py --corpus
DIR`` scores it as it scores the multilingual evaluation corpus.

    python -m training.heldout --out ~/.cache/mouthpiece-train/heldout --per-voice 12
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from .make_corpus import (
    DEFAULT_OUT,
    LANGUAGES,
    RATE,
    load_words,
    sentence,
    speak_espeak,
)  # fmt: skip
from .mbrola import MissingDiphones, speak_mbrola

# (voice as the corpus names it, engine voice, language code as --language takes it)
VOICES = (
    ("de7", "de7", "de"), ("fr6", "fr6", "fr"), ("br2", "br2", "pt-br"),
    ("ro1en", "ro1-en", "en"), ("def4", "de+f4", "de"), ("frm6", "fr+m6", "fr"), ("esklatt3", "es+klatt3", "es"),
    ("enusf4", "en-us+f4", "en"), ("enklatt3", "en+klatt3", "en"), ("enrpm6", "en-gb-x-rp+m6", "en"),
    ("enuslinda", "en-us+linda", "en"), ("itlinda", "it+linda", "it"), ("nlf4", "nl+f4", "nl"),
    ("plm6", "pl+m6", "pl"), ("svklatt3", "sv+klatt3", "sv"),
)  # fmt: skip
SCORER_NAMES = {"AX": "Schwa"}  # ARPAbet the scorer spells its own way
# English held out says real sentences where Debian's fortunes-min is installed: a word
# recognizer's language model is lost on the other languages' word-list pseudo-sentences.
FORTUNES = Path("/usr/share/games/fortunes/fortunes")


def english_sentences() -> list[str]:
    """Short plain sentences from the fortune cookie file, or none if it is not installed."""
    if not FORTUNES.exists():
        return []
    pieces = (re.sub(r"\s+", " ", piece).strip() for piece in FORTUNES.read_text(errors="replace").split("\n%\n"))
    return [p for p in pieces if 6 <= len(p.split()) <= 20 and re.fullmatch(r"[A-Za-z ,.'!?;:-]+", p)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT / "heldout")
    parser.add_argument("--per-voice", type=int, default=12)
    parser.add_argument("--seed", type=int, default=99)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    rows = []
    real_english = english_sentences()
    for name, engine_voice, language in VOICES:
        words = load_words(LANGUAGES[language][0])
        for k in range(args.per_voice):
            while True:
                if language == "en" and real_english:
                    text = str(rng.choice(real_english))
                else:
                    text = sentence(words, rng)
                try:
                    if "+" in engine_voice:
                        samples, spans = speak_espeak(text, engine_voice, rng)
                    else:
                        samples, spans = speak_mbrola(text, engine_voice, language, rng, Counter())
                    break
                except MissingDiphones:  # the voice cannot say this sentence: another one
                    continue
            utt = f"{name}_s{k:02d}"
            pcm = np.clip(samples * 32767, -32768, 32767).astype(np.int16)
            wavfile.write(args.out / f"{utt}.wav", RATE, pcm)
            (args.out / f"{utt}.txt").write_text(text + "\n", encoding="utf-8")
            end = len(samples) / RATE
            lines = ["start\tend\tphone\traw"]
            cursor = 0.0
            for a, b, phone in spans:
                a, b = max(a, cursor), min(b, end)
                if b <= a:
                    continue
                if a > cursor + 1e-4:
                    lines.append(f"{cursor:.4f}\t{a:.4f}\tsil\t_")
                lines.append(f"{a:.4f}\t{b:.4f}\t{SCORER_NAMES.get(phone, phone)}\t{phone}")
                cursor = b
            if cursor < end - 1e-4:
                lines.append(f"{cursor:.4f}\t{end:.4f}\tsil\t_")
            (args.out / f"{utt}.phones.tsv").write_text("\n".join(lines) + "\n")
            rows.append({"utt": utt, "voice": name, "language": language, "text": text})
    with open(args.out / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["utt", "voice", "language", "text"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} utterances in {args.out}")


if __name__ == "__main__":
    main()
