"""Train the front end on the corpus of ``training.make_corpus``; checkpoint it and export it.

Random crops of ``--frames`` frames (plus the lookahead's real future frames) from the
training utterances; the loss is cross-entropy on the visemes plus binary cross-entropy of
the articulation against its soft targets, masked over padding and over the first ``WARMUP_FRAMES`` of crops that
start mid-utterance (their causal past is cut). AdamW, linear warm-up then cosine decay over
``--steps`` or ``--max-minutes``, whichever runs out first (on a loaded machine the
schedule still completes), one CPU thread. Every ``--eval-every`` steps the held-out voices are scored; the best
checkpoint (model, optimizer, model config, training config, feature statistics) is kept
and finally exported to the numpy model file.

    python -m training.train --data ~/.cache/mouthpiece-train --steps 6000
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from mouthpiece.neural.model import load_model, past_end

from .data import feature_stats, load_split, normalizer, shard_paths
from .net import FrontEndNet, NetConfig

WARMUP_FRAMES = 24  # frames of a mid-utterance crop left out of the loss


def make_batch(split, rng: np.random.Generator, batch: int, frames: int, lookahead: int, weights: np.ndarray):
    n_in = split.features[0].shape[1]
    x = np.zeros((batch, frames + lookahead, n_in), np.float32)
    vis = np.zeros((batch, frames), np.int64)
    art = np.zeros((batch, frames, 3), np.float32)
    mask = np.zeros((batch, frames), np.float32)
    for b, u in enumerate(rng.choice(len(weights), batch, p=weights)):
        f, n = split.features[u], len(split.visemes[u])
        s = int(rng.integers(0, n - frames + 1)) if n > frames and rng.uniform() > 0.15 else 0
        e = min(n, s + frames)
        got = min(n, s + frames + lookahead) - s
        x[b, :got] = f[s : s + got]
        x[b, got:] = f[n - 1]  # past the utterance's end its last frame is held, as in inference (neural.model)
        vis[b, : e - s] = split.visemes[u][s:e]
        art[b, : e - s] = split.articulation[u][s:e]
        mask[b, : e - s] = 1.0
        if s > 0:
            mask[b, :WARMUP_FRAMES] = 0.0
        for _ in range(int(rng.integers(0, 3))):  # frequency masking, the same bands in both halves
            width, lo = int(rng.integers(1, 6)), int(rng.integers(0, n_in // 2 - 5))
            x[b, :, lo : lo + width] = 0.0
            x[b, :, n_in // 2 + lo : n_in // 2 + lo + width] = 0.0
    t = torch.from_numpy
    return t(x).transpose(1, 2), (t(vis), t(art).transpose(1, 2), t(mask))


def crop_weights(split, shares: dict[str, float | None]) -> np.ndarray:
    """Each training utterance's chance of giving a crop: by its length, the utterances whose
    chain starts with a prefix of ``shares`` (``"real:"``) together given that share of the
    crops, the rest the remainder."""
    lengths = np.array([len(v) for v in split.visemes], np.float64)
    weights = lengths.copy()
    rest = np.ones(len(lengths), bool)
    left = 1.0
    for prefix, share in shares.items():
        chosen = np.array([c.startswith(prefix) for c in split.chains])
        if share is None or not chosen.any():
            continue
        weights[chosen] = share * lengths[chosen] / lengths[chosen].sum()
        rest &= ~chosen
        left -= share
    if rest.all():
        return lengths / lengths.sum()
    if rest.any():
        weights[rest] = max(left, 0.0) * lengths[rest] / lengths[rest].sum()
    return weights / weights.sum()


@torch.no_grad()
def evaluate(model: FrontEndNet, split, max_utterances: int = 400) -> dict:
    model.eval()
    L = model.cfg.lookahead
    correct = total = 0
    pred_open, true_open = [], []
    for u in np.unique(np.linspace(0, len(split.visemes) - 1, max_utterances).astype(int)):  # spread over every shard
        f = split.features[u].astype(np.float32)
        f = np.concatenate([f, past_end(f, L)])
        (logits, art), _ = model(torch.from_numpy(f).T[None])
        p = logits[0].argmax(0).numpy()
        correct += int((p == split.visemes[u]).sum())
        total += len(p)
        pred_open.append(art[0, 0].numpy())
        true_open.append(split.articulation[u][:, 0].astype(np.float32))
    model.train()
    r = float(np.corrcoef(np.concatenate(pred_open), np.concatenate(true_open))[0, 1])
    return {"frame_accuracy": correct / max(total, 1), "openness_r": r}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path.home() / ".cache" / "mouthpiece-train")
    parser.add_argument("--ckpt", type=Path, default=None, help="checkpoint file (default DATA/ckpt.pt)")
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--frames", type=int, default=300, help="frames per crop")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--channels", type=int, default=96)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--max-minutes", type=float, default=1e9, help="wall-clock budget: the schedule ends by then")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--resume", type=Path, default=None, help="start from this checkpoint's model and optimizer")
    parser.add_argument(
        "--real-share",
        type=float,
        default=None,
        help="share of crops from real speech (chains 'real:', training.real_speech); default: by length like the rest",
    )
    parser.add_argument(
        "--piper-share",
        type=float,
        default=None,
        help="share of crops from Piper's English (chains 'piper:', training.piper_speech); default: by length",
    )
    parser.add_argument(
        "--init-model", type=Path, default=None, help="start from this numpy model file's weights (a fresh optimizer)"
    )
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    ckpt_path = args.ckpt or args.data / "ckpt.pt"
    # fine-tuning a shipped model keeps its layout and the feature statistics it was trained with
    init = load_model(args.init_model) if args.init_model else None
    cfg = NetConfig.from_json(init.meta["model"]) if init else NetConfig(channels=args.channels)
    train_paths, val_paths = shard_paths(args.data, "train"), shard_paths(args.data, "val")
    if init:
        mean, std = init.weights["feature_mean"].astype(np.float64), init.weights["feature_std"].astype(np.float64)
    else:
        mean, std = feature_stats(train_paths)
    norm = normalizer(mean, std, cfg.ema_seconds)
    t0 = time.time()
    train, val = load_split(train_paths, norm), load_split(val_paths, norm)
    print(
        f"loaded {len(train.visemes)} train / {len(val.visemes)} val utterances, "
        f"{train.frames / 360000:.2f} h / {val.frames / 360000:.2f} h, {time.time() - t0:.0f} s",
        flush=True,
    )
    weights = crop_weights(train, {"real:": args.real_share, "piper:": args.piper_share})

    model = FrontEndNet(cfg)
    if init:
        model.import_arrays(init.weights)
    params = sum(p.numel() for p in model.parameters())
    print(f"{params} parameters", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.98),
    )
    if args.resume:  # a fresh schedule from a checkpoint's weights and optimizer state (same model config)
        state = torch.load(args.resume, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        mean, std = state["feature_mean"], state["feature_std"]  # the features it was trained on
        if not np.allclose(mean, norm.weights["feature_mean"]) or not np.allclose(std, norm.weights["feature_std"]):
            print("note: the corpus statistics differ from the checkpoint's; keeping the checkpoint's", flush=True)
            norm = normalizer(mean, std, cfg.ema_seconds)
            train, val = load_split(train_paths, norm), load_split(val_paths, norm)
    warmup = max(1, args.steps // 30)

    budget = args.max_minutes * 60

    def progress(step: int) -> float:
        """Share of the run done: by steps, or by wall clock if that runs out first (a loaded machine)."""
        return max(step / args.steps, (time.time() - t0) / budget)

    def lr_at(step: int) -> float:
        if step < warmup:
            return args.lr * (step + 1) / warmup
        done = min(1.0, (progress(step) - warmup / args.steps) / (1 - warmup / args.steps))
        return args.lr * (0.03 + 0.97 * 0.5 * (1 + math.cos(math.pi * done)))

    best, history, t0 = -1.0, [], time.time()
    step = 0
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        x, targets = make_batch(train, rng, args.batch, args.frames, cfg.lookahead, weights)
        _, (loss, lv, la) = model(x, targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0:
            print(
                f"step {step} loss {loss.item():.3f} (ce {lv.item():.3f}, art {la.item():.3f}) "
                f"lr {lr_at(step):.2e} {time.time() - t0:.0f} s",
                flush=True,
            )
        last = step == args.steps - 1 or progress(step + 1) >= 1.0
        if (step + 1) % args.eval_every == 0 or last:
            metrics = evaluate(model, val)
            score = metrics["frame_accuracy"] + 0.5 * metrics["openness_r"]
            history.append({"step": step + 1, **metrics, "seconds": round(time.time() - t0)})
            print(f"eval {json.dumps(history[-1])}", flush=True)
            if score > best:
                best = score
                torch.save(
                    {
                        "model": model.state_dict(),
                        "optimizer": opt.state_dict(),
                        "model_config": cfg.to_json(),
                        "train_config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                        "feature_mean": mean,
                        "feature_std": std,
                        "step": step + 1,
                        "metrics": metrics,
                        "history": history,
                        "parameters": params,
                        "train_hours": train.frames / 360000,
                        "val_hours": val.frames / 360000,
                    },
                    ckpt_path,
                )
        if last:
            break
    print(f"done: {step + 1} steps, {time.time() - t0:.0f} s, best checkpoint {ckpt_path}", flush=True)


if __name__ == "__main__":
    main()
