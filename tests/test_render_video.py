"""mouthpiece.render.video: write a clip, decode it back with PyAV, check what came out."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from mouthpiece.errors import InputError
from mouthpiece.render.video import VideoWriter
from mouthpiece.types import Audio

W, H = 128, 96  # px
FPS = 25
FRAMES = 50  # 2 s
SIDE = 16  # px, the moving square
BACKGROUND = (40, 110, 180)  # RGB, a mid blue: checks the colour conversion both ways


def square_x(k: int) -> int:
    """Left edge of the square in frame ``k``: left to right across the picture."""
    return 4 + (W - SIDE - 8) * k // (FRAMES - 1)


def draw(k: int) -> np.ndarray:
    frame = np.empty((H, W, 3), np.uint8)
    frame[:] = BACKGROUND
    frame[40 : 40 + SIDE, square_x(k) : square_x(k) + SIDE] = 255
    return frame


def chirp(seconds: float, *, rate: int = 16_000) -> Audio:
    """A 200 Hz -> 2 kHz sweep at half scale."""
    t = np.arange(round(seconds * rate)) / rate
    phase = 2 * np.pi * (200 * t + (1800 / (2 * seconds)) * t**2)
    return Audio((0.5 * np.sin(phase)).astype(np.float32), rate)


def write(path: Path, *, frames: int = FRAMES, audio: Audio | None = None, fps: float = FPS) -> VideoWriter:
    with VideoWriter(path, width=W, height=H, fps=fps, audio=audio) as video:
        for k in range(frames):
            video.write(draw(k))
            assert video.frames_written == k + 1
    return video


def decode_video(path: Path) -> tuple[list[Fraction], list[np.ndarray]]:
    times, pictures = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            assert frame.pts is not None and frame.time_base is not None
            times.append(Fraction(frame.pts) * frame.time_base)
            pictures.append(frame.to_ndarray(format="rgb24"))
    return times, pictures


def decode_audio(path: Path) -> tuple[np.ndarray, int, Fraction]:
    """Samples, rate, and the time of the first decoded sample."""
    chunks, start = [], None
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            if start is None:
                assert frame.pts is not None and frame.time_base is not None
                start = Fraction(frame.pts) * frame.time_base
            chunks.append(frame.to_ndarray().mean(axis=0))
        rate = stream.sample_rate
    return np.concatenate(chunks), rate, start or Fraction(0)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Audio]:
    audio = chirp(2.0)
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    write(path, audio=audio)
    return path, audio


def test_frames_come_back_at_their_times(clip):
    times, pictures = decode_video(clip[0])
    assert len(pictures) == FRAMES
    assert all(p.shape == (H, W, 3) for p in pictures)
    assert times[0] == 0
    assert times == [Fraction(k, FPS) for k in range(FRAMES)]


def test_square_is_where_it_was_drawn(clip):
    _, pictures = decode_video(clip[0])
    for k, picture in enumerate(pictures):
        white = np.all(picture > 200, axis=2)
        ys, xs = np.nonzero(white)
        assert abs(xs.mean() - (square_x(k) + (SIDE - 1) / 2)) < 1.0, k
        assert abs(ys.mean() - (40 + (SIDE - 1) / 2)) < 1.0, k
        assert abs(white.sum() - SIDE**2) < SIDE * 2, k
    background = np.median(pictures[0][70:, :].reshape(-1, 3), axis=0)
    assert np.all(np.abs(background - BACKGROUND) <= 3)  # BT.709 both ways, tagged in the file


def test_audio_track_matches_the_input(clip):
    path, audio = clip
    samples, rate, start = decode_audio(path)
    assert rate == audio.sample_rate == 16_000  # AAC has 16 kHz: no resampling
    assert start == 0
    # The encoder's priming is cut by the MP4 edit list; its padding to whole 1024-sample
    # frames is not, so trim the tail to compare.
    assert 0 <= len(samples) - len(audio.samples) <= 1024
    assert abs(len(samples) / rate - audio.duration) < 0.05 + 1024 / rate
    samples = samples[: len(audio.samples)]
    # In sync: the sweep lines up with the input to within a few samples.
    lags = np.arange(-40, 41)
    middle = slice(4_000, 28_000)
    scores = [np.dot(samples[middle], np.roll(audio.samples, lag)[middle]) for lag in lags]
    assert abs(lags[int(np.argmax(scores))]) <= 2
    error = samples[middle] - audio.samples[middle]
    assert np.sqrt(np.mean(error**2)) < 0.1 * np.sqrt(np.mean(audio.samples[middle] ** 2))


def test_all_the_audio_is_written_past_the_last_frame(tmp_path):
    path = tmp_path / "short.mp4"
    audio = chirp(2.0)
    write(path, frames=10, audio=audio)  # 0.4 s of video
    samples, _, _ = decode_audio(path)
    assert 0 <= len(samples) - len(audio.samples) <= 1024
    assert len(decode_video(path)[1]) == 10


def test_audio_at_a_rate_aac_lacks_is_resampled(tmp_path):
    path = tmp_path / "odd-rate.mp4"
    audio = chirp(1.0, rate=15_000)
    write(path, frames=25, audio=audio)
    samples, rate, _ = decode_audio(path)
    assert rate == 48_000
    assert abs(len(samples) / rate - 1.0) < 0.05


def test_without_audio_the_file_is_video_only(tmp_path):
    path = tmp_path / "silent.mp4"
    write(path, frames=5)
    with av.open(str(path)) as container:
        assert len(container.streams.audio) == 0 and len(container.streams.video) == 1
    assert len(decode_video(path)[1]) == 5


def test_ntsc_rate_stays_exact(tmp_path):
    path = tmp_path / "ntsc.mov"
    write(path, frames=12, fps=30000 / 1001)
    times, _ = decode_video(path)
    assert times == [Fraction(1001 * k, 30000) for k in range(12)]


@pytest.mark.parametrize("existing", [None, b"precious"])
def test_failure_inside_the_block_leaves_nothing(tmp_path, existing):
    path = tmp_path / "broken.mp4"
    if existing is not None:
        path.write_bytes(existing)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        with VideoWriter(path, width=W, height=H, fps=FPS, audio=chirp(1.0)) as video:
            for k in range(30):
                video.write(draw(k))
            raise RuntimeError("renderer crashed")
    assert os.listdir(tmp_path) == ([] if existing is None else ["broken.mp4"])
    if existing is not None:
        assert path.read_bytes() == existing


def test_a_bad_frame_is_an_input_error_and_leaves_nothing(tmp_path):
    path = tmp_path / "bad.mp4"
    with pytest.raises(InputError, match=r"Frame 1 for '.*bad\.mp4' must be a uint8 RGB array of shape \(96, 128, 3\)"):
        with VideoWriter(path, width=W, height=H, fps=FPS) as video:
            video.write(draw(0))
            video.write(draw(1).astype(np.float32))
    assert os.listdir(tmp_path) == []


def test_nothing_appears_until_the_block_ends(tmp_path):
    path = tmp_path / "growing.mp4"
    with VideoWriter(path, width=W, height=H, fps=FPS) as video:
        video.write(draw(0))
        (temp,) = os.listdir(tmp_path)
        assert temp.startswith(".growing.mp4.") and temp.endswith(".mp4")
        assert not path.exists()
    assert os.listdir(tmp_path) == ["growing.mp4"]


def test_write_outside_the_block_is_refused(tmp_path):
    video = write(tmp_path / "done.mp4", frames=2)
    with pytest.raises(InputError, match="not open"):
        video.write(draw(0))


@pytest.mark.parametrize(
    "options, phrase",
    [
        ({"width": 127}, "width must be a positive even number"),
        ({"height": 95}, "height must be a positive even number"),
        ({"width": 0}, "width must be a positive even number"),
        ({"fps": 0}, "fps must be between 1 and 240"),
        ({"fps": float("nan")}, "fps must be between 1 and 240"),
        ({"crf": 52}, "crf must be an integer from 0 to 51"),
        ({"preset": "warp"}, "Unknown x264 preset 'warp'"),
        ({"audio": np.zeros(16_000, np.float32)}, "must be a mouthpiece Audio"),
        ({"path": "clip.avi"}, "Cannot write video to 'clip.avi'"),
    ],
)
def test_bad_options(tmp_path, options, phrase):
    arguments = {"path": tmp_path / "out.mp4", "width": W, "height": H, "fps": FPS, **options}
    with pytest.raises(InputError, match=phrase):
        VideoWriter(**arguments)
    assert os.listdir(tmp_path) == []


def test_missing_folder(tmp_path):
    with pytest.raises(InputError, match="Could not write video file '.*out.mp4': folder '.*missing' does not exist."):
        with VideoWriter(tmp_path / "missing" / "out.mp4", width=W, height=H, fps=FPS):
            pytest.fail("the block must not run")


def test_a_long_clip_streams_to_disk_as_it_is_written(tmp_path):
    # 15 s: longer than the 10 s FFmpeg's muxer holds packets back waiting for the other
    # stream, so audio written only at the end would land after 10 s of video in the file.
    path = tmp_path / "long.mp4"
    noise = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)  # every frame costs bytes
    with VideoWriter(path, width=W, height=H, fps=FPS, audio=chirp(15.0)) as video:
        for k in range(15 * FPS):
            video.write(np.roll(noise, k, axis=1))
        (temp,) = os.listdir(tmp_path)
        written = os.path.getsize(tmp_path / temp)
    assert written > 0.5 * path.stat().st_size  # on disk already, not held for the end
    with av.open(str(path)) as container:
        packets = [(p.stream.type, float(p.pts * p.time_base)) for p in container.demux() if p.size]
    latest = {"audio": 0.0, "video": 0.0}
    for kind, t in packets:  # in file order: neither stream runs more than a second ahead
        other = "video" if kind == "audio" else "audio"
        assert t > latest[other] - 1.0
        latest[kind] = max(latest[kind], t)
    assert latest["audio"] > 14.9 and latest["video"] > 14.9
