"""Visual dubbing figures: the rest of the frame kept, sync in the pixels, realism, speed, memory.

    python benchmarks/dub.py                    # all figures but memory (which takes ~10 min)
    python benchmarks/dub.py --only preserve    # or sync, realism, speed, memory

- **preserve**: each real video of ../shared/fixtures/video dubbed with its own audio
  (``--fit cut``); PSNR of the output against the source outside the mouth-and-jaw
  region (``mouthpiece eval preserve``'s). Target >= 40 dB.
- **sync**: each video dubbed with another speaker's speech as ``mouthpiece dub`` does by
  default (in the video's own style, whose fit also measures how the person opens over the
  whole video); the mouth opening found again in every decoded output frame against the new
  Animation's JawOpen, Pearson r at lag 0. Target >= 0.8.
- **realism**: the videos dubbed with their own audio; r between the mouth opening in our
  output and in the original footage (the truth for that audio). Reported per video.
- **speed**: the whole `mouthpiece dub` process (its default own-style fit included) on
  fixtures scaled up and widened to 720p and 1080p, each with its own speech in its own
  language: the 20 s German anchor (``--language de``: the learned front end hears it)
  and a 17 s English newsreader (pocketsphinx's word recognizer hears it, the slower
  path): frames per second of wall time. Targets >= 25 (720p) and >= 12 (1080p) on two cores.
- **memory**: `mouthpiece dub` on a 10-minute 720p video (the 720p clip looped), with its
  own speech: peak resident memory of the process. Target <= 1.5 GB.

Inputs built from the fixtures go to a temporary folder; nothing here ships.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from real_footage import list_clips, spoken_in

from mouthpiece import api
from mouthpiece.face.landmarks import mouth_opening
from mouthpiece.face.track import track_face
from mouthpiece.motion import opening
from mouthpiece.render.reader import probe_video, read_frames
from mouthpiece.render.video import VideoWriter
from mouthpiece.types import Audio

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
VIDEOS = sorted((FIXTURES / "video").glob("*.mp4"))
OTHER_SPEECH = (
    "aud01_real3dportrait_obama_16k.wav",
    "aud03_sadtalker_hdtf_rdradio31_16k.wav",
    "aud09_pcavs_vox_681600002_16k.wav",
)
# One face each, long enough to time: a 20 s German anchor and a 17 s English newsreader
WIDE_CLIPS = ("vid07_mimictalk_german_anchor", "rd01_dfrf_cnn1")
WIDE_SOURCE = FIXTURES / "video" / f"{WIDE_CLIPS[0]}.mp4"


def openings(path: Path) -> np.ndarray:
    """Mouth opening per decoded frame (NaN where no face)."""
    return np.array([np.nan if f is None else mouth_opening(f) for f in track_face(read_frames(path))])


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    keep = ~(np.isnan(a) | np.isnan(b))
    return float(np.corrcoef(a[keep], b[keep])[0, 1])


def own_audio_dubs(out: Path) -> list[tuple[Path, Path]]:
    pairs = []
    for video in VIDEOS:
        target = out / f"own-{video.stem}.mp4"
        if not target.exists():
            api.dub_video(video, api.load_audio(video), target, fit="cut")
        pairs.append((video, target))
    return pairs


def preserve(out: Path) -> None:
    print("preserve: PSNR outside the mouth and jaw, output vs source (own audio)")
    worst = np.inf
    for video, dubbed in own_audio_dubs(out):
        result = api.evaluate_preserve(video, dubbed)
        worst = min(worst, result.psnr_mean)
        print(f"  {video.stem[:36]:<36} PSNR {result.psnr_mean:5.1f} dB (worst frame {np.min(result.psnr):5.1f}),"
              f" SSIM {result.ssim_mean:.4f}")  # fmt: skip
    print(f"  lowest video PSNR {worst:.1f} dB (target >= 40)")


def sync(out: Path) -> None:
    print("sync in the pixels: r(new JawOpen, mouth opening re-detected in the output) at lag 0")
    rows = []
    for k, video in enumerate(VIDEOS):
        speech_name = OTHER_SPEECH[k % len(OTHER_SPEECH)]
        speech = api.load_audio(FIXTURES / "audio" / speech_name)
        target = out / f"other-{video.stem}.mp4"
        style, _ = api.dub_style(video)  # as `mouthpiece dub` does by default: the video's own style
        with opening.using(style) if style is not None else contextlib.nullcontext():
            animation, _ = api.dub_video(video, speech, target)
        seen = openings(target)
        r = pearson(seen, animation.channel("JawOpen"))
        rows.append(r)
        print(f"  {video.stem[:36]:<36} + {Path(speech_name).stem[:30]:<30} r = {r:.3f} ({len(seen)} frames)")
    print(f"  mean r {np.mean(rows):.3f}, min {np.min(rows):.3f} (target >= 0.8)")


def realism(out: Path) -> None:
    print("realism: r(mouth opening in our dub with the original audio, in the original footage)")
    rows = []
    for video, dubbed in own_audio_dubs(out):
        r = pearson(openings(dubbed), openings(video))
        rows.append(r)
        print(f"  {video.stem[:36]:<36} r = {r:.3f}")
    print(f"  mean r {np.mean(rows):.3f}")


def widened(out: Path, height: int, loops: int = 1, source: Path = WIDE_SOURCE) -> Path:
    """``source`` (a square video) scaled to ``height`` and widened to 16:9 with its edges
    stretched, ``loops`` times over."""
    target = out / f"wide-{source.stem[:4]}-{height}-{loops}.mp4"
    if target.exists():
        return target
    width = height * 16 // 9
    speech = api.load_audio(source)
    speech = Audio(np.tile(speech.samples, loops), speech.sample_rate)
    info = probe_video(source)
    with VideoWriter(target, width=width, height=height, fps=info.fps, audio=speech) as writer:
        frames = [cv2.resize(f, (height, height), interpolation=cv2.INTER_CUBIC) for f in read_frames(source)]
        side = (width - height) // 2
        for _ in range(loops):
            for frame in frames:
                writer.write(cv2.copyMakeBorder(frame, 0, 0, side, width - height - side, cv2.BORDER_REFLECT))
    return target


def run_dub(video: Path, target: Path, *extra: str) -> tuple[float, float]:
    """(wall seconds, peak RSS in GB) of a `mouthpiece dub` process dubbing ``video`` with its own audio."""
    command = [sys.executable, "-m", "mouthpiece.cli", "dub", str(video), str(video), "-o", str(target), "-q", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 2**20


def speed(out: Path) -> None:
    print("speed: whole `mouthpiece dub` process, the video's own speech in its language")
    for clip in (c for c in list_clips() if c.name in WIDE_CLIPS):
        source, language = clip.path, spoken_in(clip)
        for height, target in ((720, 25), (1080, 12)):
            video = widened(out, height, source=source)
            frames = probe_video(video).frame_count
            wall, _ = run_dub(video, out / f"dubbed-{height}.mp4", "--language", language)
            print(
                f"  {source.stem[:20]:<20} {language:<5} {height}p, {frames} frames: {wall:.1f} s wall, "
                f"{frames / wall:.1f} frames/s (target >= {target})"
            )


def memory(out: Path) -> None:
    print("memory: 10-minute 720p video")
    video = widened(out, 720, loops=30)
    frames = probe_video(video).frame_count
    wall, peak = run_dub(video, out / "dubbed-long.mp4", "--recognizer", "phones")
    print(f"  {frames} frames in {wall:.0f} s ({frames / wall:.1f} frames/s); peak RSS {peak:.2f} GB (target <= 1.5)")


def main() -> None:
    figures = {"preserve": preserve, "sync": sync, "realism": realism, "speed": speed, "memory": memory}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=figures, action="append", help="run only these figures")
    parser.add_argument("--keep", help="a folder to keep the videos in (and reuse them from)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        out = Path(args.keep) if args.keep else Path(temp)
        out.mkdir(parents=True, exist_ok=True)
        for name in args.only or [n for n in figures if n != "memory"]:
            figures[name](out)


if __name__ == "__main__":
    main()
