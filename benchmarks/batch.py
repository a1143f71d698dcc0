"""Batch figures of `mouthpiece animate FOLDER -o OUT --jobs N` (issue 16), whole processes.

    python benchmarks/batch.py                 # 500 lines (~12 min on two cores)
    python benchmarks/batch.py --lines 100     # quicker

- **throughput**: ``--lines`` short voice lines (espeak-ng, several voices and rates, our
  own sentences, 1-3 s each) animated by ``--jobs 1`` and by ``--jobs 2``: lines per
  second of each, and their ratio (target >= 1.8 on this two-core machine); the two
  output trees compared byte for byte.
- **memory**: the resident memory of each worker process every second during the
  ``--jobs 2`` run: first and last fifth of the run (target: flat).
- **resume**: a ``--jobs 2`` run killed (SIGKILL, nothing cleaned) half-way, then run again
  with ``--skip-existing``: the outputs equal the uninterrupted run's, and no partial or
  hidden temporary file is left.
- **ray**: the same lines with ``--ray`` on a one-node Ray cluster started here (``ray start
  --head``, two CPUs; ``mouthpiece.cluster.local_cluster``): its time against ``--jobs 2``
  (target: within 15 %) and its outputs against ``--jobs 2``'s, byte for byte. Skipped
  without Ray (``mouthpiece[cluster]``) or with ``--no-ray``.

Timing is whole-process on a shared machine: compare the ratio, not the seconds.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from mouthpiece.audio import save
from mouthpiece.phonetics import tts

VOICES = ("en-us", "en-us+f3", "en-us+m3", "en-gb", "en-us+f4")
WORDS = ("map boat pal maybe blue window open tree river mountain happy paper bubble "
         "morning evening simple purple number moment window bright over under").split()  # fmt: skip


def make_lines(folder: Path, count: int) -> None:
    rng = np.random.default_rng(7)
    for i in range(count):
        words = " ".join(rng.choice(WORDS, size=int(rng.integers(3, 7))))
        speech, _ = tts(f"{words}.", voice=VOICES[i % len(VOICES)], rate_wpm=int(rng.integers(140, 190)))
        save(speech, folder / f"line{i:04d}.wav")


def animate(lines: Path, out: Path, jobs: int, *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "mouthpiece.cli", "animate", str(lines), "-o", str(out), "--jobs", str(jobs), "-q"]
    return subprocess.Popen([*command, *extra], stdin=subprocess.DEVNULL)


def on_ray(lines: Path, out: Path, two_s: float, two: Path) -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        print("ray: skipped (pip install 'mouthpiece[cluster]')")
        return
    from mouthpiece.cluster import local_cluster

    with local_cluster(2) as address:
        start = time.perf_counter()
        animate(lines, out, 1, "--ray", address).wait()
        ray_s = time.perf_counter() - start
    print(f"ray: one-node cluster of 2 CPUs {ray_s:.0f} s vs --jobs 2 {two_s:.0f} s: {ray_s / two_s - 1:+.0%} "
          f"(target within 15 %); outputs identical to --jobs 2: {same_tree(out, two)}")  # fmt: skip


def children_rss(pid: int) -> dict[int, float]:
    """MB resident of each child process of ``pid``."""
    rss = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except OSError:
            continue
        for child in children:
            try:
                for line in Path(f"/proc/{child}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        rss[int(child)] = int(line.split()[1]) / 1024
            except OSError:
                pass
    return rss


def timed(lines: Path, out: Path, jobs: int) -> tuple[float, list[dict[int, float]]]:
    samples: list[dict[int, float]] = []
    start = time.perf_counter()
    process = animate(lines, out, jobs)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1.0):
            samples.append(children_rss(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    process.wait()
    stop.set()
    sampler.join()
    return time.perf_counter() - start, samples


def same_tree(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    return names == sorted(p.name for p in b.iterdir()) and all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--no-ray", action="store_true", help="leave out the Ray cluster run")
    parser.add_argument("--only-ray", action="store_true", help="only --jobs 2 and the Ray cluster run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as folder:
        root = Path(folder)
        lines = root / "lines"
        lines.mkdir()
        make_lines(lines, args.lines)
        seconds = sum(os.path.getsize(p) - 44 for p in lines.iterdir()) / 2 / 16_000
        print(f"{args.lines} lines, {seconds:.0f} s of speech")

        two_s, samples = timed(lines, root / "two", 2)
        if not args.no_ray:
            on_ray(lines, root / "ray", two_s, root / "two")
        if args.only_ray:
            return
        one_s, _ = timed(lines, root / "one", 1)
        print(f"throughput: --jobs 1 {args.lines / one_s:.2f} lines/s ({one_s:.0f} s), --jobs 2 "
              f"{args.lines / two_s:.2f} lines/s ({two_s:.0f} s): x{one_s / two_s:.2f} (target >= 1.8); "
              f"outputs identical: {same_tree(root / 'one', root / 'two')}")  # fmt: skip

        fifth = max(1, len(samples) // 5)
        early = [v for s in samples[:fifth] for v in s.values()]
        late = [v for s in samples[-fifth:] for v in s.values()]
        if early and late:
            print(f"memory per worker: first fifth {np.mean(early):.0f} MB (max {max(early):.0f}), last fifth "
                  f"{np.mean(late):.0f} MB (max {max(late):.0f})")  # fmt: skip

        killed = root / "killed"
        process = animate(lines, killed, 2)
        while (len(list(killed.glob("*.tsv"))) if killed.exists() else 0) < args.lines // 2:
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait()
        written = len(list(killed.glob("*.tsv")))
        hidden = len(list(killed.glob(".*")))
        subprocess.run(animate(lines, killed, 2, "--skip-existing").args, check=False, stdin=subprocess.DEVNULL)
        left = len(list(killed.glob(".*")))
        same = same_tree(killed, root / "two")
        print(f"resume: killed with {written} outputs and {hidden} hidden temporary files; after --skip-existing: "
              f"identical to the uninterrupted run: {same}, hidden files left: {left}")  # fmt: skip


if __name__ == "__main__":
    main()
