"""Fuzz the decoders for a while (issue 16): the properties of ``tests/test_fuzz.py``, run for
minutes instead of seconds, and past failures.

    python benchmarks/fuzz.py --minutes 10                    # shared among the six decoders
    python benchmarks/fuzz.py --minutes 3 --only audio,video  # some decoders
    python benchmarks/fuzz.py --minutes 10 --seed 7           # another stream of examples

Each decoder gets an equal share of the time, in rounds of :data:`ROUND` examples (each round
a new Hypothesis seed, generation only: no shrinking). Every decode runs in the tests' worker
process, with their time limit, so a crash or a hang is one failed example. Per decoder it
prints the examples run, how many decoded and how many were refused with an InputError, the
failures (exceptions other than InputError, malformed results, messages that do not name the
file, crashes, hangs) grouped by kind, and the slowest example.

The first inputs of each distinct failure are saved under ``bench-out/fuzz/<decoder>/``, each
with a ``.txt`` saying what happened; ``bench-out/fuzz/summary.json`` holds the table.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_fuzz import CASES, KINDS, Case, Result, Worker, run_case, save_failure  # noqa: E402

OUT = ROOT / "bench-out" / "fuzz"
ROUND = 200  # examples per Hypothesis run
SAVED_PER_FAILURE = 3  # inputs kept of each distinct failure


@dataclass
class Tally:
    kind: str
    examples: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)  # signature -> count
    times: list[float] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")

    def add(self, case: Case, result: Result) -> None:
        self.examples += 1
        self.outcomes[result.outcome] = self.outcomes.get(result.outcome, 0) + 1
        self.times.append(result.seconds)
        if result.seconds > self.slowest[0]:
            self.slowest = (result.seconds, case.how)
        if result.failure is None:
            return
        signature = _signature(result.failure)
        count = self.failures.get(signature, 0) + 1
        self.failures[signature] = count
        if count <= SAVED_PER_FAILURE:
            folder = OUT / self.kind
            stem = f"{list(self.failures).index(signature) + 1:02d}-{count}"
            saved = save_failure(case, folder, stem)
            (folder / f"{stem}.txt").write_text(f"{case.how}\n{saved.name}\n\n{result.failure}\n")


def _signature(failure: str) -> str:
    """What identifies a failure across inputs: its kind and its last line (the exception)."""
    lines = [line.strip() for line in failure.strip().splitlines() if line.strip()]
    head = lines[0].split(":")[0]
    if head in ("crash", "hang"):
        return lines[0]
    last = lines[-1] if len(lines) > 1 else lines[0]
    return re.sub(r"0x[0-9a-f]+|\d+", "N", f"{head}: {last[:160]}")


def fuzz(kind: str, seconds: float, worker: Worker, folder: Path, first_seed: int) -> Tally:
    tally = Tally(kind)
    deadline = time.monotonic() + seconds
    round_ = 0
    while time.monotonic() < deadline:

        @settings(
            max_examples=ROUND,
            database=None,
            deadline=None,
            derandomize=False,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @seed(first_seed + round_)
        @given(case=CASES[kind])
        def examples(case: Case) -> None:
            if time.monotonic() < deadline:
                tally.add(case, run_case(worker, case, folder))

        examples()
        round_ += 1
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="in all, shared among the decoders")
    parser.add_argument("--only", default=",".join(KINDS), help=f"decoders, comma-separated: {', '.join(KINDS)}")
    parser.add_argument("--seed", type=int, default=None, help="first Hypothesis seed (default: from the clock)")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown decoders: {', '.join(sorted(unknown))}")
    first_seed = int(time.time()) if args.seed is None else args.seed
    print(f"fuzzing {', '.join(kinds)} for {args.minutes:g} min in all (seed {first_seed})", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    worker = Worker()
    tallies = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for kind in kinds:
                tally = fuzz(kind, 60 * args.minutes / len(kinds), worker, Path(folder), first_seed)
                tallies.append(tally)
                _print(tally)
    finally:
        worker.close()
    summary = [
        {
            "decoder": t.kind,
            "examples": t.examples,
            "outcomes": t.outcomes,
            "failures": t.failures,
            "slowest_s": round(t.slowest[0], 3),
            "slowest_case": t.slowest[1],
            "median_decode_ms": round(1000 * statistics.median(t.times), 2) if t.times else None,
        }
        for t in tallies
    ]
    (OUT / "summary.json").write_text(
        json.dumps({"seed": first_seed, "minutes": args.minutes, "decoders": summary}, indent=2)
    )
    print(
        f"\n{'decoder':<11} {'examples':>8} {'ok':>6} {'refused':>8} {'failed':>7} {'distinct':>8} "
        f"{'median ms':>9} {'slowest s':>9}"
    )
    for t in tallies:
        failed = sum(t.failures.values())
        median = 1000 * statistics.median(t.times) if t.times else 0.0
        print(
            f"{t.kind:<11} {t.examples:>8} {t.outcomes.get('ok', 0):>6} {t.outcomes.get('input_error', 0):>8} "
            f"{failed:>7} {len(t.failures):>8} {median:>9.1f} {t.slowest[0]:>9.2f}"
        )
    print(f"failing inputs: {OUT}/<decoder>/" if any(t.failures for t in tallies) else "no failures")
    sys.exit(1 if any(t.failures for t in tallies) else 0)


def _print(tally: Tally) -> None:
    failed = sum(tally.failures.values())
    print(
        f"\n{tally.kind}: {tally.examples} examples, {tally.outcomes}, {failed} failed; slowest "
        f"{tally.slowest[0]:.2f} s ({tally.slowest[1]})",
        flush=True,
    )
    for signature, count in sorted(tally.failures.items(), key=lambda item: -item[1]):
        print(f"  {count:>5} x {signature}")


if __name__ == "__main__":
    main()
