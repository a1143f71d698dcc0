"""Mouth-cue accuracy on a corpus with true phone timings, against Rhubarb Lip Sync 1.14.

Runs ``mouthpiece animate`` (batch mode, one process) over every WAV of the corpus,
without and with the transcripts (``--text-sidecar``), then scores the TSV output with
the corpus's scorer and prints the pooled metrics beside Rhubarb's published figures,
and which of the six are above and below Rhubarb's. (sil_acc: our cue rules fed the true
phones score 0.852, the scorer's ceiling for a perfect prediction; Rhubarb's 0.859 lies
above it.)

    python benchmarks/accuracy.py [--corpus ../shared/eval/dev] [--recognizer words-small]
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import subprocess
import sys
import time

from mouthpiece.phonetics import DEFAULT_RECOGNIZER

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = os.path.join(HERE, "..", "..", "shared", "eval", "dev")
METRICS = ("acc", "acc_tol40", "open_r", "bil_recall", "bil_prec", "sil_acc")
# Rhubarb Lip Sync 1.14.0 on ../shared/eval/dev, pooled (from ../shared/eval/README.md)
RHUBARB = {
    "no transcript": dict(zip(METRICS, (0.742, 0.864, 0.706, 0.853, 0.932, 0.859))),
    "transcript": dict(zip(METRICS, (0.804, 0.927, 0.757, 0.985, 0.994, 0.861))),
}


def run(corpus: str, out: str, with_text: bool, recognizer: str) -> tuple[dict[str, float], float]:
    os.makedirs(out, exist_ok=True)
    wavs = sorted(glob.glob(os.path.join(corpus, "*.wav")))
    command = [sys.executable, "-m", "mouthpiece.cli", "animate", *wavs, "-o", out, "-q"]
    command += ["--text-sidecar"] if with_text else ["--recognizer", recognizer]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    elapsed = time.perf_counter() - start
    scorer = os.path.join(corpus, "..", "score.py")
    report = subprocess.run(
        [sys.executable, scorer, "--gt-dir", corpus, "--pred-dir", out], check=True, capture_output=True, text=True
    ).stdout
    pooled = next(line for line in report.splitlines() if "pooled:" in line)
    values = {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", pooled)}
    return values, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--out", default="bench-out/accuracy")
    parser.add_argument("--recognizer", default=DEFAULT_RECOGNIZER, help="recognizer for the no-transcript run")
    args = parser.parse_args()
    if not os.path.isdir(args.corpus):
        sys.exit(f"Corpus folder '{args.corpus}' does not exist (see ../shared/eval/README.md).")
    print(f"corpus: {os.path.abspath(args.corpus)}")
    print(f"{'':36}" + "".join(f"{m:>11}" for m in METRICS) + f"{'wall s':>9}")
    for mode, with_text in (("no transcript", False), ("transcript", True)):
        ours, elapsed = run(args.corpus, os.path.join(args.out, mode.replace(" ", "-")), with_text, args.recognizer)
        label = f"mouthpiece, {mode}" + ("" if with_text else f" ({args.recognizer})")
        print(f"{label:36}" + "".join(f"{ours[m]:11.3f}" for m in METRICS) + f"{elapsed:9.1f}")
        print(f"{'Rhubarb 1.14, ' + mode:36}" + "".join(f"{RHUBARB[mode][m]:11.3f}" for m in METRICS))
        beats = [m for m in METRICS if ours[m] > RHUBARB[mode][m]]
        below = [m for m in METRICS if ours[m] < RHUBARB[mode][m]]
        print(f"{'':36}higher than Rhubarb on: {', '.join(beats) or 'none'}; below on: {', '.join(below) or 'none'}")


if __name__ == "__main__":
    main()
