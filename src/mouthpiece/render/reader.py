"""Read a video file's frames one at a time through PyAV, in bounded memory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np

from ..errors import InputError
from ..inputs import existing_file


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds."""

    fps: float  # frames per second of its video stream (average)
    width: int
    height: int
    duration: float  # seconds, of the video stream
    has_audio: bool


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """The video stream's rate, size and length, and whether there is an audio track.

    Raises
    ------
    InputError
        The file is missing or empty, is not a media file FFmpeg reads, or has no video.
    """
    name = existing_file(path, kind="video")
    try:
        with av.open(name) as container:
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
            return VideoInfo(
                fps=float(rate),
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                duration=duration,
                has_audio=bool(container.streams.audio),
            )
    except av.FFmpegError as e:
        raise InputError(f"Could not read video file '{name}': {e.strerror or e}.") from e


def read_frames(path: str | os.PathLike[str]) -> Iterator[np.ndarray]:
    """The video's frames in order, each uint8 RGB [H, W, 3].

    Raises
    ------
    InputError
        As :func:`probe_video`, or when decoding fails part way (a truncated file).
    """
    name = os.fspath(path)
    probe_video(name)
    try:
        with av.open(name) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")
    except av.FFmpegError as e:
        raise InputError(f"Could not decode video file '{name}': {e.strerror or e}.") from e
