"""eval sync: the offset curve on made-up tracks, and end to end on talking videos the tests
render (with known shifts of their audio), plus the bad inputs."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from importlib import resources

import numpy as np
import pytest

from mouthpiece import api
from mouthpiece.audio import save
from mouthpiece.evaluate.sync import (
    NATURAL_LEAD,
    advance,
    correlation_curve,
    expected_mouth,
    lip_gap,
    measure_sync,
    mouth_width,
)
from mouthpiece.face.landmarks import mouth_opening
from mouthpiece.render.video import VideoWriter
from mouthpiece.types import Audio

ASTRONAUT = resources.files("mouthpiece") / "data" / "astronaut.png"
FPS = 25
SENTENCE = "Open wide, papa bear. Maybe we should bump the map by a pebble, Bob."


def test_the_curve_peaks_at_the_shift():
    rng = np.random.default_rng(0)
    mouth = np.convolve(rng.random(300), np.ones(5) / 5, "same")
    for shift in (-6, -2, 0, 3, 7):
        expected = np.roll(mouth, shift)
        result = measure_sync(mouth + rng.normal(0, 0.01, 300), expected, fps=FPS)
        assert result.offset == shift
        assert result.confidence > 0.5
        assert len(result.windows) >= 3 and all(w.offset == shift for w in result.windows)
    flat = correlation_curve(np.ones(50), mouth[:50])  # no motion at all: no correlation, no error
    assert not flat.any()


def test_frames_without_a_face_are_filled_in():
    mouth = np.sin(np.arange(200) / 4.0) ** 2
    seen = mouth.copy()
    seen[50:60] = np.nan
    assert measure_sync(seen, np.roll(mouth, 2), fps=FPS).offset == 2


def test_mouth_opening_is_the_lip_gap_over_the_eye_distance():
    landmarks = np.zeros((478, 3))
    landmarks[[33, 133], 0], landmarks[[263, 362], 0] = 0.0, 60.0
    landmarks[13, 1], landmarks[14, 1] = 100.0, 115.0
    assert mouth_opening(landmarks) == pytest.approx(0.25)


def test_lip_gap_and_width_are_over_the_outer_eye_corners():
    landmarks = np.zeros((478, 3))
    landmarks[33, 0], landmarks[263, 0] = 0.0, 80.0
    for upper, lower in ((13, 14), (82, 87), (312, 317), (81, 178), (311, 402)):
        landmarks[upper, 1], landmarks[lower, 1] = 100.0, 110.0
    landmarks[14, 1] = 130.0  # the middle pair open wider: the mean of the five gaps
    landmarks[61, 0], landmarks[291, 0] = 20.0, 60.0
    assert lip_gap(landmarks) == pytest.approx((4 * 10 + 30) / 5 / 80)
    assert mouth_width(landmarks) == pytest.approx(0.5)


def test_two_features_and_the_natural_lead():
    rng = np.random.default_rng(1)
    opening, width = (np.convolve(rng.random(300), np.ones(5) / 5, "same") for _ in range(2))
    seen = np.stack([opening, width], axis=1)
    assert measure_sync(seen, np.roll(seen, 4, axis=0), fps=FPS).offset == 4
    assert measure_sync(seen, np.stack([np.roll(opening, 4), np.zeros(300)], 1), fps=FPS).offset == 4  # still width
    _, animation = api.say("Papa, we owe you a fee.", fps=FPS)
    tracks = expected_mouth(animation)
    assert tracks.shape == (animation.frame_count, 2)
    assert np.allclose(tracks[:-3, 0], advance(animation.channel("JawOpen"), NATURAL_LEAD * FPS)[:-3])
    assert np.allclose(expected_mouth(animation, lead=0.0)[:, 0], animation.channel("JawOpen"))


@pytest.fixture(scope="module")
def talking(tmp_path_factory):
    """A talking-portrait MP4 of the astronaut (its own speech as the audio track), the
    speech, and the folder. The mouth moves NATURAL_LEAD ahead of the sound, as a real
    speaker's does (see mouthpiece.evaluate.sync): in sync by that measure."""
    folder = tmp_path_factory.mktemp("sync")
    speech, animation = api.say(SENTENCE, fps=FPS)
    animation = replace(animation, values=advance(animation.values, NATURAL_LEAD * FPS), viseme_weights=None)
    portrait = api.load_portrait(ASTRONAUT, size=(384, 384))
    video = folder / "talking.mp4"
    api.render_video(portrait, animation, video, audio=speech)
    return video, speech, folder


