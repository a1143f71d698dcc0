"""Stream RGB frames and a speech track into an H.264/AAC video file, all or nothing.

:class:`VideoWriter` encodes each frame as it is written (libx264, yuv420p, BT.709)
and, after frame ``k``, the audio up to time ``(k + 1) / fps`` (AAC), so the muxer
interleaves the two as it goes and memory does not grow with the video's length. When
the ``with`` block ends the rest of the audio (all of it, even past the last frame) and
both encoders are flushed; the file goes through :func:`~mouthpiece.atomic.atomic_output`,
so a failure leaves nothing at the path and an existing file untouched.

Timing: the video time base is ``1 / fps`` with ``fps`` as an exact fraction, so frame
``k`` is shown at exactly ``k / fps`` seconds, the first at 0.
"""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction
from types import TracebackType

import av
import numpy as np

from ..atomic import atomic_output
from ..audio.resample import resample
from ..cpus import usable_cpus
from ..errors import InputError
from ..types import Audio
from .colour import MATRICES, rgb_to_i420

EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv")  # containers that take H.264 with AAC
FAST_START = {"movflags": "+faststart"}  # MP4/MOV: index first, so playback starts before the download ends
FAST_PRESET_PIXELS = 1280 * 720  # frames larger than this encode with a faster default preset
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
AAC_RATES = (8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 64_000, 88_200, 96_000)  # Hz
AAC_FALLBACK_RATE = 48_000  # Hz, what audio at a rate not in AAC_RATES is resampled to
AUDIO_BIT_RATE = 64_000  # bit/s, plenty for mono speech in AAC-LC
MAX_FPS_DENOMINATOR = 1001  # fps is taken as the nearest fraction with this denominator at most (30000/1001)
BT709 = 1  # AVCOL_SPC / AVCOL_PRI / AVCOL_TRC value of ITU-R BT.709, the HD video colours
MPEG_RANGE = 1  # AVCOL_RANGE_MPEG: luma 16-235, what players expect of H.264
MAX_THREADS = 16  # x264 frame threads; more add delay and frames held in memory at portrait sizes


