"""Training and validation shards of whole spoken lines, each written as heard and degraded.

The corpora of lines with a text (``training.real_speech``: actors' voices;
``training.piper_speech``: a neural voice) share this: every kept line goes into its
split's shards twice, once as it is and once through a random ``augment.degrade`` chain
(other lines lent as babble), its chain prefixed with the corpus' ``source`` so that
training can weigh the corpus apart (``train.py --real-share``, ``--piper-share``); and a
summary of hours and lines per split and language is written beside the shards.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

from mouthpiece.audio.features import log_mel
from mouthpiece.neural.model import FRAME_CENTRE_S, FRAME_RATE

from .labels import frame_targets
from .make_corpus import RATE, ShardWriter, degraded_frames

SHARD_SIZE = 400  # utterances a shard
BABBLE_POOL = 40  # recent lines kept to mix as babble


class LineShards:
    """Shards ``{out}/{train,val}/shard_{name}_NNNN.npz`` (old ones of that name removed)."""

    def __init__(self, out: Path, name: str, source: str, rng: np.random.Generator) -> None:
        self.out, self.name, self.source, self.rng = out, name, source, rng
        prefix = f"shard_{name}"
        for split in ("train", "val"):
            for old in (out / split).glob(f"{prefix}_*.npz"):
                old.unlink()
        self.writers = {split: ShardWriter(out / split, SHARD_SIZE, prefix) for split in ("train", "val")}
        self.seconds: Counter = Counter()
        self.lines: Counter = Counter()
        self.pool: list[np.ndarray] = []
        self.started = time.time()

    def add(self, split: str, samples: np.ndarray, spans: list[tuple[float, float, str]], uid: str, voice: str,
            language: str, mel: np.ndarray | None = None) -> None:  # fmt: skip
        """One line (16 kHz ``samples``, its phones' ``spans`` in s) as heard and degraded."""
        mel = log_mel(samples) if mel is None else mel
        vis, art = frame_targets(spans, len(mel))
        self.writers[split].add(mel, vis, art, uid, voice, language, f"{self.source}:clean")
        self.pool = [*self.pool[-BABBLE_POOL:], samples]
        _, mel, vis, art, chain = degraded_frames(samples, spans, self.rng, self.pool[:-1])
        self.writers[split].add(mel, vis, art, f"{uid}-d", voice, language, f"{self.source}:{chain}")
        self.seconds[f"{split}:{language}"] += len(samples) / RATE
        self.lines[f"{split}:{language}"] += 1
        if sum(self.lines.values()) % 200 == 0:
            print(f"{sum(self.lines.values())} lines, {time.time() - self.started:.0f} s", flush=True)

    def close(self, **extra: object) -> dict:
        """Flush the shards; write and print the summary (``extra`` added to it)."""
        for writer in self.writers.values():
            writer.flush()
        summary = {
            "hours": {k: round(v / 3600, 3) for k, v in sorted(self.seconds.items())},
            "lines": dict(self.lines),
            **extra,
            "frame": {"centre_s": FRAME_CENTRE_S, "rate": FRAME_RATE},
            "wall_seconds": round(time.time() - self.started),
        }
        (self.out / f"summary_{self.name}.json").write_text(json.dumps(summary, indent=1))
        print(json.dumps(summary))
        return summary
