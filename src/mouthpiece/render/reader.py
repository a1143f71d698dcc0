"""Read a video file's frames one at a time through PyAV, in bounded memory.

Frames come upright: a phone video stores its frames sideways with a display matrix
that tells players to turn them, and face detection needs the face the right way up.
With ``fps`` given they also come at that constant rate, frame ``k`` being the picture on
screen at ``k / fps`` seconds after the first (a variable-rate video repeats or drops
frames), so they line up with audio and animation frames. :func:`read_frames_backward`
gives them last to first, decoding the file again a block at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np

from ..errors import InputError
from ..inputs import existing_file
from .colour import i420_to_rgb

BACKWARD_BLOCK_BYTES = 256 * 2**20  # decoded frames held at once when reading backwards
BT709 = 1  # AVCOL_SPC_BT709
JPEG_RANGE = 2  # AVCOL_RANGE_JPEG: full-range Y'CbCr
TIMESTAMP_SLACK = 0.05  # of a frame: timestamps rounded to the container's clock may be this late
# A file that decodes to fewer frames than its header promises, by this share and at least
# TRUNCATED_FRAMES frames, was cut short.
TRUNCATED_SHARE = 0.9
TRUNCATED_FRAMES = 3
# A frame timed later than LATE_SHARE times the length its header gives, plus LATE_SECONDS, has a
# damaged timestamp, not a long still before it: at a constant rate the picture before it would be
# repeated until then (millions of frames from a file of a kilobyte).
LATE_SHARE = 2.0
LATE_SECONDS = 600.0  # s


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds."""

    fps: float  # frames per second of its video stream (average)
    width: int  # of the frames as stored
    height: int
    duration: float  # seconds, of the video stream
    has_audio: bool
    rotation: int = 0  # degrees the stored frames turn counter-clockwise for display: 0, 90, 180 or 270
    matrix: str = "bt601"  # the Y'CbCr matrix its frames are decoded with: "bt709" when it says so

    @property
    def upright_size(self) -> tuple[int, int]:
        """(width, height) of the frames as shown, which :func:`read_frames` gives."""
        return (self.height, self.width) if self.rotation % 180 else (self.width, self.height)

    @property
    def frame_count(self) -> int:
        """Frames at ``fps`` over ``duration`` (the count :func:`read_frames` gives at ``fps``, to a frame)."""
        return max(int(round(self.duration * self.fps)), 1)


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """The video stream's rate, size, length and rotation, and whether there is an audio track.

    Raises
    ------
    InputError
        The file is missing or empty, is not a media file FFmpeg reads, or has no video.
    """
    name = existing_file(path, kind="video")
    try:
        # Tags in a legacy 8-bit encoding must not make a playable file unreadable.
        with av.open(name, metadata_errors="replace") as container:
            if not container.streams.video:
                raise InputError(f"'{name}' has no video stream.")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            if not rate:
                raise InputError(f"'{name}' does not say its frame rate.")
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            else:
                duration = float(container.duration or 0) / av.time_base
            first = next(container.decode(stream), None)
            if first is None:
                raise InputError(f"'{name}' has no video frames.")
            return VideoInfo(
                fps=float(rate),
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                duration=duration,
                has_audio=bool(container.streams.audio),
                rotation=int(round(first.rotation / 90)) % 4 * 90,
                matrix="bt709" if first.colorspace == BT709 else "bt601",
            )
    except av.FFmpegError as e:
        raise InputError(f"Could not read video file '{name}': {e.strerror or e}.") from e


def read_frames(
    path: str | os.PathLike[str], *, fps: float | None = None, start: int = 0, stop: int | None = None
) -> Iterator[np.ndarray]:
    """The video's frames in order, each uint8 RGB [H, W, 3], upright.

    Parameters
    ----------
    path : the video file
    fps : float or None, give the frames at this constant rate; None: each decoded frame once
    start, stop : int, with ``fps``: only frames ``start`` to ``stop`` (exclusive, None: to the end)

    Raises
    ------
    InputError
        As :func:`probe_video`, or when decoding fails part way, (reading it all) the
        file ends well before the length its header gives (a truncated file), or (with
        ``fps``) a frame is timed far past that length.
    """
    name = os.fspath(path)
    info = probe_video(name)
    turn = info.rotation // 90
    try:
        with av.open(name, metadata_errors="replace") as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            latest = LATE_SHARE * info.duration + LATE_SECONDS
            frames = (
                container.decode(stream) if fps is None else _constant_rate(container, stream, fps, start, stop, latest)
            )
            count = 0
            for frame in frames:
                yield _upright(frame, turn)
                count += 1
    except av.FFmpegError as e:
        raise InputError(f"Could not decode video file '{name}': {e.strerror or e}.") from e
    except _LateFrame as e:
        raise InputError(
            f"'{name}' is damaged: a frame is timed at {e.time:.1f} s, far past the {info.duration:.2f} s "
            "its header gives."
        ) from e
    expected = round(info.duration * (fps or info.fps))
    if start == 0 and stop is None and count < TRUNCATED_SHARE * expected and expected - count >= TRUNCATED_FRAMES:
        raise InputError(f"'{name}' ends after {count} of its {expected} frames: the file is cut short or damaged.")