class VideoWriter:
    """Write RGB frames, one at a time, with an optional speech track, to an MP4.

    Use it as a context manager; the file appears at ``path`` only when the ``with``
    block ends without an exception.

    Parameters
    ----------
    path : str or os.PathLike
        The video file, created or replaced: ``.mp4``, ``.m4v``, ``.mov`` or ``.mkv``.
    width, height : int > 0, even, pixels
        Frame size (yuv420p halves the chroma, so both must be even).
    fps : float in [1, 240]
        Frames per second; taken as a fraction with a denominator of at most 1001,
        so 30000/1001 (29.97...) stays exact.
    audio : Audio or None
        The soundtrack, from time 0. Encoded at its own rate when AAC has that rate
        (16 kHz does), else resampled to 48 kHz. None, or no samples: no audio track.
    crf : int in [0, 51]
        x264 constant rate factor: lower is better and larger; 18-23 looks good.
    preset : str or None
        x264 speed preset, ``"ultrafast"`` to ``"veryslow"``; None picks ``"veryfast"``,
        or ``"superfast"`` above ``FAST_PRESET_PIXELS`` per frame (1080p encodes about a
        sixth faster, so a talking head renders in real time on two cores).
    matrix : str
        ``"bt709"`` (the default: HD colours, and said so in the file) or ``"bt601"`` (SD
        colours, and the file leaves its colours unsaid, as a dubbed source that did not
        say them)
    rotation : int, a multiple of 90
        Degrees the frames are turned counter-clockwise for display (a phone video's
        display matrix, which players apply): the frames are written as they are.
    audio_past_frames : bool
        Whether the soundtrack goes on after the last frame; False cuts it there.

    Raises
    ------
    InputError
        An option is out of range, or (on entering) the file cannot be created.

    Examples
    --------
    >>> with VideoWriter("out.mp4", width=512, height=512, fps=25, audio=audio) as video:  # doctest: +SKIP
    ...     for frame in frames:  # uint8 [shape=(512, 512, 3)]
    ...         video.write(frame)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        width: int,
        height: int,
        fps: float,
        audio: Audio | None = None,
        crf: int = 20,
        preset: str | None = None,
        matrix: str = "bt709",
        rotation: int = 0,
        audio_past_frames: bool = True,
    ) -> None:
        self.path = os.fspath(path)
        if os.path.splitext(self.path)[1].lower() not in EXTENSIONS:
            raise InputError(f"Cannot write video to '{self.path}': use {', '.join(EXTENSIONS)}.")
        for name, value in (("width", width), ("height", height)):
            if not isinstance(value, (int, np.integer)) or value <= 0 or value % 2:
                raise InputError(f"Video {name} must be a positive even number of pixels, got {value!r}.")
        if not (isinstance(fps, (int, float, np.number)) and np.isfinite(fps) and 1 <= fps <= 240):
            raise InputError(f"Video fps must be between 1 and 240, got {fps!r}.")
        if not isinstance(crf, (int, np.integer)) or not 0 <= crf <= 51:
            raise InputError(f"Video crf must be an integer from 0 to 51, got {crf!r}.")
        if preset is None:
            preset = "superfast" if width * height > FAST_PRESET_PIXELS else "veryfast"
        if preset not in PRESETS:
            raise InputError(f"Unknown x264 preset {preset!r}; expected one of {', '.join(PRESETS)}.")
        if audio is not None and not isinstance(audio, Audio):
            raise InputError(f"Video audio must be a mouthpiece Audio, got {type(audio).__name__}.")
        self.width, self.height = int(width), int(height)
        self.fps = Fraction(float(fps)).limit_denominator(MAX_FPS_DENOMINATOR)
        if matrix not in MATRICES:
            raise InputError(f"Unknown colour matrix {matrix!r}; expected one of {', '.join(MATRICES)}.")
        self.matrix = matrix
        if rotation % 90:
            raise InputError(f"Video rotation must be a multiple of 90 degrees, got {rotation!r}.")
        self.crf, self.preset = int(crf), preset
        self.rotation = int(rotation) % 360
        self.audio_past_frames = audio_past_frames
        self._samples: np.ndarray | None = None
        self._sample_rate = 0
        if audio is not None and len(audio.samples):
            rate = audio.sample_rate if audio.sample_rate in AAC_RATES else AAC_FALLBACK_RATE
            self._samples = resample(audio.samples, from_rate=int(audio.sample_rate), to_rate=rate)
            self._sample_rate = rate
        self._frames = 0
        self._samples_sent = 0
        self._exit: contextlib.ExitStack | None = None
        self._container: av.container.OutputContainer | None = None
        self._video: av.VideoStream | None = None
        self._audio: av.AudioStream | None = None

    @property
    def frames_written(self) -> int:
        """How many frames :meth:`write` has taken so far."""
        return self._frames

    def __enter__(self) -> VideoWriter:
        if self._exit is not None or self._frames:
            raise InputError(f"Video file '{self.path}' is already being written; a VideoWriter is used once.")
        with contextlib.ExitStack() as stack:
            temp = stack.enter_context(atomic_output(self.path, what="video file"))
            options = FAST_START if self.path.lower().endswith((".mp4", ".m4v", ".mov")) else {}
            container = av.open(temp, "w", container_options=options)
            stack.callback(self._discard)
            self._container = container
            self._video = self._add_video(container)
            if self._samples is not None:
                self._audio = self._add_audio(container)
            self._exit = stack.pop_all()
        return self

    def _add_video(self, container: av.container.OutputContainer) -> av.VideoStream:
        stream = container.add_stream("libx264", rate=self.fps, options={"crf": str(self.crf), "preset": self.preset})
        context = stream.codec_context
        context.width, context.height, context.pix_fmt = self.width, self.height, "yuv420p"
        context.time_base = 1 / self.fps
        if self.matrix == "bt709":
            context.colorspace = context.color_primaries = context.color_trc = BT709
        context.color_range = MPEG_RANGE
        # Frame threads, one per CPU: on 2 cores, 2 gave 230 frames/s at 512x512 where
        # x264's auto (1.5 per CPU: 3) gave 200 and FFmpeg's default, sliced threads, 170.
        context.thread_type = "FRAME"
        context.thread_count = min(usable_cpus(), MAX_THREADS)
        if self.rotation:
            stream.set_display_rotation(self.rotation)
        return stream

    def _add_audio(self, container: av.container.OutputContainer) -> av.AudioStream:
        stream = container.add_stream("aac", rate=self._sample_rate, layout="mono")
        stream.codec_context.bit_rate = AUDIO_BIT_RATE
        return stream

    def write(self, frame: np.ndarray) -> None:
        """Encode the next frame, shown from ``frames_written / fps`` seconds.

        Parameters
        ----------
        frame : np.ndarray [shape=(height, width, 3), dtype=uint8]
            RGB pixels.

        Raises
        ------
        InputError
            The frame has the wrong shape or type, or the writer is not open.
        """
        if self._container is None or self._video is None:
            raise InputError(f"Video file '{self.path}' is not open: write frames inside its with block.")
        shape = (self.height, self.width, 3)
        if not isinstance(frame, np.ndarray) or frame.shape != shape or frame.dtype != np.uint8:
            got = f"{frame.shape} {frame.dtype}" if isinstance(frame, np.ndarray) else type(frame).__name__
            raise InputError(
                f"Frame {self._frames} for '{self.path}' must be a uint8 RGB array of shape {shape}, got {got}."
            )
        picture = av.VideoFrame.from_ndarray(rgb_to_i420(frame, self.matrix), format="yuv420p")
        picture.pts = self._frames
        picture.time_base = self._video.codec_context.time_base
        self._container.mux(self._video.encode(picture))
        self._frames += 1
        self._send_audio(self._frames / self.fps)

    def _send_audio(self, until: Fraction | None) -> None:
        """Encode and mux the audio up to ``until`` seconds (None: all of it)."""
        if self._audio is None or self._samples is None or self._container is None:
            return
        total = len(self._samples)
        end = total if until is None else min(total, int(until * self._sample_rate))
        if end <= self._samples_sent:
            return
        chunk = self._samples[None, self._samples_sent : end]
        sound = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
        sound.sample_rate = self._sample_rate
        sound.pts = self._samples_sent
        sound.time_base = Fraction(1, self._sample_rate)
        self._container.mux(self._audio.encode(sound))
        self._samples_sent = end

    def _finish(self) -> None:
        """The rest of the audio, both encoders' delayed packets, the file's index."""
        container, video = self._container, self._video
        if container is None or video is None:
            return
        self._send_audio(None if self.audio_past_frames else self._frames / self.fps)
        if self._audio is not None:
            container.mux(self._audio.encode(None))
        container.mux(video.encode(None))
        self._container = None
        container.close()

    def _discard(self) -> None:
        """Close the container after a failure; its file is removed, so its errors do not matter."""
        container, self._container = self._container, None
        if container is not None:
            with contextlib.suppress(av.FFmpegError, OSError):
                container.close()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> bool:
        stack, self._exit = self._exit, None
        if stack is None:
            return False
        if exc_type is None:
            try:
                self._finish()
            except BaseException as e:
                if not stack.__exit__(type(e), e, e.__traceback__):
                    raise
                return False
        return bool(stack.__exit__(exc_type, exc, traceback))
