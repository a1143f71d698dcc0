"""Read audio from any file FFmpeg can decode, or from samples in memory, as mono 16 kHz.

:func:`stream` is the decoder: PyAV demuxes the file's best audio track packet by
packet, FFmpeg's resampler converts each frame to float32 at the target rate (keeping
its channels), the channels are averaged to mono, and the samples are cut into
fixed-length blocks. Only one block and one decoded frame are alive at a time, so an
hour of audio streams in constant memory. :func:`load` is the blocks joined.

A file with moving video is read on the video's clock: sample 0 is the time of its first
frame. Audio that starts later (an edit list, a stream start time: camera and editor
files, ``ffmpeg -itsoffset``) is preceded by silence, audio that starts earlier loses its
head, so an animation of the samples lines up with the frames. Cover art (an attached
picture) is not video.

Channels are averaged here rather than by asking the resampler for a mono layout:
FFmpeg's stereo-to-mono matrix gives each channel a weight of 1/sqrt(2), so identical
channels come out 3 dB louder than they went in.

Every PyAV failure is translated at this boundary into an
:class:`~mouthpiece.errors.InputError` of one sentence that names the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import av
import numpy as np

from ..errors import InputError, TooLongError
from ..inputs import existing_file
from ..types import SAMPLE_RATE, Audio
from .resample import resample

BLOCK_SECONDS = 1.0  # s, length of the blocks :func:`stream` yields by default
LOAD_BLOCK_SECONDS = 30.0  # s, block length :func:`load` decodes in (fewer, larger copies)
# Float PCM may go a little over full scale (1.0); this far over it is garbage, not sound.
MAX_SAMPLE_DB = 60.0
MAX_SAMPLE = 10 ** (MAX_SAMPLE_DB / 20)
MAX_AUDIO_OFFSET = 600.0  # s between a video's first frame and its audio's start: more is a damaged timestamp

PathLike = str | os.PathLike[str]


def load(path: PathLike, *, sample_rate: int = SAMPLE_RATE, max_seconds: float | None = None) -> Audio:
    """Decode the audio track of a file to mono float32 at ``sample_rate``.

    Parameters
    ----------
    path : str or os.PathLike
        Any file FFmpeg reads: WAV (integer or float PCM), FLAC, MP3, OGG (Vorbis,
        Opus), M4A/AAC, or a video container (MP4, MOV, MKV, WebM) with an audio track.
    sample_rate : int > 0, Hz
        Rate of the returned samples.
    max_seconds : float > 0 or None, s
        The longest audio accepted: decoding stops with an InputError as soon as it
        passes this (a few kilobytes of FLAC can hold hours of silence).

    Returns
    -------
    Audio
        ``samples`` [shape=(n,), dtype=float32], channels averaged; lossy formats may
        come back a few milliseconds longer than they were encoded (encoder padding).

    Raises
    ------
    InputError
        The file is missing, a directory, not media, has no audio track, is corrupt
        or truncated mid-stream, holds no samples, or is longer than ``max_seconds``.
    """
    blocks = list(stream(path, sample_rate=sample_rate, block_seconds=LOAD_BLOCK_SECONDS, max_seconds=max_seconds))
    return Audio(np.concatenate(blocks), sample_rate)


def stream(
    path: PathLike,
    *,
    sample_rate: int = SAMPLE_RATE,
    block_seconds: float = BLOCK_SECONDS,
    max_seconds: float | None = None,
) -> Iterator[np.ndarray]:
    """Decode a file incrementally into fixed-length mono blocks.

    The path and options are checked when this is called; the file is opened and
    decoded as the blocks are consumed, so memory does not grow with its length.

    Parameters
    ----------
    path : str or os.PathLike
        Any file :func:`load` accepts.
    sample_rate : int > 0, Hz
        Rate of the yielded samples.
    block_seconds : float > 0, s
        Length of each block; the last one is shorter (never empty).
    max_seconds : float > 0 or None, s
        As :func:`load`.

    Yields
    ------
    block : np.ndarray [shape=(round(block_seconds * sample_rate),), dtype=float32]

    Raises
    ------
    InputError
        As :func:`load`; a problem found while decoding is raised from the iteration.
    """
    name = os.fspath(path)
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise InputError(f"Sample rate must be a positive integer, got {sample_rate!r}.")
    if not (np.isfinite(block_seconds) and block_seconds > 0):
        raise InputError(f"Block length must be a positive number of seconds, got {block_seconds}.")
    if max_seconds is not None and not (np.isfinite(max_seconds) and max_seconds > 0):
        raise InputError(f"The longest audio accepted must be a positive number of seconds, got {max_seconds}.")
    existing_file(name, kind="audio")
    block_length = max(1, round(block_seconds * sample_rate))
    return _blocks(name, int(sample_rate), block_length, max_seconds)


def _blocks(name: str, sample_rate: int, block_length: int, max_seconds: float | None) -> Iterator[np.ndarray]:
    """Cut the decoded chunks of ``name`` into blocks of ``block_length`` samples."""
    block = np.empty(block_length, dtype=np.float32)
    filled = 0
    total = 0
    most = np.inf if max_seconds is None else max_seconds * sample_rate
    for chunk in _decode(name, sample_rate):
        peak = float(np.abs(chunk).max()) if len(chunk) else 0.0  # one pass: NaN and infinity carry through max
        if not np.isfinite(peak):  # float PCM holds any bit pattern
            raise InputError(f"'{name}' is corrupt: some of its samples are NaN or infinite.")
        if peak > MAX_SAMPLE:
            raise InputError(f"'{name}' is corrupt: some of its samples lie {MAX_SAMPLE_DB:.0f} dB over full scale.")
        total += len(chunk)
        if total > most:
            raise TooLongError(f"'{name}' holds more than {max_seconds:g} s of audio, the longest accepted here.")
        while len(chunk):
            take = min(block_length - filled, len(chunk))
            block[filled : filled + take] = chunk[:take]
            filled += take
            chunk = chunk[take:]
            if filled == block_length:
                yield block
                block = np.empty(block_length, dtype=np.float32)
                filled = 0
    if total == 0:
        raise InputError(f"'{name}' contains no audio samples.")
    if filled:
        yield block[:filled].copy()


def _decode(name: str, sample_rate: int) -> Iterator[np.ndarray]:
    """Yield the audio of ``name`` as mono float32 chunks of any length at ``sample_rate``."""
    # Tags in a legacy 8-bit encoding must not make a playable file unreadable.
    try:
        container = av.open(name, metadata_errors="replace")
    except av.FFmpegError as e:
        raise _open_error(name, e) from e
    with container:
        audio_stream = container.streams.best("audio")
        if not isinstance(audio_stream, av.AudioStream):  # None: no audio track
            if container.format.name == "tty":  # FFmpeg's fallback demuxer for text files
                raise InputError(f"'{name}' is not an audio file: it is text.")
            raise InputError(f"'{name}' has no audio track.")
        resampler = av.AudioResampler(format="flt", rate=sample_rate)
        setup = None
        decoded = 0  # samples at sample_rate, for the error message
        video_start = _video_start(container)
        to_drop = 0  # samples before the first video frame
        try:
            for packet in container.demux(audio_stream):
                for frame in audio_stream.decode(packet):
                    if video_start is not None:
                        offset = 0.0 if frame.time is None else frame.time - video_start
                        if abs(offset) > MAX_AUDIO_OFFSET:
                            raise InputError(
                                f"'{name}' is damaged: its audio starts {offset:+.0f} s from its first video frame."
                            )
                        yield from _silence(round(max(offset, 0.0) * sample_rate), sample_rate)
                        to_drop = round(max(-offset, 0.0) * sample_rate)
                        video_start = None
                    # A resampler is tied to its first frame's format: start a new one when
                    # the stream changes format, layout or rate (chained OGG, broadcast TS).
                    frame_setup = (frame.format.name, frame.layout.name, frame.sample_rate)
                    if frame_setup != setup:
                        yield from _mono(resampler.resample(None))
                        resampler = av.AudioResampler(format="flt", rate=sample_rate)
                        setup = frame_setup
                    for chunk in _mono(resampler.resample(frame)):
                        decoded += len(chunk)
                        if to_drop:
                            dropped = min(to_drop, len(chunk))
                            chunk, to_drop = chunk[dropped:], to_drop - dropped
                        yield chunk
            yield from _mono(resampler.resample(None))
        except av.FFmpegError as e:
            raise InputError(
                f"'{name}' is corrupt or truncated: decoding failed after "
                f"{decoded / sample_rate:.2f} s of audio ({_reason(e)})."
            ) from e


def _video_start(container: av.container.InputContainer) -> float | None:
    """Time of the first frame of the file's moving video on its clock, s; None without video."""
    for video in container.streams.video:
        if video.disposition & av.stream.Disposition.attached_pic:
            continue
        if video.start_time is None or video.time_base is None:
            return 0.0
        return float(video.start_time * video.time_base)
    return None


