"""Fit the jaw's opening filter (:mod:`mouthpiece.motion.opening`) on real talking-face footage.

For each clip of ``../shared/fixtures`` (22 clips, 17 speakers; see
``benchmarks/real_footage.py``) the speech is recognized with the default recognizer and
animated without the filter; features are taken exactly as the product takes them, and
the target is the inner-lip gap seen in each video frame, standardized per clip (a
speaker's own range is theirs; the filter predicts where in it the mouth is). A ridge
regression fits the weights. The figure is leave-one-speaker-out: for every speaker, the
filter fitted on the others scores that speaker's clips (Pearson r at lag 0, mean over
clips), printed beside the unfiltered curves' score. The shipped model is then fitted on
all of them and written, with those figures in its card, to ``motion/opening.npz``.

    python -m training.fit_opening            # ~2 min; phones cached in ~/.cache/mouthpiece-train/opening
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mouthpiece import api
from mouthpiece import audio as audio_stage
from mouthpiece.audio.features import log_mel
from mouthpiece.motion import opening
from mouthpiece.neural.closure_check import CHECK_FILE
from mouthpiece.neural.model import default_model
from mouthpiece.types import Animation, Audio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from real_footage import FIXTURES as FIXTURES  # noqa: E402  (retrain checks the footage is here)
from real_footage import Clip, list_clips, load_clip_audio, observe_mouth  # noqa: E402

CACHE = Path.home() / ".cache" / "mouthpiece-train" / "opening"
CHANNELS = ("JawOpen", "MouthClose", "MouthFunnel", "MouthPucker", "MouthLowerDownLeft", "MouthStretchLeft",
            "MouthPressLeft", "MouthRollLower")  # fmt: skip
TAPS = np.arange(-20, 7, 2)  # feature frames (10 ms): -200 ms .. +60 ms every 20 ms
# On standardized features summed over some 5000 video frames. Without the front end's hidden
# layer (672 features): 1000: 0.397, 3000: 0.405, 10000: 0.407 LOSO; with it (2016): 3000: 0.424,
# 10000: 0.434, 30000: 0.434.
RIDGE = 10000.0
HIDDEN = default_model().config.channels  # the learned front end's last hidden layer, listened to as well
EMA_SECONDS = 10.0
RECOGNIZERS = ("words", "phones")


@dataclass
class Example:
    clip: Clip
    frames: np.ndarray  # [T, F] features at 100 per second, before taps
    rows: np.ndarray  # [N] feature frame of each seen video frame
    target: np.ndarray  # [N] standardized opening
    seen: np.ndarray  # [N] raw opening, for scoring
    jaw: np.ndarray  # [T] the unfiltered JawOpen at the feature frames
    closing: np.ndarray  # [T] how much the phones hold the jaw (opening.resting) at the feature frames


def phonetic_animation(clip: Clip, audio: Audio, recognizer: str) -> Animation:
    """The clip's animation without the filter (its phones cached: recognition is the slow part)."""
    path = CACHE / f"{clip.name}.{recognizer}.{_recognition_key()}.pkl"
    if path.exists():
        phones = pickle.loads(path.read_bytes())
    else:
        phones = api.to_phones(audio, recognizer=recognizer)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(phones))
    loudness = audio_stage.loudness(audio, fps=opening.FEATURE_RATE)  # without the heard frames: no filter
    return api.to_animation(phones, fps=opening.FEATURE_RATE, loudness_db=loudness)


@functools.cache
def _recognition_key() -> str:
    """12 hex digits that change with what recognition depends on besides the clip: the
    learned front end (the neural recognizer is it; the word recognizer's closures are
    checked against it) and the closure check. Phones cached under another key are stale."""
    digest = hashlib.sha256(default_model().fingerprint.encode())
    digest.update(CHECK_FILE.read_bytes())
    return digest.hexdigest()[:12]


def examples(recognizer: str, prior: np.ndarray) -> list[Example]:
    out = []
    shell = _shell(prior)
    for clip in list_clips():
        audio = load_clip_audio(clip)
        mouth = observe_mouth(clip.path)
        animation = phonetic_animation(clip, audio, recognizer)
        frames = opening.features(animation, opening.heard(audio.samples, shell), shell)
        times = np.asarray(mouth.times) + 0.5 / mouth.fps
        rows = np.clip(np.round((times - opening.CENTRE) * opening.FEATURE_RATE).astype(int), 0, len(frames) - 1)
        ok = np.isfinite(mouth.opening)
        seen = mouth.opening[ok]
        jaw = opening.curve_features(animation, ("JawOpen",), len(frames))[:, 0]
        closing = _closing(animation, len(frames))
        out.append(Example(clip, frames, rows[ok], (seen - seen.mean()) / seen.std(), seen, jaw, closing))
    return out


