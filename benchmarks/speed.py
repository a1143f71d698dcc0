"""Whole-process speed and memory of ``mouthpiece animate`` on one core.

Times the CLI as a user runs it, start-up included, pinned to one core with
``taskset``, on about 60 s of speech with a known transcript: real-time factor = wall
time / audio duration, for each recognizer without the transcript and for alignment
with it. The speech is espeak-ng's (a paragraph said over and over), and, with
``--corpus DIR``, also utterances of a speech corpus joined (their .txt transcripts
joined too). ``--hour`` also animates a 1-hour file (the corpus speech repeated, else
the espeak-ng speech) with the default recognizer and reports its peak resident memory.

    python benchmarks/speed.py [--corpus ../shared/eval/dev] [--hour] [--repeat 3]
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from mouthpiece import api
from mouthpiece.audio import load, save
from mouthpiece.phonetics import RECOGNIZERS
from mouthpiece.types import Audio

PARAGRAPH = (
    "The quick brown fox jumps over the lazy dog. Peter Piper picked a peck of pickled peppers. "
    "She sells sea shells by the sea shore, and the shells she sells are surely sea shells. "
    "A big black bug bit a big black bear, and the big black bear bled blood. "
    "How much wood would a woodchuck chuck if a woodchuck could chuck wood? "
    "We will meet at the old mill by the river before the summer evening fades away. "
)


def make_speech(seconds: float) -> tuple[Audio, str]:
    """At least ``seconds`` of speech, whole sentences only, and its transcript."""
    once, _ = api.say(PARAGRAPH)
    text = PARAGRAPH * int(np.ceil(seconds / once.duration))
    speech, _ = api.say(text)
    return speech, text


# Runs the CLI and prints its own peak resident memory (VmHWM, which belongs to the process
# image after exec: the rusage of children would also count the benchmark's own pages).
CLI_REPORTING_PEAK = """
import atexit, sys
from mouthpiece.cli import main
def peak():
    status = open("/proc/self/status").read()
    sys.stderr.write(next(line for line in status.splitlines() if line.startswith("VmHWM")) + "\\n")
atexit.register(peak)
sys.exit(main(sys.argv[1:]))
"""


def corpus_speech(folder: str, seconds: float) -> tuple[Audio, str]:
    """Utterances of a corpus joined until ``seconds``, and their transcripts joined."""
    pieces, texts, total = [], [], 0.0
    for wav in sorted(glob.glob(os.path.join(folder, "*.wav"))):
        audio = load(wav)
        pieces.append(audio.samples)
        texts.append(open(wav[:-4] + ".txt", encoding="utf-8").read().strip())
        total += audio.duration
        if total >= seconds:
            break
    return Audio(np.concatenate(pieces)), " ".join(texts)


def run_cli(arguments: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one CLI run pinned to one core."""
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    command = [*pin, sys.executable, "-c", CLI_REPORTING_PEAK, *arguments]
    start = time.perf_counter()
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    peak_kb = next(int(line.split()[1]) for line in result.stderr.splitlines() if line.startswith("VmHWM"))
    return elapsed, peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the timed speech")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the fastest counts")
    parser.add_argument("--corpus", help="also time utterances of this corpus (wav + txt pairs)")
    parser.add_argument("--hour", action="store_true", help="also animate a 1-hour file and report memory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sources = [("espeak-ng", *make_speech(args.seconds))]
        if args.corpus:
            sources.append((os.path.basename(os.path.normpath(args.corpus)), *corpus_speech(args.corpus, args.seconds)))
        print("one core (taskset -c 0), whole process, start-up included; best of", args.repeat)
        for name, audio, text in sources:
            wav, transcript = os.path.join(tmp, f"{name}.wav"), os.path.join(tmp, f"{name}.txt")
            save(audio, wav)
            with open(transcript, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"{name} speech, {audio.duration:.1f} s:")
            cases = [(f"recognizer {r}", ["--recognizer", r]) for r in RECOGNIZERS]
            for label, extra in [*cases, ("with transcript", ["--text-file", transcript])]:
                out = os.path.join(tmp, "out.tsv")
                best = min(run_cli(["animate", wav, "-o", out, *extra, "-q"])[0] for _ in range(args.repeat))
                print(f"  {label:<20} wall {best:6.2f} s   real-time factor {best / audio.duration:.4f}")
        speech = sources[-1][1]  # the corpus speech when given: the most natural
        if args.hour:
            hour = Audio(np.tile(speech.samples, int(np.ceil(3600 / speech.duration))))
            long_wav = os.path.join(tmp, "hour.wav")
            save(hour, long_wav)
            hour_seconds = hour.duration
            del hour
            elapsed, peak_mb = run_cli(["animate", long_wav, "-o", os.path.join(tmp, "hour.tsv"), "-q"])
            rtf = elapsed / hour_seconds
            label = f"{hour_seconds / 60:.0f}-minute file"
            print(f"  {label:<14} wall {elapsed:6.1f} s   real-time factor {rtf:.4f}   peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
