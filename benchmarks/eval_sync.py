"""`eval sync` figures on real talking-face videos, and on the videos we make.

    python benchmarks/eval_sync.py                      # every figure (~15 min)
    python benchmarks/eval_sync.py --only real,ours     # or untouched, shifted, mismatched, speed

- untouched: the offset reported for each video of ../shared/fixtures/video with its own
  audio (target 0 +- 1 frame);
- real: the same over all 22 real clips (../shared/fixtures video and realdev): the
  median should be 0, the reference being natural timing;
- ours: our renders (each fixture audio on the bundled portrait, 256 px, 25 fps) and our
  dubs (each fixture video dubbed with the next fixture audio): each should read 0 +- 1,
  as real footage does (the real-mouths issue);
- shifted: each video re-muxed with its audio moved by -6, -3, +3, +6 frames (PyAV,
  video packets copied): the offset should equal the shift +- 1 frame in >= 90 % of the
  24 cases;
- mismatched: each video judged against the next video's audio: confidence should be
  lower than with its own audio in every case;
- speed: frames analysed per second at 512x512 on one core (target >= 100), whole call.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from mouthpiece import api
from mouthpiece.audio import save
from mouthpiece.render.reader import probe_video
from mouthpiece.types import Audio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_footage import LANGUAGE_CODES, list_clips  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "video"
AUDIO = FIXTURES.parent / "audio"
FIGURES = ("untouched", "shifted", "mismatched", "speed", "real", "ours")
SHIFTS = (-6, -3, 3, 6)  # frames; positive delays the audio


def remux_shifted(video: Path, out: Path, frames: int) -> None:
    """``video`` with its audio moved by ``frames`` video frames (silence fills in), video copied."""
    fps = probe_video(video).fps
    speech = api.load_audio(video)
    samples = round(frames * speech.sample_rate / fps)
    if samples >= 0:
        moved = np.concatenate([np.zeros(samples, np.float32), speech.samples[: len(speech.samples) - samples]])
    else:
        moved = np.concatenate([speech.samples[-samples:], np.zeros(-samples, np.float32)])
    with av.open(str(video)) as source, av.open(str(out), "w") as target:
        picture = target.add_stream_from_template(source.streams.video[0])
        sound = target.add_stream("aac", rate=speech.sample_rate, layout="mono")
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is None:
                continue
            packet.stream = picture
            target.mux(packet)
        frame = av.AudioFrame.from_ndarray(moved[None, :], format="flt", layout="mono")
        frame.sample_rate = speech.sample_rate
        frame.pts, frame.time_base = 0, Fraction(1, speech.sample_rate)  # so the AAC priming is trimmed on reading
        for packet in [*sound.encode(frame), *sound.encode(None)]:
            target.mux(packet)


def untouched(videos: list[Path]) -> dict[Path, float]:
    own: dict[Path, float] = {}
    print("untouched (own audio): offset in frames, confidence")
    for video in videos:
        result, _, _ = api.evaluate_sync(video)
        own[video] = result.confidence
        print(f"  {video.name[:36]:<36} {result.offset:+3d}  {result.confidence:.3f}")
    return own


def shifted(videos: list[Path], folder: str) -> None:
    hits = 0
    print("shifted audio: reported offset for shifts " + " ".join(f"{s:+d}" for s in SHIFTS))
    for video in videos:
        found = []
        for shift in SHIFTS:
            out = Path(folder) / f"{video.stem}{shift:+d}.mp4"
            remux_shifted(video, out, shift)
            offset = api.evaluate_sync(out)[0].offset
            hits += abs(offset - shift) <= 1
            found.append(offset)
        print(f"  {video.name[:36]:<36} " + " ".join(f"{f:+3d}" for f in found))
    print(f"  within +-1 frame of the shift: {hits} of {len(videos) * len(SHIFTS)} (target >= 90 %)")


def mismatched(videos: list[Path], folder: str, own: dict[Path, float]) -> None:
    lower = 0
    print("mismatched audio (the next video's): confidence, own vs other")
    for video, other in zip(videos, videos[1:] + videos[:1]):
        speech = api.load_audio(other)
        length = int(probe_video(video).duration * speech.sample_rate)
        samples = np.resize(speech.samples, length)  # loop or cut to the video's length
        path = Path(folder) / f"{video.stem}-other.wav"
        save(Audio(samples.astype(np.float32), speech.sample_rate), path)
        confidence = api.evaluate_sync(video, audio=path)[0].confidence
        lower += confidence < own[video]
        print(f"  {video.name[:36]:<36} {own[video]:.3f} vs {confidence:.3f}")
    print(f"  lower with the wrong audio: {lower} of {len(videos)} (target: all)")


def speed(folder: str) -> None:
    """A 512x512 talking-portrait video, one core."""
    speech, animation = api.say("Speed test: the quick brown fox jumps over the lazy dog, again and again.", fps=25)
    portrait = api.load_portrait(Path(api.__file__).parent / "data" / "astronaut.png")
    clip = Path(folder) / "speed.mp4"
    api.render_video(portrait, animation, clip, audio=speech)
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})
    start = time.perf_counter()
    api.evaluate_sync(clip)
    wall = time.perf_counter() - start
    os.sched_setaffinity(0, cores)
    print(f"speed: {animation.frame_count} frames of 512x512 in {wall:.2f} s on one core: "
          f"{animation.frame_count / wall:.0f} frames/s (target >= 100)")  # fmt: skip


def _offsets(label: str, videos: list[Path]) -> list[int]:
    offsets = []
    for video in videos:
        result = api.evaluate_sync(video)[0]
        offsets.append(result.offset)
        print(f"  {video.name[:44]:<44} {result.offset:+3d}  {result.confidence:.3f}", flush=True)
    within = np.mean(np.abs(offsets) <= 1)
    print(f"  {label}: median {np.median(offsets):+.1f}, mean {np.mean(offsets):+.2f}, within 0 +- 1: "
          f"{within:.0%} ({len(offsets)} videos)")  # fmt: skip
    return offsets


def real() -> None:
    print("real footage, own audio (natural timing: median 0)")
    _offsets("real footage", [c.path for c in list_clips()])


def fixture_language(path: Path) -> str:
    """The ``--language`` a user would give for a fixture: its manifest's language column
    (English when unknown), as our renders and dubs should be made the way a user makes them."""
    return _manifest_languages().get(path.name, "en-us")


@functools.cache
def _manifest_languages() -> dict[str, str]:
    """File name -> ``--language`` of every fixture the manifest names a known language for."""
    import csv

    with open(FIXTURES.parent / "MANIFEST.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    languages = {}
    for row in rows:
        words = (row.get("language") or "").split()
        if words and words[0].strip(",") in LANGUAGE_CODES:
            languages[Path(row["file"]).name] = LANGUAGE_CODES[words[0].strip(",")]
    return languages


def ours(folder: str) -> None:
    print("our videos: renders of the fixture audio, dubs of the fixture videos with other speech (target 0 +- 1),")
    print("each speech in its language (the fixtures' manifest)")
    portrait = api.load_portrait(api.SAMPLE_PORTRAIT, size=(256, 256))
    made = []
    speeches = sorted(AUDIO.glob("*_16k.wav"))
    for wav in speeches:
        out = Path(folder) / f"render-{wav.stem}.mp4"
        api.render_speech(portrait, api.load_audio(wav), out, fps=25, language=fixture_language(wav))
        made.append(out)
    videos = sorted(FIXTURES.glob("*.mp4"))
    for video, wav in zip(videos, speeches[1:] + speeches):
        out = Path(folder) / f"dub-{video.stem}-{wav.stem[:5]}.mp4"
        api.dub_video(video, api.load_audio(wav), out, fit="cut", language=fixture_language(wav))
        made.append(out)
    _offsets("ours", made)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help=f"comma list of {', '.join(FIGURES)} (default: all)")
    args = parser.parse_args()
    chosen = [f.strip() for f in args.only.split(",")] if args.only else list(FIGURES)
    if unknown := [f for f in chosen if f not in FIGURES]:
        parser.error(f"unknown figures {unknown}; choose from {', '.join(FIGURES)}")
    videos = sorted(FIXTURES.glob("*.mp4"))
    with tempfile.TemporaryDirectory() as folder:
        own = untouched(videos) if {"untouched", "mismatched"} & set(chosen) else {}
        if "shifted" in chosen:
            shifted(videos, folder)
        if "mismatched" in chosen:
            mismatched(videos, folder, own)
        if "speed" in chosen:
            speed(folder)
        if "real" in chosen:
            real()
        if "ours" in chosen:
            ours(folder)


if __name__ == "__main__":
    main()