def shifted(speech: Audio, frames: int) -> Audio:
    """The speech delayed (positive) or advanced by whole video frames, same length."""
    samples = round(frames * speech.sample_rate / FPS)
    if samples >= 0:
        moved = np.concatenate([np.zeros(samples, np.float32), speech.samples[: len(speech.samples) - samples]])
    else:
        moved = np.concatenate([speech.samples[-samples:], np.zeros(-samples, np.float32)])
    return Audio(moved, speech.sample_rate)


@pytest.mark.slow
def test_own_audio_is_in_sync_and_shifts_are_found(talking):
    video, speech, folder = talking
    result, seen, expected = api.evaluate_sync(video)
    assert abs(result.offset) <= 1 and result.fps == FPS
    assert np.isfinite(seen).all() and len(seen) == len(expected)
    for frames in (-5, 4):
        path = folder / f"shift{frames}.wav"
        save(shifted(speech, frames), path)
        moved, _, _ = api.evaluate_sync(video, audio=path)
        assert abs(moved.offset - frames) <= 1, (frames, moved.offset)
    other = folder / "other.wav"
    other_speech, _ = api.say("The quick brown fox jumps over the lazy dog again and again, twice.")
    save(Audio(other_speech.samples[: len(speech.samples)], speech.sample_rate), other)
    assert api.evaluate_sync(video, audio=other)[0].confidence < result.confidence


@pytest.mark.slow
def test_eval_sync_command_prints_and_writes_json_and_a_plot(talking, tmp_path):
    video, _, _ = talking
    report, picture = tmp_path / "sync.json", tmp_path / "sync.png"
    run = subprocess.run(
        [sys.executable, "-m", "mouthpiece.cli", "eval", "sync", str(video), "--json", str(report),
         "--plot", str(picture)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("talking.mp4: offset") and "confidence" in run.stdout
    data = json.loads(report.read_text())
    assert len(data["correlation"]) == len(data["lags"]) == 31 and data["fps"] == FPS
    assert abs(data["offset_frames"]) <= 1
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run.stderr == ""  # MediaPipe's native chatter stays hidden


def _video(folder, name, *, face: bool, audio_seconds: float | None, seconds: float = 2.0):
    path = folder / name
    frame = np.full((240, 320, 3), 150, np.uint8)
    if face:
        portrait = api.load_portrait(ASTRONAUT, size=(320, 240))
        frame = portrait.image
    audio = None
    if audio_seconds is not None:
        t = np.arange(int(audio_seconds * 16000)) / 16000
        audio = Audio((0.2 * np.sin(2 * np.pi * 200 * t) * (np.sin(2 * np.pi * 3 * t) > 0)).astype(np.float32), 16000)
    with VideoWriter(path, width=320, height=240, fps=FPS, audio=audio) as writer:
        for _ in range(int(seconds * FPS)):
            writer.write(frame)
    return path


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda d: _video(d, "wall.mp4", face=False, audio_seconds=2.0), "No face found in any frame of"),
        (lambda d: _video(d, "silent.mp4", face=True, audio_seconds=None), "has no audio track"),
        (lambda d: _video(d, "long.mp4", face=True, audio_seconds=6.0), "cannot be in sync"),
        (lambda d: d / "missing.mp4", "does not exist"),
        (lambda d: (d / "notes.mp4").write_text("not a video\n" * 50) and d / "notes.mp4", "notes.mp4"),
    ],
    ids=["no face", "no audio", "unequal lengths", "missing", "not a video"],
)
def test_bad_inputs_get_one_sentence(tmp_path, make, words):
    video = make(tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "mouthpiece.cli", "eval", "sync", str(video)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and video.name in lines[0], run.stderr
