"""Make the front end's training corpus: synthetic speech with exact phone timings, degraded.

Each utterance is a pseudo-sentence of 4-12 words drawn from a Debian word list
(``/usr/share/dict``), spoken by one voice of one engine:

- espeak-ng (through :func:`mouthpiece.phonetics.tts.tts`, whose phoneme events give
  exact starts), in 15 language variants x ~30 voice variants x 120-260 words/min;
- Festival's English diphone voices ``rab_diphone`` and ``don_diphone`` (segment end
  times from ``utt.save.segs``), stretched 0.8-1.3x;
- flite's statistical English voices ``awb`` and ``rms`` (:mod:`training.flite`; segment
  end times from ``-psdur``), stretched 0.8-1.3x;
- MBROLA diphone voices (also foreign ones reading English by espeak-ng's rules, such as
  ``de4-en``), driven by espeak-ng's ``--pho`` output (phone durations in ms,
  pitch targets) and rendered by the ``mbrola`` binary; the .pho is stretched and
  pitch-shifted first, so the labels stay exact.

The phones become per-frame viseme indices and articulation targets
(:mod:`training.labels`); the audio is degraded by a random chain (:mod:`training.augment`)
and stored as 40-band log-mel frames. Voices reserved for evaluation in issue 14 are never
used; 10 % of the others (:data:`VALIDATION_VOICES`, chosen by voice) go to ``val/``.

Shards: ``OUT/{train,val}/shard_sSEED_NNNN.npz`` with ``mel`` [N, 40] float16, ``viseme`` [N]
uint8, ``articulation`` [N, 3] float16, ``offsets`` [U + 1] int64 (utterance ``u`` is rows
``offsets[u]:offsets[u + 1]``), and per utterance ``ids``, ``voices``, ``langs``,
``chains`` (str). ``OUT/summary.json`` counts them.

    python -m training.make_corpus --out ~/.cache/mouthpiece-train --minutes 30
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from mouthpiece.audio.features import log_mel
from mouthpiece.audio.resample import resample
from mouthpiece.phonetics.tts import tts
from mouthpiece.types import SAMPLE_RATE as RATE

from . import augment
from .flite import FLITE_VOICES, speak_flite
from .labels import add_phones, frame_targets
from .mbrola import MBROLA_DIR, mbrola_database, speak_mbrola

DEFAULT_OUT = Path.home() / ".cache" / "mouthpiece-train"

# Languages: word list, espeak-ng voices, MBROLA voices (none of them reserved), weight.
LANGUAGES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], float]] = {
    "en": ("american-english", ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-029"),
           ("de3-en", "de4-en", "de5-en", "af1-en", "gr2-en", "hu1-en", "ro1-en", "sw1-en"), 0.26),
    "de": ("ngerman", ("de",), ("de3", "de4", "de5", "de7"), 0.13),
    "fr": ("french", ("fr", "fr-be", "fr-ch"), ("fr3", "fr5", "fr6", "fr7", "ca1", "ca2"), 0.13),
    "es": ("spanish", ("es", "es-419"), ("mx1", "mx2", "es4", "vz1"), 0.12),
    "it": ("italian", ("it",), ("it1", "it2"), 0.08),
    "nl": ("dutch", ("nl",), ("de3-nl", "de4-nl", "de5-nl"), 0.07),
    "pt": ("portuguese", ("pt",), ("pt1",), 0.05),
    "pt-br": ("brazilian", ("pt-br",), ("br2", "br4"), 0.06),
    "pl": ("polish", ("pl",), (), 0.05),
    "sv": ("swedish", ("sv",), ("sw1", "sw2"), 0.05),
}  # fmt: skip
# Italian's it1 and it2, Spanish es4 and vz1 speak through respellings and repairs, Dutch
# through German databases (training/mbrola.py); ca1 and ca2 are Canadian French. Not
# used: MBROLA voices whose databases lack diphones that espeak-ng's rules for them ask
# for in most sentences even so: es3, nl1 (a voice for numbers), de8 (Bavarian), sw2-en.
# MBROLA's diphones are cut from recorded speech, nearer to real voices than espeak-ng's
# formants: a language with MBROLA voices speaks through them this often.
MBROLA_SHARE = 0.55
# English said by flite's statistical voices this often (of the English not said by Festival).
FLITE_SHARE = 0.2
ESPEAK_VARIANTS = (
    "", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "klatt5", "klatt6", "croak", "adam", "andy", "annie",
    "benjamin", "boris", "david", "ed", "gene", "john", "linda", "max", "michael", "norbert",
    "paul", "pablo", "steph", "travis", "zac",
)  # fmt: skip
# Held out by voice: these espeak-ng variants in every language, and these MBROLA voices.
VALIDATION_VARIANTS = frozenset({"f4", "m6", "klatt3", "linda"})
VALIDATION_MBROLA = frozenset({"de7", "fr6", "br2", "ro1-en"})
# The voices above and below are an allowlist: nothing else is ever synthesized. None of
# them is a voice issue 14 reserves for evaluation or one of the dev corpora's voices
# (those are for checking the model, never for making it).
# Festival's English diphone voices from Debian main that issue 14 does not reserve, and
# their phone set (MRPA) in ARPAbet.
FESTIVAL_VOICES = ("rab_diphone", "don_diphone")
MRPA_TO_ARPABET: dict[str, tuple[str, ...]] = {
    "#": ("sil",), "p": ("P",), "b": ("B",), "m": ("M",), "f": ("F",), "v": ("V",), "t": ("T",), "d": ("D",),
    "k": ("K",), "g": ("G",), "s": ("S",), "z": ("Z",), "l": ("L",), "r": ("R",), "w": ("W",), "y": ("Y",),
    "n": ("N",), "h": ("HH",), "th": ("TH",), "dh": ("DH",), "ng": ("NG",), "ch": ("CH",), "jh": ("JH",),
    "sh": ("SH",), "zh": ("ZH",), "ii": ("IY",), "i": ("IH",), "e": ("EH",), "a": ("AE",), "aa": ("AA",),
    "o": ("AO",), "oo": ("AO",), "u": ("UH",), "uu": ("UW",), "uh": ("AH",), "@": ("AX",), "@@": ("ER",),
    "ai": ("AY",), "ei": ("EY",), "oi": ("OY",), "au": ("AW",), "ou": ("OW",), "i@": ("IH", "AX"),
    "e@": ("EH", "AX"), "u@": ("UH", "AX"),
}  # fmt: skip
FESTIVAL_BATCH = 40  # utterances per festival run (its start-up costs 0.3 s)


@dataclass
class Utterance:
    samples: np.ndarray  # float32 at 16 kHz
    spans: list[tuple[float, float, str]]  # ARPAbet phones, s
    voice: str
    lang: str


def load_words(name: str) -> list[str]:
    raw = Path("/usr/share/dict", name).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    words = [w.strip() for w in text.splitlines()]
    return sorted({w for w in words if w.isalpha() and 2 <= len(w) <= 12})


def sentence(words: list[str], rng: np.random.Generator) -> str:
    n = int(rng.integers(4, 13))
    picked = [words[i] for i in rng.integers(0, len(words), n)]
    out = []
    for i, w in enumerate(picked):
        out.append(w + ("," if i < n - 1 and rng.uniform() < 0.12 else ""))
    text = " ".join(out)
    return text[0].upper() + text[1:] + str(rng.choice([".", ".", ".", "?", "!"]))


def speak_espeak(text: str, voice: str, rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    audio, phones = tts(text, voice=voice, rate_wpm=int(rng.integers(120, 261)))
    return audio.samples, [(p.start, p.end, p.label) for p in phones.phones]


class FestivalQueue:
    """Festival utterances made in batches: one ``festival -b`` run speaks many texts."""

    def __init__(self, words: list[str], rng: np.random.Generator) -> None:
        self.words, self.rng = words, rng
        self.ready: list[tuple[np.ndarray, list[tuple[float, float, str]], str]] = []

    def next(self, unknown: Counter) -> tuple[np.ndarray, list[tuple[float, float, str]], str]:
        if not self.ready:
            self._batch(unknown)
        return self.ready.pop()

    def _batch(self, unknown: Counter) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            script, voices = [], []
            for i in range(FESTIVAL_BATCH):
                voice = str(self.rng.choice(FESTIVAL_VOICES))
                text = sentence(self.words, self.rng).replace('"', "")
                voices.append(voice)
                script += [
                    f"(voice_{voice})",
                    f"(Parameter.set 'Duration_Stretch {self.rng.uniform(0.8, 1.3):.3f})",
                    f'(set! utt (Utterance Text "{text}"))',
                    "(utt.synth utt)",
                    f'(utt.save.wave utt "{tmp}/{i}.wav" \'riff)',
                    f'(utt.save.segs utt "{tmp}/{i}.segs")',
                ]
            Path(tmp, "batch.scm").write_text("\n".join(script) + "\n", encoding="latin-1")
            subprocess.run(["festival", "-b", f"{tmp}/batch.scm"], capture_output=True, check=True, timeout=600)
            for i, voice in enumerate(voices):
                try:
                    rate, pcm = wavfile.read(f"{tmp}/{i}.wav")
                    lines = Path(tmp, f"{i}.segs").read_text(encoding="latin-1").split("\n#\n", 1)[-1]
                except (OSError, ValueError):
                    continue
                spans: list[tuple[float, float, str]] = []
                start = 0.0
                for line in lines.splitlines():
                    parts = line.split()
                    if len(parts) != 3:
                        continue
                    end, symbol = float(parts[0]), parts[2]
                    mapped = MRPA_TO_ARPABET.get(symbol)
                    if mapped is None:
                        unknown[f"{voice}:{symbol}"] += 1
                    add_phones(spans, start, end, mapped or ())
                    start = end
                samples = resample(pcm.astype(np.float32) / 32768.0, from_rate=rate, to_rate=RATE)
                if spans:
                    self.ready.append((samples, spans, voice))


def choose(rng: np.random.Generator, festival_share: float) -> tuple[str, str, str, str]:
    """(language, engine, voice name, split) of the next utterance."""
    langs = list(LANGUAGES)
    weights = np.array([LANGUAGES[k][3] for k in langs])
    lang = "en" if festival_share >= 1 else langs[rng.choice(len(langs), p=weights / weights.sum())]
    _, espeak_voices, mbrola_voices, _ = LANGUAGES[lang]
    if lang == "en" and rng.uniform() < festival_share:
        return lang, "festival", "", "train"
    if lang == "en" and rng.uniform() < FLITE_SHARE:
        return lang, "flite", str(rng.choice(FLITE_VOICES)), "train"
    if mbrola_voices and rng.uniform() < MBROLA_SHARE:
        voice = str(rng.choice(mbrola_voices))
        return lang, "mbrola", voice, "val" if voice in VALIDATION_MBROLA else "train"
    base = str(rng.choice(espeak_voices))
    variant = str(rng.choice(ESPEAK_VARIANTS))
    voice = f"{base}+{variant}" if variant else base
    return lang, "espeak", voice, "val" if variant in VALIDATION_VARIANTS else "train"


def degraded_frames(
    samples: np.ndarray, spans: list[tuple[float, float, str]], rng: np.random.Generator, pool: list[np.ndarray]
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, str]:
    """``samples`` through a random chain of :func:`augment.degrade` (``pool``: other speech for
    babble), as training frames: the new length in samples, its log mel frames, their viseme
    and articulation targets from ``spans`` (seconds, moved as the chain moved the speech),
    and the chain's description."""
    x, factor, offset, chain = augment.degrade(samples, rng, pool)
    shift = offset / RATE
    moved = [(a / factor + shift, b / factor + shift, p) for a, b, p in spans]
    mel = log_mel(x)
    vis, art = frame_targets(moved, len(mel))
    return len(x), mel, vis, art, chain


