"""`eval sync` figures on the real talking-face videos of ../shared/fixtures/video.

    python benchmarks/eval_sync.py

- untouched: the offset reported for each video with its own audio (target 0 +- 1 frame);
- shifted: each video re-muxed with its audio moved by -6, -3, +3, +6 frames (PyAV,
  video packets copied): the offset should equal the shift +- 1 frame in >= 90 % of the
  24 cases;
- mismatched: each video judged against the next video's audio: confidence should be
  lower than with its own audio in every case;
- speed: frames analysed per second at 512x512 on one core (target >= 100), whole call.
"""

from __future__ import annotations

import os
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

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "video"
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


def main() -> None:
    videos = sorted(FIXTURES.glob("*.mp4"))
    own: dict[Path, float] = {}
    print("untouched (own audio): offset in frames, confidence")
    for video in videos:
        result, _, _ = api.evaluate_sync(video)
        own[video] = result.confidence
        print(f"  {video.name[:36]:<36} {result.offset:+3d}  {result.confidence:.3f}")
    hits = 0
    print("shifted audio: reported offset for shifts " + " ".join(f"{s:+d}" for s in SHIFTS))
    with tempfile.TemporaryDirectory() as folder:
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

        # speed: a 512x512 talking-portrait video, one core
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


if __name__ == "__main__":
    main()
