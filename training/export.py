"""Export a training checkpoint to the numpy model file the package ships.

The file (``src/mouthpiece/neural/front_end.npz``) holds float32 weights in the numpy
layout and ``config``, a JSON string: layout version, model config, feature settings,
training data summary, training config and held-out figures. The export is checked: the
numpy forward pass must match PyTorch's within 1e-4 on a held-out utterance.

    python -m training.export --ckpt ~/.cache/mouthpiece-train/ckpt.pt
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch

from mouthpiece.audio import features
from mouthpiece.neural.model import DEFAULT_MODEL, MODEL_VERSION, load_model, past_end

from .data import load_split, normalizer, shard_paths
from .net import FrontEndNet, NetConfig


def corpus_summary(data: Path) -> dict:
    hours: dict[str, float] = {}
    voices: set[str] = set()
    chains: dict[str, int] = {}
    for path in sorted(data.glob("summary_seed*.json")):
        s = json.loads(path.read_text())
        for k, v in s["hours"].items():
            hours[k] = round(hours.get(k, 0.0) + v, 3)
        voices |= set(s["voice_counts"])
        for k, v in s["chains"].items():
            chains[k] = chains.get(k, 0) + v
    engines = sorted({v.split(":", 1)[1].split(":")[0] for v in voices})
    return {
        "hours": hours,
        "total_hours": round(sum(hours.values()), 2),
        "voices": len(voices),
        "engines": engines,
        "validation_voices": sorted({v.split(":", 1)[1] for v in voices if v.startswith("val:")}),
        "augmentation_counts": chains,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path.home() / ".cache" / "mouthpiece-train")
    parser.add_argument("--ckpt", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    ckpt = torch.load(args.ckpt or args.data / "ckpt.pt", map_location="cpu", weights_only=False)
    cfg = NetConfig.from_json(ckpt["model_config"])
    net = FrontEndNet(cfg)
    net.load_state_dict(ckpt["model"])
    net.eval()
    arrays = net.export_arrays()
    arrays["feature_mean"] = np.asarray(ckpt["feature_mean"], np.float32)
    arrays["feature_std"] = np.asarray(ckpt["feature_std"], np.float32)
    meta = {
        "version": MODEL_VERSION,
        "name": "mouthpiece front end (log-mel to visemes and articulation)",
        "model": cfg.to_json(),
        "features": {
            "sample_rate": features.MEL_RATE,
            "n_mels": features.MEL_BANDS,
            "window": features.MEL_WINDOW,
            "hop": features.MEL_HOP,
            "n_fft": features.MEL_FFT,
            "fmin": features.MEL_LOW,
            "fmax": features.MEL_HIGH,
            "log": "natural log of mel power + 1e-8",
        },
        "parameters": int(ckpt["parameters"]),
        "training": {
            "data": corpus_summary(args.data),
            "config": ckpt["train_config"],
            "step": ckpt["step"],
            "validation": ckpt["metrics"],
        },
    }
    tmp = args.out.with_name(args.out.stem + ".tmp.npz")
    np.savez(tmp, config=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, args.out)

    # the numpy forward pass must equal torch's
    model = load_model(args.out)
    val = load_split(
        shard_paths(args.data, "val")[:1],
        normalizer(arrays["feature_mean"], arrays["feature_std"], cfg.ema_seconds),
        max_utterances=3,
    )
    worst = 0.0
    for f in val.features:
        f = f.astype(np.float32)
        post, art = model.forward(f)
        x = np.concatenate([f, past_end(f, cfg.lookahead)])
        with torch.no_grad():
            (logits, art_t), _ = net(torch.from_numpy(x).T[None])
        post_t = torch.softmax(logits[0], 0).T.numpy()
        worst = max(worst, float(np.abs(post - post_t).max()), float(np.abs(art - art_t[0].T.numpy()).max()))
    print(f"exported {args.out} ({args.out.stat().st_size / 1e6:.2f} MB), numpy vs torch max difference {worst:.2e}")
    if worst > 1e-4:
        raise SystemExit("numpy and torch outputs differ by more than 1e-4")


if __name__ == "__main__":
    main()
