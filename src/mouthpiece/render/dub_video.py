"""A video dubbed with new speech (:func:`mouthpiece.api.dub_video`), in one pass.

1. Checks before any work: the fit (:mod:`.fit`), the original audio's level, an even
   frame size (H.264), the recognizer.
2. The speech's curves: with a transcript animated whole; without one a chunk at a time
   as recognition runs ahead (:class:`~.speech.SpeechInParts`).
3. The soundtrack: the new speech, padded or cut to the frames written, with the video's
   own soundtrack fitted under it at ``original_audio``.
4. Frame by frame: decoded (a thread ahead, :func:`~mouthpiece.prefetch.prefetch`) and
   fitted to the speech's length, the face tracked, the mouth re-posed
   (:func:`~.dub.dub_frames`) and the frame encoded, turned back to the video's rotation.

Imported only when dubbing: :mod:`.dub` brings SciPy's optimizer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from ..audio.resample import resample
from ..errors import InputError
from ..face.recorded import FaceTrack, ReplayedTracker, recall
from ..face.track import FaceTracker
from ..prefetch import prefetch
from ..timebase import frame_count
from ..types import Animation, Audio
from ..vocabulary import CHANNELS
from .dub import DubCount, dub_frames
from .fit import arrange_audio, check_fit, fitted_frames, fitted_order
from .reader import probe_video, read_frames
from .speech import SpeechInParts
from .video import VideoWriter

# Before dubbing, every FIRST_LOOK_STEP-th frame of the video's first FIRST_LOOK_SECONDS is
# tracked and its mouth kept in the dub's mouth bank, so that the first frames have the
# person's own mouths to draw on, not only those seen so far (a tenth of a 720p dub's time).
FIRST_LOOK_SECONDS = 5.0
FIRST_LOOK_STEP = 2
DUB_CRF = 12  # x264 quality of a dub: what it leaves alone stays over 40 dB from the source's decoded frames


def dub_video(
    video: str | os.PathLike[str],
    audio: Audio,
    path: str | os.PathLike[str],
    *,
    text: str | None,
    face: int | None,
    fit: str,
    original_audio: float,
    recognizer: str | None,
    language: str,
    progress: Callable[[float], None] | None,
    bank_exclusion: float = 0.0,
) -> tuple[Animation, DubCount]:
    """``video`` speaking ``audio`` instead, written to ``path``: the options and what is
    returned and raised are :func:`mouthpiece.api.dub_video`'s. ``bank_exclusion`` (seconds)
    keeps the mouth bank from the frames that near the frame dubbed (see
    :class:`~.mouth_bank.MouthBank`; only benchmarks that dub a video with its own speech set it)."""
    from .. import api  # the speech's Animation comes from the pipeline's own stages

    name = os.fspath(video)
    try:
        check_fit(fit)
    except ValueError as e:
        raise InputError(str(e)) from None
    if not 0.0 <= original_audio <= 1.0:
        raise InputError(f"The original audio's level must be between 0 and 1, got {original_audio!r}.")
    info = probe_video(name)
    if info.width % 2 or info.height % 2:
        raise InputError(
            f"'{name}' is {info.width}x{info.height} pixels, but H.264 video needs an even width and height: "
            "crop or scale it by a pixel first."
        )
    recognizer = api.hearing(recognizer, language)
    speech: SpeechInParts | None = None
    if text and text.strip():
        animation = api.animate(audio, text=text, fps=info.fps, language=language)
        parts: Iterable[tuple[int, Animation]] = [(0, animation)]
    else:
        parts = speech = SpeechInParts(audio, fps=info.fps, recognizer=recognizer)
    wanted = max(frame_count(audio.duration, fps=info.fps), 1)
    frames = min(wanted, info.frame_count) if fit == "cut" else max(wanted, info.frame_count)
    length = int(np.ceil((frames + 1) / info.fps * audio.sample_rate))  # the writer cuts it at the last frame
    sound = np.zeros(length, np.float32)
    sound[: min(length, len(audio.samples))] = audio.samples[:length]
    if original_audio > 0 and info.has_audio:
        own = api.load_audio(name)
        own_samples = resample(own.samples, from_rate=own.sample_rate, to_rate=audio.sample_rate)
        sound += original_audio * arrange_audio(own_samples, length, fit=fit)
        sound /= max(1.0, float(np.abs(sound).max()))
    count = DubCount()
    exclude = int(round(bank_exclusion * info.fps))
    width, height = info.width, info.height
    track = recall(name, face)  # the style fit's track of this face, if it made one
    turn = info.rotation // 90
    with (
        VideoWriter(path, width=width, height=height, fps=info.fps, audio=Audio(sound, audio.sample_rate),
                    crf=DUB_CRF, matrix=info.matrix, rotation=info.rotation, audio_past_frames=False) as writer,
        _tracker(track, face=face, fps=info.fps, wanted=wanted, fit=fit) as tracker,
    ):  # fmt: skip
        ahead = _first_look(name, fps=info.fps, face=face, track=track)
        source = prefetch(fitted_frames(name, fps=info.fps, wanted=wanted, fit=fit), name="mouthpiece-decode")
        openings = None if track is None else track.openings()
        dubbed = dub_frames(
            source, parts, tracker, count, channels=CHANNELS, exclude=exclude, ahead=ahead, openings=openings
        )
        for k, frame in enumerate(dubbed):
            writer.write(np.ascontiguousarray(np.rot90(frame, -turn)) if turn else frame)
            if progress and k % 25 == 0:
                progress(min(k / frames, 1.0))
        if count.faceless == count.frames:
            raise tracker.missing_face_error(name)
    if progress:
        progress(1.0)
    return (animation if speech is None else speech.animation()), count


def _tracker(track: FaceTrack | None, *, face: int | None, fps: float, wanted: int, fit: str) -> FaceTracker:
    """The dub's face tracker: replaying ``track``, the one the style fit recorded of this video
    if it did (:mod:`~mouthpiece.face.recorded`), in the order the fit plays the frames."""
    if track is None:
        return FaceTracker(index=face, fps=fps)
    return ReplayedTracker(track, fitted_order(len(track.landmarks), wanted=wanted, fit=fit), fps=fps)


def _first_look(
    name: str, *, fps: float, face: int | None, track: FaceTrack | None
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(index, frame, landmarks)`` of every ``FIRST_LOOK_STEP``-th frame of the video's first
    ``FIRST_LOOK_SECONDS`` that shows the face (its landmarks from ``track`` where there is one)."""
    step = FIRST_LOOK_STEP
    stop = int(round(FIRST_LOOK_SECONDS * fps))
    with (
        FaceTracker(index=face, fps=fps / step) if track is None
        else ReplayedTracker(track, range(0, stop, step), fps=fps / step) as tracker,
    ):  # fmt: skip
        for index, frame in enumerate(read_frames(name, fps=fps, stop=stop)):
            if index % step == 0 and (landmarks := tracker(frame)) is not None:
                yield index, frame, landmarks
