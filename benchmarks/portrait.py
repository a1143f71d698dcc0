"""Talking-portrait figures: lip sync seen in the pixels, identity kept, and speed.

    python benchmarks/portrait.py                 # all figures
    python benchmarks/portrait.py --only sync     # or identity, motion, speed

- **sync**: render 3 fixture photos x 3 fixture speech files, find the face again in
  every decoded frame of the MP4, and correlate the mouth opening measured there
  (inner lip gap over the eye distance) with the driving Animation's JawOpen, at lag 0
  and at the best lag within +-3 frames. Target r >= 0.9 at lag 0.
- **identity**: with no idle motion, in frames where the mouth is closed, how far
  landmarks outside the mouth and jaw move from the photo's (target <= 1 px), and the
  PSNR of pixels outside the face's bounding box against the framed photo (>= 45 dB).
- **motion**: with idle motion on (head turns, nods, blinks) over 10 s of speech, the
  pixels outside the head and neck whose grey level changes by more than 8 from the photo
  (target: none). The head and neck: MediaPipe's person segmentation (probability > 0.2,
  so loose hair counts) above half a face height below the chin, widened by how far the
  face's landmarks moved in that frame and by 2 % of the face's height.
- **speed**: rendering frames/s at 512x512 on one core without encoding (>= 100), the
  whole `mouthpiece render` process for 60 s of speech (<= 30 s wall on 2 cores), and
  1080p whole-process frames/s (>= 25).

Reads ../shared/fixtures (real photos and speech); nothing here ships.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

from mouthpiece import api
from mouthpiece.face.detect import find_face
from mouthpiece.face.landmarks import FACE_OVAL, mouth_opening
from mouthpiece.render.portrait import PortraitRenderer

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
PHOTOS = (
    "img02_hallo6_woman_photo.jpg",
    "img04_real3dportrait_macron_photo.png",
    "img06_sadtalker_people0_woman_photo.png",
)
SPEECH = (
    "aud01_real3dportrait_obama_16k.wav",
    "aud03_sadtalker_hdtf_rdradio31_16k.wav",
    "aud09_pcavs_vox_681600002_16k.wav",
)
SECONDS = 10.0  # of each speech file rendered for the sync figure


def decoded_frames(path: Path):
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


def correlation_at(a: np.ndarray, b: np.ndarray, lag: int) -> float:
    """r of a[t] against b[t + lag]."""
    if lag >= 0:
        a, b = a[: len(a) - lag], b[lag:]
    else:
        a, b = a[-lag:], b[: len(b) + lag]
    return float(np.corrcoef(a, b)[0, 1])


def sync(out: Path) -> None:
    print("lip sync: r(JawOpen, mouth opening found in the frames)")
    rows = []
    for photo in PHOTOS:
        portrait = api.load_portrait(FIXTURES / "image" / photo)
        for speech_name in SPEECH:
            speech = api.load_audio(FIXTURES / "audio" / speech_name)
            speech = type(speech)(speech.samples[: int(SECONDS * speech.sample_rate)], speech.sample_rate)
            animation = api.add_life(api.animate(speech, fps=25), speech, seed=0)
            video = out / f"{Path(photo).stem}-{Path(speech_name).stem}.mp4"
            api.render_video(portrait, animation, video, audio=speech)
            opening = np.array([mouth_opening(find_face(f, source=video.name)) for f in decoded_frames(video)])
            jaw = animation.channel("JawOpen")[: len(opening)]
            lags = {lag: correlation_at(jaw, opening, lag) for lag in range(-3, 4)}
            best = max(lags, key=lambda k: lags[k])
            rows.append(lags[0])
            print(f"  {Path(photo).stem[:24]:<24} {Path(speech_name).stem[:28]:<28} r(lag 0) = {lags[0]:.3f}"
                  f"   best lag {best:+d}: {lags[best]:.3f}")  # fmt: skip
    print(f"  mean r at lag 0: {np.mean(rows):.3f}, min {np.min(rows):.3f} (target >= 0.9)")


def identity() -> None:
    print("identity: no idle motion, closed-mouth frames")
    speech, animation = api.say("Maybe we should bump the map by a pebble, Bob.", fps=25)
    closed = np.flatnonzero(
        (animation.channel("JawOpen") < 0.02) & (animation.channel("MouthFunnel") < 0.02)
        & (animation.channel("MouthPucker") < 0.05)
    )  # fmt: skip
    keep = np.setdiff1d(np.arange(478), MOUTH_AND_JAW_POINTS)
    for photo in PHOTOS:
        portrait = api.load_portrait(FIXTURES / "image" / photo)
        renderer = PortraitRenderer(portrait.image, portrait.landmarks, channels=animation.channels)
        source = find_face(portrait.image, source=photo)
        oval = portrait.landmarks[list(FACE_OVAL), :2]
        (x0, y0), (x1, y1) = np.floor(oval.min(axis=0)).astype(int), np.ceil(oval.max(axis=0)).astype(int) + 1
        outside = np.ones(portrait.image.shape[:2], bool)
        outside[max(y0, 0) : y1, max(x0, 0) : x1] = False
        moves, psnrs = [], []
        for k in closed:
            frame = renderer.render(animation.values[k])
            found = find_face(frame, source=f"{photo} frame {k}")
            moves.append(np.hypot(*(found[keep, :2] - source[keep, :2]).T))
            diff = frame[outside].astype(float) - portrait.image[outside]
            mse = float(np.mean(diff**2))
            psnrs.append(99.0 if mse == 0 else 10 * np.log10(255**2 / mse))
        per_frame = np.array(moves)  # [frames, landmarks]
        print(f"  {photo[:36]:<36} {len(closed)} closed frames, {per_frame.shape[1]} landmarks outside mouth/jaw"
              f" (re-detected vs the photo's): mean {per_frame.mean():.2f} px, median {np.median(per_frame):.2f},"
              f" worst frame's mean {per_frame.mean(axis=1).max():.2f}, 95th pct {np.percentile(per_frame, 95):.2f};"
              f" PSNR outside the face box {np.min(psnrs):.1f} dB (min)")  # fmt: skip


def head_and_neck(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """[H, W] bool: the person's pixels (the renderer's segmentation) down to half a face height below the chin."""
    from mouthpiece.render.backdrop import person as person_probability

    person = person_probability(image) > 0.2
    face_height = landmarks[152, 1] - landmarks[10, 1]
    person[max(0, int(landmarks[152, 1] + 0.5 * face_height)) :] = False
    return person


def motion() -> None:
    print("head motion: pixels outside the head and neck changed by > 8 grey levels (target 0)")
    speech, animation = api.say(
        "Well, I think we should go there now, and then we will see what happens next. "
        "Nobody told me it would take this long, but here we are.",
        fps=25,
    )
    animation = api.add_life(animation, speech, seed=3)
    pose = animation.values[:, [animation.channels.index(c) for c in ("HeadYaw", "HeadPitch", "HeadRoll")]]
    for photo in PHOTOS:
        portrait = api.load_portrait(FIXTURES / "image" / photo)
        renderer = PortraitRenderer(portrait.image, portrait.landmarks, channels=animation.channels)
        head = head_and_neck(portrait.image, portrait.landmarks).astype(np.uint8)
        margin = 0.02 * (portrait.landmarks[152, 1] - portrait.landmarks[10, 1])
        grey = cv2.cvtColor(portrait.image, cv2.COLOR_RGB2GRAY).astype(np.int16)
        counts, largest = [], 0
        for values in animation.values:
            frame = renderer.render(values)
            moved = np.hypot(*(renderer.pose(values)[:478, :2] - portrait.landmarks[:478, :2]).T).max()
            r = int(np.ceil(moved + margin))
            swept = cv2.dilate(head, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))) > 0
            change = np.abs(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.int16) - grey)[~swept]
            counts.append(int((change > 8).sum()))
            largest = max(largest, int(change.max(initial=0)))
        print(f"  {photo[:36]:<36} {len(counts)} frames, head up to {np.degrees(np.abs(pose).max()):.1f} deg: "
              f"pixels > 8 outside the head and neck: {max(counts)} in the worst frame, {sum(counts)} in all; "
              f"largest change {largest}")  # fmt: skip


def speed(out: Path) -> None:
    print("speed")
    portrait = api.load_portrait(FIXTURES / "image" / PHOTOS[1], size=(512, 512))
    speech = api.load_audio(FIXTURES / "audio" / SPEECH[1])
    animation = api.add_life(api.animate(speech, fps=25, recognizer="phones"), speech, seed=0)
    renderer = PortraitRenderer(portrait.image, portrait.landmarks, channels=animation.channels)
    count = min(500, animation.frame_count)
    cores, threads = os.sched_getaffinity(0), cv2.getNumThreads()
    os.sched_setaffinity(0, {min(cores)})  # one core, and OpenCV told so
    cv2.setNumThreads(1)
    start = time.perf_counter()
    for values in animation.values[:count]:
        renderer.render(values)
    rate = count / (time.perf_counter() - start)
    os.sched_setaffinity(0, cores)
    cv2.setNumThreads(threads)
    print(f"  render only, 512x512, one core: {rate:.0f} frames/s (target >= 100)")

    minute = out / "minute.wav"
    samples = np.tile(speech.samples, int(np.ceil(60 * speech.sample_rate / len(speech.samples))))
    api.audio_stage.save(type(speech)(samples[: 60 * speech.sample_rate], speech.sample_rate), minute)
    photo = FIXTURES / "image" / PHOTOS[1]
    for size, label, target in (("512", "60 s of speech -> 512x512 MP4", "<= 30 s"), ("1920x1080", "1080p", None)):
        command = [sys.executable, "-m", "mouthpiece.cli", "render", str(photo), str(minute),
                   "-o", str(out / f"minute-{size}.mp4"), "--size", size, "-q"]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(command, check=True)
        wall = time.perf_counter() - start
        frames = 60 * 25
        if target:
            print(f"  whole process, {label}: {wall:.1f} s wall ({target}), {frames / wall:.0f} frames/s")
        else:
            print(f"  whole process, {label}: {wall:.1f} s wall, {frames / wall:.1f} frames/s (target >= 25)")


MOUTH_AND_JAW_POINTS: np.ndarray = np.array([], int)


def _mouth_and_jaw(rig_channels=("JawOpen", "MouthFunnel", "MouthPucker", "MouthSmileLeft", "MouthSmileRight",
                                 "MouthStretchLeft", "MouthStretchRight", "MouthLowerDownLeft", "MouthRollLower",
                                 "MouthPressLeft", "MouthPressRight")) -> np.ndarray:  # fmt: skip
    """Landmarks the speech channels move by more than 0.5 % of the eye distance on a real face."""
    from mouthpiece.face.rig import build_rig

    image = api.load_portrait(FIXTURES / "image" / PHOTOS[1])
    rig = build_rig(image.landmarks)
    moving = np.zeros(478, bool)
    for name in rig_channels:
        k = rig.channels.index(name)
        moving |= np.hypot(*rig.basis[k, :478, :2].T) > 0.005 * rig.unit
    return np.flatnonzero(moving)


def main() -> None:
    global MOUTH_AND_JAW_POINTS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("sync", "identity", "motion", "speed"))
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        if args.only in (None, "identity"):
            MOUTH_AND_JAW_POINTS = _mouth_and_jaw()
            identity()
        if args.only in (None, "motion"):
            motion()
        if args.only in (None, "sync"):
            sync(out)
        if args.only in (None, "speed"):
            speed(out)


if __name__ == "__main__":
    main()
