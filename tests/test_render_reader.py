"""mouthpiece.render.reader and .colour: frames come back upright, at a constant rate, in the
colours they were written with; checked on small clips whose frames say their own number."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from mouthpiece.render import reader
from mouthpiece.render.colour import i420_to_rgb, rgb_to_i420
from mouthpiece.render.reader import probe_video, read_frames, read_frames_backward
from mouthpiece.render.video import VideoWriter

W, H = 64, 48  # px
FPS = 25
FRAMES = 20  # 0.8 s


def colour(k: int) -> tuple[int, int, int]:
    """Frame ``k``'s flat colour: its units in red, its tens in green, 20 levels apart."""
    return 20 + (k % 10) * 20, 20 + (k // 10) * 20, 128


def numbered(k: int, *, width: int = W, height: int = H) -> np.ndarray:
    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = colour(k)
    return frame


def number_of(frame: np.ndarray) -> int:
    red, green, _ = frame.reshape(-1, 3).mean(axis=0)
    return int(round((red - 20) / 20)) + 10 * int(round((green - 20) / 20))


def numbers(frames) -> list[int]:
    return [number_of(f) for f in frames]


def write_numbered(path: Path, *, frames: int = FRAMES, fps: float = FPS) -> Path:
    with VideoWriter(path, width=W, height=H, fps=fps, crf=0) as video:
        for k in range(frames):
            video.write(numbered(k))
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_numbered(tmp_path_factory.mktemp("reader") / "numbered.mp4")


def test_probe_says_what_the_writer_wrote(clip):
    info = probe_video(clip)
    assert (info.fps, info.width, info.height) == (FPS, W, H)
    assert info.duration == pytest.approx(FRAMES / FPS, abs=1e-6)
    assert not info.has_audio and info.rotation == 0
    assert info.upright_size == (W, H) and info.frame_count == FRAMES


def test_frames_come_back_in_order_at_their_own_rate(clip):
    assert numbers(read_frames(clip)) == list(range(FRAMES))
    assert numbers(read_frames(clip, fps=FPS)) == list(range(FRAMES))


def test_half_the_rate_gives_every_other_frame(clip):
    got = numbers(read_frames(clip, fps=FPS / 2))
    assert got[: FRAMES // 2] == list(range(0, FRAMES, 2))
    assert abs(len(got) - FRAMES // 2) <= 1  # frame_count's promise: "to a frame"


def test_twice_the_rate_shows_each_frame_twice(clip):
    got = numbers(read_frames(clip, fps=2 * FPS))
    assert got == [k // 2 for k in range(len(got))]
    assert abs(len(got) - 2 * FRAMES) <= 1


def test_a_lower_rate_shows_the_picture_on_screen_at_each_frames_time(clip):
    got = numbers(read_frames(clip, fps=10))
    on_screen = [int(np.floor(k / 10 * FPS + 1e-9)) for k in range(8)]  # 0, 2, 5, 7, 10, 12, 15, 17
    assert got[:8] == on_screen


@pytest.mark.parametrize("fps, start, stop", [(FPS, 5, 12), (FPS, 0, 3), (FPS, 17, None), (FPS / 2, 3, 7)])
def test_a_slice_is_the_same_frames_as_the_forward_read(clip, fps, start, stop):
    whole = numbers(read_frames(clip, fps=fps))
    assert numbers(read_frames(clip, fps=fps, start=start, stop=stop)) == whole[start:stop]


def test_a_slice_of_a_long_clip_seeks_to_a_keyframe(tmp_path):
    path = tmp_path / "long.mp4"
    with VideoWriter(path, width=W, height=H, fps=FPS, crf=0) as video:  # x264 puts a keyframe every 250 frames
        for k in range(300):
            video.write(numbered(k % 100))
    got = numbers(read_frames(path, fps=FPS, start=262, stop=270))
    assert got == [k % 100 for k in range(262, 270)]


@pytest.mark.parametrize("count", [FRAMES, FRAMES - 1, 7, 1])
def test_backward_is_the_forward_read_reversed(clip, monkeypatch, count):
    monkeypatch.setattr(reader, "BACKWARD_BLOCK_BYTES", 3 * W * H * 3)  # three frames a block: seven blocks
    forward = [f for f, _ in zip(read_frames(clip, fps=FPS), range(count))]
    backward = list(read_frames_backward(clip, fps=FPS, count=count))
    assert numbers(backward) == list(range(count - 1, -1, -1))
    for a, b in zip(backward, reversed(forward)):
        np.testing.assert_array_equal(a, b)


def write_variable_rate(path: Path, times_ms: list[int]) -> None:
    """Frame ``k`` (coloured as :func:`numbered`) shown from ``times_ms[k]``: a variable frame rate."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.time_base = Fraction(1, 1000)
        for k, ms in enumerate(times_ms):
            frame = av.VideoFrame.from_ndarray(numbered(k), format="rgb24")
            frame.pts, frame.time_base = ms, Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def test_a_variable_rate_video_comes_back_at_a_constant_rate(tmp_path):
    # irregular times: gaps of a frame or more (held, repeated) and bursts inside one frame (dropped)
    times = [0, 40, 65, 200, 225, 240, 400, 545, 560, 600, 625, 800]  # ms
    path = tmp_path / "vfr.mp4"
    write_variable_rate(path, times)
    with av.open(str(path)) as container:  # the file really is irregular
        assert [round(float(f.time) * 1000) for f in container.decode(video=0)] == times
    got = numbers(read_frames(path, fps=FPS))
    assert len(got) == times[-1] * FPS // 1000 + 1  # 0 .. 0.8 s, the last frame's time
    for k, shown in enumerate(got):
        # the last frame whose time has come at k / fps
        expected = max(i for i, ms in enumerate(times) if ms <= k * 1000 / FPS)
        assert shown == expected, (k, got)
    assert 4 not in got and 7 not in got  # each is replaced within the same output frame


def test_rotation_is_read_back_and_undone(tmp_path):
    upright = np.zeros((64, 48, 3), np.uint8)  # portrait, as a phone held upright shows it
    upright[:16, :8] = (255, 0, 0)  # top left: red
    upright[40:, 30:] = (0, 255, 0)  # bottom right: green
    stored = np.ascontiguousarray(np.rot90(upright, -1))  # the sensor's landscape picture
    path = tmp_path / "phone.mp4"
    with VideoWriter(path, width=64, height=48, fps=FPS, rotation=90, crf=0) as video:
        for _ in range(3):
            video.write(stored)
    info = probe_video(path)
    assert info.rotation == 90 and (info.width, info.height) == (64, 48) and info.upright_size == (48, 64)
    with av.open(str(path)) as container:  # players get the frames as stored...
        raw = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert raw.shape == (48, 64, 3)
    for frame in [*read_frames(path), *read_frames(path, fps=FPS)]:  # ...the reader turns them upright
        assert frame.shape == upright.shape
        assert np.abs(frame.astype(int) - upright).max() <= 3


@pytest.mark.parametrize("matrix", ["bt709", "bt601"])
def test_the_colour_matrix_is_reported_and_colours_come_back(tmp_path, matrix):
    path = tmp_path / f"{matrix}.mp4"
    flat = np.empty((H, W, 3), np.uint8)
    flat[:] = (200, 60, 30)  # saturated, where the two matrices differ most
    with VideoWriter(path, width=W, height=H, fps=FPS, crf=0, matrix=matrix) as video:
        for _ in range(3):
            video.write(flat)
    assert probe_video(path).matrix == matrix
    for frame in read_frames(path):
        assert np.abs(frame.astype(int) - flat).max() <= 2


def test_the_writers_default_matrix_is_bt709(clip):
    assert probe_video(clip).matrix == "bt709"


@pytest.mark.parametrize("matrix", ["bt709", "bt601"])
def test_colour_round_trip_and_the_matrix_matters(matrix):
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (6, 8, 3)).astype(np.uint8)
    frame[:] = frame[::2, ::2].repeat(2, 0).repeat(2, 1)  # flat 2x2 blocks: chroma survives 4:2:0
    planes = rgb_to_i420(frame, matrix)
    assert planes.shape == (9, 8) and planes.dtype == np.uint8
    assert 16 <= planes[:6].min() and planes[:6].max() <= 235  # limited-range luma
    assert np.abs(i420_to_rgb(planes, 8, 6, matrix).astype(int) - frame).max() <= 2
    other = "bt601" if matrix == "bt709" else "bt709"
    assert np.abs(i420_to_rgb(planes, 8, 6, other).astype(int) - frame).max() > 10  # the wrong matrix shows
