"""Score the exported numpy model on the held-out voices, and time it.

Per language and per engine of the ``val/`` shards (voices never trained on): frame
accuracy of the per-frame argmax and of the decoded track, Pearson r of openness, and the
bilabial-closure hit rate: the share of reference PP runs whose start has a decoded PP
phone starting within 40 ms (and the share of decoded PP starts near a reference one).
Then the real-time factor of :func:`mouthpiece.neural.run` (log-mel + network) on the
current CPU (pin it: ``taskset -c 0``).

    taskset -c 0 python -m training.evaluate --json figures.json
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from mouthpiece.neural.decode import decode_phones, viterbi
from mouthpiece.neural.model import DEFAULT_MODEL, FRAME_CENTRE_S, FRAME_RATE, FrontEndOutput, load_model, run
from mouthpiece.vocabulary import VISEMES

from .data import load_split, normalizer, shard_paths

PP = VISEMES.index("PP")
TOLERANCE_S = 0.04  # s


def run_starts(labels: np.ndarray, value: int) -> np.ndarray:
    """Times (s) where runs of ``value`` start in per-frame ``labels``."""
    on = labels == value
    starts = np.flatnonzero(on & ~np.concatenate([[False], on[:-1]]))
    return FRAME_CENTRE_S + (starts - 0.5) / FRAME_RATE


def closure_hits(ref: np.ndarray, found: np.ndarray) -> tuple[int, int]:
    """How many of ``ref`` have one of ``found`` within the tolerance; and of ``found`` near a ``ref``."""
    if len(ref) == 0 or len(found) == 0:
        return 0, 0
    d = np.abs(ref[:, None] - found[None, :])
    return int((d.min(1) <= TOLERANCE_S).sum()), int((d.min(0) <= TOLERANCE_S).sum())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path.home() / ".cache" / "mouthpiece-train")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--max-utterances", type=int, default=3000)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    model = load_model(args.model)
    cfg = model.config
    norm = normalizer(model.weights["feature_mean"], model.weights["feature_std"], cfg.ema_seconds)
    val = load_split(shard_paths(args.data, "val"), norm, max_utterances=args.max_utterances)
    # frames, argmax right, decoded right, reference closures, hits, decoded closures
    acc: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    opens: dict[str, list[list[np.ndarray]]] = defaultdict(lambda: [[], []])
    found_ok: dict[str, int] = defaultdict(int)
    for u in range(len(val.visemes)):
        if val.chains[u].startswith("real:"):  # aligned, not exact: these figures are against exact phones
            continue
        post, art = model.forward(val.features[u].astype(np.float32))
        truth = val.visemes[u]
        n = len(truth)
        duration = (n - 1) / FRAME_RATE + 2 * FRAME_CENTRE_S
        track = decode_phones(FrontEndOutput(post, art), duration=duration)
        decoded = viterbi(post)  # the frames behind the decoded track
        ref = run_starts(truth, PP)
        found = np.array([p.start for p in track.phones if p.label == "P"])
        hit, ok = closure_hits(ref, found)
        engine = val.voices[u].split(":")[0]
        clean = "clean" if val.chains[u] == "clean" else "degraded"
        for key in ("all", f"lang:{val.langs[u]}", f"engine:{engine}", f"audio:{clean}"):
            a = acc[key]
            a[0] += n
            a[1] += int((post.argmax(1) == truth).sum())
            a[2] += int((decoded == truth).sum())
            a[3] += len(ref)
            a[4] += hit
            a[5] += len(found)
            found_ok[key] += ok
            opens[key][0].append(art[:, 0])
            opens[key][1].append(val.articulation[u][:, 0].astype(np.float32))
    figures: dict[str, dict] = {}
    for key in sorted(acc):
        a = acc[key]
        r = float(np.corrcoef(np.concatenate(opens[key][0]), np.concatenate(opens[key][1]))[0, 1])
        figures[key] = {
            "hours": round(a[0] / FRAME_RATE / 3600, 3),
            "frame_accuracy": round(a[1] / a[0], 4),
            "decoded_accuracy": round(a[2] / a[0], 4),
            "openness_r": round(r, 4),
            "pp_hit_rate_40ms": round(a[4] / max(a[3], 1), 4),
            "pp_precision_40ms": round(found_ok[key] / max(a[5], 1), 4),
            "pp_runs": a[3],
        }
        print(key, json.dumps(figures[key]))
    # speed: one minute of noisy speech-like audio, whole-array pass
    x = (0.1 * np.random.default_rng(0).standard_normal(60 * 16_000)).astype(np.float32)
    run(x[:16_000], model=model)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        run(x, model=model)
        times.append(time.perf_counter() - t)
    figures["speed"] = {
        "real_time_factor": round(min(times) / 60, 5),
        "model_bytes": args.model.stat().st_size,
        "parameters": sum(v.size for k, v in model.weights.items() if not k.startswith("feature")),
    }
    print("speed", json.dumps(figures["speed"]))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
