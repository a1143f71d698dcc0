"""Corpus shards in memory: per-utterance normalised features and targets.

Normalisation is the shipped model's own (:meth:`mouthpiece.neural.model.FrontEnd.normalize`),
run from each utterance's start, so training sees exactly what a stream would.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mouthpiece.neural.model import FrontEnd, FrontEndConfig


@dataclass
class Split:
    features: list[np.ndarray]  # [T, 2 * n_mels] float16 each
    visemes: list[np.ndarray]  # [T] uint8
    articulation: list[np.ndarray]  # [T, 3] float16
    voices: list[str]
    langs: list[str]
    chains: list[str]

    @property
    def frames(self) -> int:
        return sum(len(v) for v in self.visemes)


def shard_paths(data: Path, split: str) -> list[Path]:
    return sorted(p for p in (data / split).glob("shard_*.npz") if ".tmp" not in p.name)


def feature_stats(paths: list[Path], max_frames: int = 3_000_000) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and standard deviation of the log-mel frames of ``paths``."""
    total, sq, n = 0.0, 0.0, 0
    for path in paths:
        with np.load(path) as z:
            mel = z["mel"].astype(np.float64)
        total = total + mel.sum(0)
        sq = sq + (mel**2).sum(0)
        n += len(mel)
        if n >= max_frames:
            break
    mean = total / n
    std = np.sqrt(np.maximum(sq / n - mean**2, 1e-6))
    return mean.astype(np.float32), std.astype(np.float32)


def normalizer(mean: np.ndarray, std: np.ndarray, ema_seconds: float) -> FrontEnd:
    """A FrontEnd holding only what :meth:`FrontEnd.normalize` needs."""
    return FrontEnd(FrontEndConfig(ema_seconds=ema_seconds), {"feature_mean": mean, "feature_std": std}, {})


def load_split(paths: list[Path], norm: FrontEnd, max_utterances: int | None = None) -> Split:
    out = Split([], [], [], [], [], [])
    for path in paths:
        with np.load(path) as z:
            mel, vis, art, off = z["mel"], z["viseme"], z["articulation"], z["offsets"]
            voices, langs, chains = z["voices"].tolist(), z["langs"].tolist(), z["chains"].tolist()
        for u in range(len(off) - 1):
            a, b = off[u], off[u + 1]
            feats, _ = norm.normalize(mel[a:b].astype(np.float32))
            out.features.append(feats.astype(np.float16))
            out.visemes.append(vis[a:b])
            out.articulation.append(art[a:b])
            out.voices.append(voices[u])
            out.langs.append(langs[u])
            out.chains.append(chains[u])
            if max_utterances and len(out.visemes) >= max_utterances:
                return out
    return out