def _silence(length: int, sample_rate: int) -> Iterator[np.ndarray]:
    """``length`` zero samples in chunks of at most a second (an absurd offset meets ``max_seconds`` early)."""
    for start in range(0, length, sample_rate):
        yield np.zeros(min(sample_rate, length - start), dtype=np.float32)


def _mono(frames: list[av.AudioFrame]) -> Iterator[np.ndarray]:
    """Average the channels of packed float frames: [n, channels] -> [n].

    Packed, not planar: PyAV 18 crashes the process (a segfault) reading the planes of
    frames with eight or more channels (7.1 audio). The mean is taken in float64: float
    samples near float32's largest value would overflow to infinity."""
    for frame in frames:
        channels = len(frame.layout.channels)
        samples = np.frombuffer(memoryview(frame.planes[0]), np.float32, count=frame.samples * channels)
        if channels == 1:
            yield samples.copy()
            continue
        with np.errstate(invalid="ignore"):  # inf and -inf average to NaN, which _blocks refuses
            mono = samples.reshape(-1, channels).mean(axis=1, dtype=np.float64).astype(np.float32)
        yield mono


def _reason(e: av.FFmpegError) -> str:
    """FFmpeg's own words for an error, as a lower-case clause."""
    text = e.strerror or str(e)
    return text[:1].lower() + text[1:]