class ShardWriter:
    def __init__(self, folder: Path, size: int, prefix: str) -> None:
        self.folder, self.size, self.prefix = folder, size, prefix
        folder.mkdir(parents=True, exist_ok=True)
        self.count = len(list(folder.glob(f"{prefix}_*.npz")))
        self.rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, str, str, str, str]] = []

    def add(self, mel: np.ndarray, vis: np.ndarray, art: np.ndarray, uid: str, voice: str, lang: str, chain: str):
        self.rows.append((mel, vis, art, uid, voice, lang, chain))
        if len(self.rows) >= self.size:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        offsets = np.concatenate([[0], np.cumsum([len(r[0]) for r in self.rows])]).astype(np.int64)
        path = self.folder / f"{self.prefix}_{self.count:04d}.npz"
        tmp = path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            mel=np.concatenate([r[0] for r in self.rows]).astype(np.float16),
            viseme=np.concatenate([r[1] for r in self.rows]).astype(np.uint8),
            articulation=np.concatenate([r[2] for r in self.rows]).astype(np.float16),
            offsets=offsets,
            ids=np.array([r[3] for r in self.rows]),
            voices=np.array([r[4] for r in self.rows]),
            langs=np.array([r[5] for r in self.rows]),
            chains=np.array([r[6] for r in self.rows]),
        )
        os.replace(tmp, path)
        self.count += 1
        self.rows = []


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="data folder (outside git)")
    parser.add_argument("--minutes", type=float, default=30.0, help="wall-clock budget, minutes")
    parser.add_argument("--hours", type=float, default=100.0, help="stop after this much audio, hours")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--festival", type=float, default=0.0, help="share of English said by Festival (1: only)")
    parser.add_argument("--shard-size", type=int, default=400, help="utterances per shard")
    args = parser.parse_args(argv)

    missing = [
        v for lang in LANGUAGES.values() for v in map(mbrola_database, lang[2]) if not (MBROLA_DIR / v / v).exists()
    ]
    if missing:
        raise SystemExit(f"MBROLA voices missing: {' '.join(missing)} (apt-get install mbrola-XX, contrib/non-free).")
    if shutil.which("flite") is None:
        raise SystemExit("flite is missing: its English voices are part of the corpus (apt-get install flite).")
    rng = np.random.default_rng(args.seed)
    words = {lang: load_words(spec[0]) for lang, spec in LANGUAGES.items()}
    prefix = f"shard_s{args.seed}"
    writers = {split: ShardWriter(args.out / split, args.shard_size, prefix) for split in ("train", "val")}
    stats: dict[str, Counter] = {k: Counter() for k in ("seconds", "utterances", "voices", "chains", "unknown")}
    festival = FestivalQueue(words["en"], rng)
    pool: list[np.ndarray] = []  # recent clean utterances, for babble noise
    t0, k, failures = time.time(), 0, Counter()
    while time.time() - t0 < args.minutes * 60 and sum(stats["seconds"].values()) < args.hours * 3600:
        k += 1
        lang, engine, voice, split = choose(rng, args.festival)
        text = sentence(words[lang], rng)
        try:
            if engine == "festival":
                samples, spans, voice = festival.next(stats["unknown"])
            elif engine == "espeak":
                samples, spans = speak_espeak(text, voice, rng)
            elif engine == "flite":
                samples, spans = speak_flite(text, voice, rng, stats["unknown"])
            else:
                samples, spans = speak_mbrola(text, voice, lang, rng, stats["unknown"])
        except Exception as e:  # a voice that cannot say a text: skip it, count it
            failures[f"{engine}:{voice}:{type(e).__name__}"] += 1
            continue
        if len(samples) < RATE // 2 or not spans:
            continue
        pool = [*pool[-40:], samples]
        length, mel, vis, art, chain = degraded_frames(samples, spans, rng, pool[:-1])
        name = f"{engine}:{voice}"
        writers[split].add(mel, vis, art, f"u{args.seed}-{k:07d}", name, lang, chain)
        seconds = length / RATE
        stats["seconds"][f"{split}:{lang}"] += seconds
        stats["utterances"][f"{split}:{lang}"] += 1
        stats["voices"][f"{split}:{name}"] += 1
        for step in chain.split("+"):
            stats["chains"][step.rstrip("0123456789.")] += 1
        if k % 500 == 0:
            hours = sum(stats["seconds"].values()) / 3600
            print(f"{k} utterances, {hours:.2f} h of audio, {time.time() - t0:.0f} s", flush=True)
    for w in writers.values():
        w.flush()
    summary = {
        "seed": args.seed,
        "hours": {k: round(v / 3600, 3) for k, v in sorted(stats["seconds"].items())},
        "utterances": dict(sorted(stats["utterances"].items())),
        "voices": len(stats["voices"]),
        "voice_counts": dict(sorted(stats["voices"].items())),
        "chains": dict(stats["chains"]),
        "unknown_mbrola_symbols": dict(stats["unknown"]),
        "failures": dict(failures),
        "wall_seconds": round(time.time() - t0),
    }
    (args.out / f"summary_seed{args.seed}.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: summary[k] for k in ("hours", "voices", "chains", "unknown_mbrola_symbols", "failures")}))


if __name__ == "__main__":
    main()