def read_frames_backward(path: str | os.PathLike[str], *, fps: float, count: int) -> Iterator[np.ndarray]:
    """Frames ``count - 1`` down to 0 of :func:`read_frames` at ``fps``: each block of frames
    (as many as fit in ``BACKWARD_BLOCK_BYTES``) is decoded from the keyframe before it, then
    given in reverse."""
    info = probe_video(path)
    width, height = info.upright_size
    block = max(1, BACKWARD_BLOCK_BYTES // (3 * width * height))
    for stop in range(count, 0, -block):
        frames = list(read_frames(path, fps=fps, start=max(0, stop - block), stop=stop))
        while frames:
            yield frames.pop()


class _LateSeek(Exception):
    """A seek landed after the frame wanted."""


class _LateFrame(Exception):
    """A frame is timed ``time`` seconds after the first, past the latest believable."""

    def __init__(self, time: float):
        super().__init__(time)
        self.time = time


def _constant_rate(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    fps: float,
    start: int,
    stop: int | None,
    latest: float = np.inf,
) -> Iterator[av.VideoFrame]:
    """The decoded frames on screen at ``k / fps`` after the first, for ``k`` in ``start..stop``;
    _LateFrame at a frame more than ``latest`` seconds after the first."""
    origin = _first_time(container, stream)
    end = stop if stop is not None else np.iinfo(np.int64).max
    if start > 0:
        _seek(container, stream, origin + start / fps)
        try:
            yield from _at_rate(container.decode(stream), fps, origin, start, end, seeked=True, latest=latest)
            return
        except _LateSeek:
            container.seek(0, stream=stream)  # a file whose seeks land late: decode from its start
    yield from _at_rate(container.decode(stream), fps, origin, start, end, seeked=False, latest=latest)


def _at_rate(
    frames: Iterator[av.VideoFrame],
    fps: float,
    origin: float,
    start: int,
    stop: int,
    *,
    seeked: bool,
    latest: float = np.inf,
) -> Iterator[av.VideoFrame]:
    """Frames ``start..stop`` at ``fps`` from frames decoded in order, from the file's start or
    (``seeked``) from a keyframe at or before frame ``start``."""
    shown: av.VideoFrame | None = None
    k = 0  # the next output frame
    for decoded, frame in enumerate(frames):
        if frame.time is None and seeked:
            raise _LateSeek  # no timestamps to say where the seek landed
        time = decoded / fps if frame.time is None else frame.time - origin
        if time > latest:
            raise _LateFrame(time)
        index = int(np.ceil(time * fps - TIMESTAMP_SLACK))  # the first output frame at or after its time
        if shown is None:
            if index > start:
                if seeked:
                    raise _LateSeek
                index = 0  # the first frame is shown from the start
            k = index
        while shown is not None and k < index:  # ``shown`` is on screen until this frame's time
            if k >= stop:
                return
            if k >= start:
                yield shown
            k += 1
        shown = frame
    if shown is not None and start <= k < stop:
        yield shown


def _first_time(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    """The time of the video's first frame, seconds; the stream is left at its start."""
    first = next(container.decode(stream), None)
    container.seek(0, stream=stream)
    return 0.0 if first is None or first.time is None else float(first.time)


def _seek(container: av.container.InputContainer, stream: av.VideoStream, seconds: float) -> None:
    """To the keyframe at or before ``seconds``."""
    assert stream.time_base is not None
    container.seek(int(max(seconds, 0.0) / stream.time_base), stream=stream, backward=True, any_frame=False)


def _upright(frame: av.VideoFrame, turn: int) -> np.ndarray:
    if frame.format.name == "yuv420p" and frame.color_range != JPEG_RANGE and not (frame.width | frame.height) & 1:
        matrix = "bt709" if frame.colorspace == BT709 else "bt601"
        pixels = i420_to_rgb(frame.to_ndarray(), frame.width, frame.height, matrix)
    else:  # other layouts and depths: FFmpeg's scaler
        pixels = frame.to_ndarray(format="rgb24")
    return np.ascontiguousarray(np.rot90(pixels, turn)) if turn else pixels
