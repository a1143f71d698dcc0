"""A talking portrait made from speech (:func:`mouthpiece.api.render_video` and
:func:`~mouthpiece.api.render_speech`): the frames rendered and encoded as they come.

- :func:`write_video`: an Animation's frames (:func:`~.portrait.render_frames`) streamed
  into a :class:`~.video.VideoWriter` with the speech.
- :func:`render_in_parts`: speech without a transcript. Recognition runs ahead in another
  process on chunks cut at pauses (:class:`SpeechInParts`) while the frames of the chunks
  already heard get the face's life and emotion, are rendered and encoded.

:class:`SpeechInParts` also feeds a dub (:mod:`mouthpiece.render.dub_video`) its speech a
chunk at a time. :mod:`.video` (PyAV's encoder) is imported only when a video is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np

from .. import motion, phonetics
from ..phonetics.ahead import recognized_ahead
from ..timebase import frame_count, frames_to_time
from ..types import Animation, Audio, Phone, PhoneTrack, Word
from ..vocabulary import ARKIT_BLENDSHAPES, CHANNELS
from .mouth import raised_tongue
from .portrait import FrameRenderer, Portrait, render_frames

PIPELINE_CHUNK_SECONDS = 10.0  # s, chunks recognized ahead of rendering (shorter starts sooner)


def write_video(
    portrait: Portrait,
    animation: Animation,
    path: str | os.PathLike[str],
    *,
    audio: Audio | None,
    progress: Callable[[float], None] | None,
) -> None:
    """The talking portrait of ``animation`` written to ``path`` with ``audio``, a frame at a time."""
    from .video import VideoWriter

    width, height = portrait.size
    total = max(animation.frame_count, 1)
    with VideoWriter(path, width=width, height=height, fps=animation.fps, audio=audio) as video:
        for k, frame in enumerate(render_frames(portrait, animation)):
            video.write(frame)
            if progress and k % 25 == 0:
                progress(k / total)
    if progress:
        progress(1.0)


def render_in_parts(
    portrait: Portrait,
    audio: Audio,
    path: str | os.PathLike[str],
    *,
    fps: float,
    recognizer: str,
    idle: bool,
    seed: int,
    emotion: str,
    intensity: float,
    progress: Callable[[float], None] | None,
) -> Animation:
    """The talking portrait of ``audio`` written to ``path`` while its speech is recognized
    (with ``recognizer``, already checked) a chunk at a time; returns the Animation that drove it.

    The life (blinks, gaze, head motion: :func:`motion.add_idle`, unless ``idle`` is off)
    is made for the whole speech first; each part's speech curves are added to it and the
    emotion applied before its frames are rendered."""
    from .video import VideoWriter

    total = frame_count(audio.duration, fps=fps)
    life = np.zeros((total, len(CHANNELS)), np.float32)
    if idle:
        life = motion.add_idle(Animation(fps=fps, values=life), audio, seed=seed).values
    speech = SpeechInParts(audio, fps=fps, recognizer=recognizer)
    width, height = portrait.size
    with (
        VideoWriter(path, width=width, height=height, fps=fps, audio=audio) as video,
        FrameRenderer(portrait, channels=CHANNELS) as render,
    ):
        for first, part in speech:
            last = first + part.frame_count
            values = part.values + life[first:last]
            values[:, : len(ARKIT_BLENDSHAPES)] = np.clip(values[:, : len(ARKIT_BLENDSHAPES)], 0.0, 1.0)
            part = motion.apply_emotion(replace(part, values=values), emotion, intensity)
            speech.parts[-1] = part
            for frame in render(part.values, raised_tongue(part.viseme_weights, part.frame_count)):
                video.write(frame)
            if progress:
                progress(last / max(total, 1))
    return speech.animation()


class SpeechInParts:
    """The speech curves of ``audio``, a chunk at a time, as recognition runs ahead in another
    process on chunks cut at pauses (:func:`~mouthpiece.phonetics.ahead.recognized_ahead`):
    iterate for ``(first frame, part)``; :meth:`animation` joins the parts (as changed in
    :attr:`parts`) once they are all heard."""

    def __init__(self, audio: Audio, *, fps: float, recognizer: str):
        self.audio, self.fps, self.recognizer = audio, fps, recognizer
        self.heard = motion.heard(audio.samples)  # once for all the parts: the running mean runs on
        self.parts: list[Animation] = []
        self._phones: list[Phone] = []
        self._words: list[Word] = []

    def __iter__(self) -> Iterator[tuple[int, Animation]]:
        audio, fps = self.audio, self.fps
        total = frame_count(audio.duration, fps=fps)
        first = 0  # the next frame
        chunks = recognized_ahead(audio, recognizer=self.recognizer, chunk_seconds=PIPELINE_CHUNK_SECONDS)
        for offset, chunk, heard in chunks:
            self._phones.extend(p._replace(start=p.start + offset, end=p.end + offset) for p in heard.phones)
            self._words.extend(w._replace(start=w.start + offset, end=w.end + offset) for w in heard.words)
            end = offset + chunk.duration
            last = total if end >= audio.duration - 1e-9 else frame_count(end, fps=fps)
            self.parts.append(_animate_frames(audio, self.heard, heard, offset, first, last, fps=fps))
            yield first, self.parts[-1]
            first = last

    def animation(self) -> Animation:
        track = PhoneTrack(phonetics.tidy(self._phones, self.audio.duration).phones, self.audio.duration,
                           tuple(self._words))  # fmt: skip
        parts = self.parts
        weights = [p.viseme_weights for p in parts if p.viseme_weights is not None]
        return Animation(
            fps=self.fps,
            values=np.concatenate([p.values for p in parts]) if parts else np.zeros((0, len(CHANNELS))),
            phones=track,
            visemes=motion.to_visemes(track),
            cues=motion.to_cues(track),
            viseme_weights=np.concatenate(weights) if len(weights) == len(parts) and parts else None,
        )


def _animate_frames(
    audio: Audio, sound: np.ndarray, heard: PhoneTrack, offset: float, first: int, last: int, *, fps: float
) -> Animation:
    """The speech curves of animation frames ``first`` to ``last`` (exclusive) from the phones
    heard in the chunk starting at ``offset`` seconds (which covers those frames' times) and
    the whole speech's :func:`motion.heard` frames ``sound``."""
    from .. import api  # the speech's Animation comes from the pipeline's own stage

    start = float(frames_to_time(first, fps=fps))
    end = max(float(frames_to_time(last, fps=fps)), start + 1.0 / fps)
    shift = offset - start
    local = [p._replace(start=p.start + shift, end=p.end + shift) for p in heard.phones]
    track = phonetics.tidy(local, end - start)
    window = Audio(audio.samples[int(round(start * audio.sample_rate)) : int(round(end * audio.sample_rate))],
                   audio.sample_rate)  # fmt: skip
    rows = sound[int(round(start * api.ANALYSIS_FPS)) : int(round(end * api.ANALYSIS_FPS))]
    part = api.to_animation(track, audio=window if len(window.samples) else None, fps=fps, heard=rows)
    count = last - first
    values = part.values[:count]
    weights = None if part.viseme_weights is None else part.viseme_weights[:count]
    if len(values) < count:  # rounding at the very end
        values = np.concatenate([values, np.repeat(values[-1:], count - len(values), axis=0)])
        weights = (
            None if weights is None else np.concatenate([weights, np.repeat(weights[-1:], count - len(weights), 0)])
        )
    return Animation(fps=fps, values=values, viseme_weights=weights)