def _open_error(name: str, e: av.FFmpegError) -> InputError:
    if isinstance(e, PermissionError):
        return InputError(f"Cannot read '{name}': permission denied.")
    if isinstance(e, av.InvalidDataError):
        return InputError(f"'{name}' is not an audio file, or it is corrupt: {_reason(e)}.")
    return InputError(f"Cannot open '{name}': {_reason(e)}.")


def from_samples(samples: np.ndarray, *, sample_rate: int) -> Audio:
    """Make :class:`~mouthpiece.types.Audio` at 16 kHz from samples already in memory.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,) or (n, channels)]
        Float samples in [-1, 1], or integer PCM (scaled by its type's full scale).
        Channels are averaged.
    sample_rate : int > 0, Hz
        Rate of ``samples``.

    Returns
    -------
    Audio
        ``samples`` [shape=(m,), dtype=float32] with ``m = ceil(n * 16000 / sample_rate)``.

    Examples
    --------
    >>> from_samples(np.zeros((44_100, 2), dtype=np.int16), sample_rate=44_100).samples.shape
    (16000,)
    """
    x = np.asarray(samples)
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise InputError(f"Sample rate must be a positive integer, got {sample_rate!r}.")
    if x.ndim not in (1, 2) or x.shape[0] == 0 or x.size == 0:
        raise InputError(f"Audio samples must have shape (n,) or (n, channels), got {x.shape}.")
    if np.issubdtype(x.dtype, np.integer):
        half_scale = 2.0 ** (8 * x.dtype.itemsize - 1)
        offset = half_scale if np.issubdtype(x.dtype, np.unsignedinteger) else 0.0
        x = (x.astype(np.float64) - offset) / half_scale
    elif not np.issubdtype(x.dtype, np.floating):
        raise InputError(f"Audio samples must be floats or integers, got dtype {x.dtype}.")
    if x.ndim == 2:
        x = x.mean(axis=1)
    if not np.all(np.isfinite(x)):
        raise InputError("Audio samples contain NaN or infinity.")
    return Audio(resample(x, from_rate=int(sample_rate), to_rate=SAMPLE_RATE), SAMPLE_RATE)
