"""Mouth cues in six languages (issue 14): ../shared/eval/dev_ml, per language, with and
without the transcript, through the CLI as a user runs it.

    python benchmarks/languages.py [--corpus ../shared/eval/dev_ml] [--recognizers phones,neural]

Each language's WAVs go through one ``mouthpiece animate ... --language CODE`` call (with
``--text-sidecar``, and once per recognizer without it); the TSVs are scored by the
corpus's own scorer. Prints open_r, bil_recall and bil_prec per language and pooled, and
the issue's targets: with the text >= 0.70 / 0.90 / 0.90 in every language, without it
>= 0.55 / 0.75 / 0.80.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = os.path.join(HERE, "..", "..", "shared", "eval", "dev_ml")
DEFAULT_SCORER = os.path.join(HERE, "..", "..", "shared", "eval", "score.py")
METRICS = ("open_r", "bil_recall", "bil_prec")
TARGETS = {"text": (0.70, 0.90, 0.90), "no text": (0.55, 0.75, 0.80)}


def animate(corpus: str, out: str, *, with_text: bool, recognizer: str | None) -> None:
    by_language: dict[str, list[str]] = defaultdict(list)
    with open(os.path.join(corpus, "manifest.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_language[row["language"]].append(os.path.join(corpus, f"{row['utt']}.wav"))
    for language, wavs in sorted(by_language.items()):
        command = [sys.executable, "-m", "mouthpiece.cli", "animate", *wavs, "-o", out, "-q", "--language", language]
        command += ["--text-sidecar"] if with_text else ["--recognizer", recognizer or "phones"]
        subprocess.run(command, check=True)


def score(corpus: str, out: str, scorer: str = DEFAULT_SCORER) -> dict[str, dict[str, float]]:
    """Per voice and pooled: the metrics."""
    report = subprocess.run([sys.executable, scorer, "--gt-dir", corpus, "--pred-dir", out], check=True,
                            capture_output=True, text=True).stdout  # fmt: skip
    pooled = next(line for line in report.splitlines() if "pooled:" in line)
    results = {"pooled": {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", pooled)}}
    for line in report.splitlines():
        found = re.match(r"#\s+(\w+)\s+n=\s*\d+\s+([0-9. ]+)$", line)
        if found:  # macro acc / acc_tol40 / open_r / bil_recall / bil_prec / sil_acc
            values = [float(v) for v in found.group(2).split()]
            results[found.group(1)] = dict(zip(("acc", "acc_tol40", "open_r", "bil_recall", "bil_prec"), values))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--corpus",
        default=DEFAULT_CORPUS,
        help="dev_ml, or a corpus in its format such as `python -m training.heldout` makes",
    )
    parser.add_argument("--scorer", default=DEFAULT_SCORER)
    parser.add_argument("--recognizers", default="phones,neural", help="comma list for the runs without text")
    args = parser.parse_args()
    if not os.path.isdir(args.corpus):
        sys.exit(f"Corpus folder '{args.corpus}' does not exist (see ../shared/eval/README_ml.md).")
    runs = [("text", None)] + [("no text", r) for r in args.recognizers.split(",") if r]
    print(f"corpus: {os.path.abspath(args.corpus)} (voices: one per language; per voice figures are macro)")
    for mode, recognizer in runs:
        with tempfile.TemporaryDirectory(prefix="languages-") as out:
            animate(args.corpus, out, with_text=mode == "text", recognizer=recognizer)
            results = score(args.corpus, out, args.scorer)
        title = f"{mode}" + (f" ({recognizer})" if recognizer else "")
        targets = " / ".join(map(str, TARGETS[mode]))
        print(f"\n{title:24}" + "".join(f"{m:>11}" for m in METRICS) + f"   targets {targets}")
        for voice, values in sorted(results.items(), key=lambda kv: (kv[0] == "pooled", kv[0])):
            met = all(values[m] >= t for m, t in zip(METRICS, TARGETS[mode]))
            verdict = "   met" if met else "   NOT met"
            print(f"  {voice:22}" + "".join(f"{values[m]:11.3f}" for m in METRICS) + verdict)


if __name__ == "__main__":
    main()