def _shell(prior: np.ndarray, **fitted: object) -> opening.OpeningModel:
    k = len(TAPS) * (len(CHANNELS) + len(prior) + HIDDEN)
    base = dict(channels=CHANNELS, taps=TAPS, weights=np.zeros(k), mean=np.zeros(k), std=np.ones(k),
                mel_prior=prior, ema_seconds=EMA_SECONDS, jaw_mean=0.0, jaw_spread=1.0, hidden=HIDDEN,
                front_end=default_model().fingerprint)  # fmt: skip
    return opening.OpeningModel(**{**base, **fitted})  # type: ignore[arg-type]


def mel_prior() -> np.ndarray:
    """The mean log mel spectrum of the footage's speech: where each running mean starts."""
    spectra = [log_mel(load_clip_audio(clip).samples) for clip in list_clips()]
    loud = [s[s.mean(1) > s.mean(1).max() - np.log(1e3)] for s in spectra]
    return np.concatenate(loud).mean(0).astype(np.float32)


def fit(train: list[Example], prior: np.ndarray, ridge: float = RIDGE) -> opening.OpeningModel:
    x = np.concatenate([opening.tapped(e.frames, TAPS)[e.rows] for e in train])
    y = np.concatenate([e.target for e in train])
    mean, std = x.mean(0), x.std(0) + 1e-6
    xs = (x - mean) / std
    weights = np.linalg.solve(xs.T @ xs + ridge * np.eye(xs.shape[1]), xs.T @ (y - y.mean()))
    jaw = np.concatenate([e.jaw for e in train])
    return _shell(prior, weights=weights.astype(np.float32), mean=mean.astype(np.float32),
                  std=std.astype(np.float32), jaw_mean=float(jaw.mean()), jaw_spread=float(jaw.std()))  # fmt: skip


def score(model: opening.OpeningModel, example: Example) -> float:
    """r of the JawOpen the product makes (closures held) with the opening seen, at lag 0."""
    z = opening.predict(example.frames, model)
    jaw = opening.jaw_from(z, example.jaw, example.closing, model)[example.rows]
    return float(np.corrcoef(jaw, example.seen)[0, 1])


def _closing(animation: Animation, frames: int) -> np.ndarray:
    weights = animation.viseme_weights
    assert weights is not None
    at = np.clip(np.round((np.arange(frames) / opening.FEATURE_RATE + opening.CENTRE) * animation.fps - 0.5), 0,
                 len(weights) - 1).astype(int)  # fmt: skip
    return opening.resting(weights, len(weights))[at]


def leave_one_speaker_out(data: list[Example], prior: np.ndarray) -> tuple[list[float], list[float]]:
    """Per clip: the filter fitted without its speaker, and the unfiltered JawOpen, r at lag 0."""
    fitted, plain = [], []
    for example in data:
        train = [e for e in data if e.clip.speaker != example.clip.speaker]
        fitted.append(score(fit(train, prior), example))
        plain.append(float(np.corrcoef(example.jaw[example.rows], example.seen)[0, 1]))
    return fitted, plain


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=opening.MODEL_FILE)
    args = parser.parse_args(argv)
    prior = mel_prior()
    figures: dict[str, object] = {"clips": len(list_clips()), "speakers": len({c.speaker for c in list_clips()})}
    for recognizer in RECOGNIZERS:
        data = examples(recognizer, prior)
        fitted, plain = leave_one_speaker_out(data, prior)
        loso, unfiltered = float(np.nanmean(fitted)), float(np.nanmean(plain))
        figures[recognizer] = {"loso_r0": round(loso, 3), "unfiltered_r0": round(unfiltered, 3)}
        print(f"{recognizer:8} leave-one-speaker-out mean r0 {loso:.3f} (unfiltered JawOpen {unfiltered:.3f})")
        for example, a, b in zip(data, fitted, plain):
            print(f"    {example.clip.name:36} {a:6.3f} {b:6.3f}")
        if recognizer == RECOGNIZERS[0]:
            shipped = fit(data, prior)
    lead = _lead_ms(shipped)
    figures["lead_ms"] = lead
    card = json.dumps({"fitted_on": "../shared/fixtures video + realdev (22 clips, 17 speakers), default recognizer",
                       "ridge": RIDGE, "taps_ms": [int(t) * 10 for t in TAPS], "front_end_hidden": HIDDEN,
                       **figures})  # fmt: skip
    final = _shell(prior, weights=shipped.weights, mean=shipped.mean, std=shipped.std, jaw_mean=shipped.jaw_mean,
                   jaw_spread=shipped.jaw_spread, card=card)  # fmt: skip
    final.save(args.out)
    print(f"the filter's weight peaks {lead:+.0f} ms from the frame (negative: the sound comes after the mouth)")
    print(f"wrote {args.out}")


def _lead_ms(model: opening.OpeningModel) -> float:
    """Where the filter listens for the jaw's own curve, on average: the weight-weighted tap of JawOpen."""
    per_tap = model.weights.reshape(len(TAPS), -1)[:, 0] / model.std.reshape(len(TAPS), -1)[:, 0]
    weights = np.abs(per_tap)
    return float((weights * TAPS).sum() / weights.sum() * 10.0)


if __name__ == "__main__":
    main()
