"""`eval cues` against the corpus's own scorer, on the dev corpus of ../shared/eval.

    python benchmarks/eval_cues.py

Makes Rhubarb TSV predictions for every dev utterance with ``mouthpiece animate
--recognizer phones`` (one process for the batch), scores them with both
``../shared/eval/score.py`` and ``mouthpiece eval cues``, and prints the pooled metrics
side by side with their absolute differences. Target: open_r, the closure metrics
(bil_recall, bil_prec) and the silence metrics (sil_acc, speech_X) agree to 0.01; acc
and acc_tol40 differ a little more where our oracle (``motion.to_cues``) and the
scorer's port of Rhubarb's rules round half-centisecond phone boundaries differently.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
DEV = EVAL / "dev"
SCORER = EVAL / "score.py"
METRICS = ("open_r", "bil_recall", "bil_prec", "sil_acc", "speech_X", "acc", "acc_tol40")
AGREE = {"open_r", "bil_recall", "bil_prec", "sil_acc", "speech_X"}  # these should agree to TARGET
TARGET = 0.01


def run(command: list[str]) -> tuple[str, float]:
    """Run a command, failing loudly; its stdout and the seconds it took."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command[:4])} ... failed ({done.returncode}):\n{done.stderr}")
    return done.stdout, time.perf_counter() - start


def scorer_numbers(stdout: str) -> tuple[dict[str, float], dict[str, float]]:
    """score.py's pooled metrics and oracle ceilings, from its summary lines."""

    def numbers(tag: str) -> dict[str, float]:
        line = next(line for line in stdout.splitlines() if tag in line)
        return {k: float(v) for k, v in re.findall(r"(\w+)=(-?[\d.]+|nan)", line)}

    return numbers("pooled:"), numbers("oracle ceilings:")


def main() -> None:
    wavs = sorted(DEV.glob("*.wav"))
    with tempfile.TemporaryDirectory() as temp:
        predictions = Path(temp) / "pred"
        _, animate_s = run([sys.executable, "-m", "mouthpiece.cli", "animate", *map(str, wavs), "-o", str(predictions),
                            "--recognizer", "phones", "-q"])  # fmt: skip
        theirs_out, theirs_s = run([sys.executable, str(SCORER), "--gt-dir", str(DEV), "--pred-dir", str(predictions),
                                    "--csv", str(Path(temp) / "per_utt.csv")])  # fmt: skip
        report = Path(temp) / "cues.json"
        _, ours_s = run([sys.executable, "-m", "mouthpiece.cli", "eval", "cues", str(DEV), str(predictions),
                         "--json", str(report)])  # fmt: skip
        ours_doc = json.loads(report.read_text())
    theirs, theirs_ceiling = scorer_numbers(theirs_out)
    ours = {k: (float("nan") if v is None else v) for k, v in ours_doc["pooled"].items()}
    scored = len(ours_doc["utterances"])
    print(f"{len(wavs)} dev utterances animated with --recognizer phones in {animate_s:.1f} s")
    print(f"scored by score.py in {theirs_s:.1f} s and by eval cues in {ours_s:.1f} s ({scored} utterances)")
    print(f"\npooled       {'score.py':>9} {'eval cues':>10} {'|diff|':>8}")
    failures = 0
    for metric in METRICS:
        diff = abs(theirs[metric] - ours[metric])
        verdict = "" if metric not in AGREE else ("  ok" if diff <= TARGET else f"  > {TARGET}")
        failures += verdict.startswith("  >")
        print(f"{metric:<12} {theirs[metric]:>9.4f} {ours[metric]:>10.4f} {diff:>8.4f}{verdict}")
    print("\noracle ceilings (the reference track scored as a prediction):")
    for name, ceiling in (("score.py", theirs_ceiling), ("eval cues", ours_doc["ceiling"])):
        print(f"  {name:<10} bil_prec {ceiling['bil_prec']:.4f}  sil_acc {ceiling['sil_acc']:.4f}")
    print(f"\n{'all agree' if not failures else f'{failures} metrics disagree'} within {TARGET} where they should")


if __name__ == "__main__":
    main()
