"""The public Python API: the pipeline's stages called in order, nothing else.

    audio = load_audio("line.wav")                    # audio/
    phones = to_phones(audio, text="Hello there.")    # phonetics/
    animation = to_animation(phones, audio=audio)     # motion/
    export_file(animation, "line.tsv")                # export/

or in one call, ``animate_file("line.wav", text=...)``, which streams long files in
bounded memory; ``say("Hello there.")`` starts from text instead.

A 3D avatar (glTF, GLB, VRM) takes the Animation as a glTF animation:

    report = animate_onto(animation, "avatar.vrm", "talking.vrm")                     # avatar/

or a head made from a photo takes it:

    write_head(head_mesh("face.jpg"), "head.glb", animation=animation)               # face/, render/

A talking portrait adds the face's life and a photo:

    animation = add_life(animation, audio, seed=0, emotion="happy", intensity=0.5)   # motion/
    portrait = load_portrait("face.jpg", size=(512, 512))                             # face/, render/
    render_video(portrait, animation, "talking.mp4", audio=audio)                      # render/

The longer calls hand their orchestration to one module each: ``animate_file``'s streaming
to :mod:`mouthpiece.animating`, ``render_video`` and ``render_speech`` to
:mod:`mouthpiece.render.speech`, ``dub_video`` to :mod:`mouthpiece.render.dub_video` and the
measures (``evaluate_sync`` and the others, re-exported here) to :mod:`mouthpiece.evaluate.run`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from . import audio as audio_stage
from . import export as export_stage
from . import motion, phonetics
from .animating import animate_stream
from .errors import InputError
from .evaluate.run import evaluate_cues as evaluate_cues  # the measures: see mouthpiece.evaluate.run
from .evaluate.run import evaluate_motion as evaluate_motion
from .evaluate.run import evaluate_preserve as evaluate_preserve
from .evaluate.run import evaluate_sync as evaluate_sync
from .motion.emotion import check_emotion
from .phonetics import DEFAULT_LANGUAGE
from .render.portrait import Portrait, frame_portrait
from .render.speech import render_in_parts, write_video
from .timebase import frame_count, frames_to_time
from .types import Animation, Audio, PhoneTrack

if TYPE_CHECKING:
    from .avatar import Avatar, AvatarReport
    from .motion.opening import OpeningModel
    from .render.dub import DubCount  # imported when dubbing: it brings SciPy's optimizer
    from .render.mesh import HeadMesh

Progress = Callable[[float], None]  # called with the fraction of the work done, 0..1
ANALYSIS_FPS = 100.0  # frames/s at which loudness is measured before resampling to the animation
DEFAULT_SIZE = (512, 512)  # pixels, a talking portrait's (width, height)
VIDEO_FPS = 25.0
DEFAULT_INTENSITY = 0.6  # of an emotion, 0-1
SAMPLE_PORTRAIT = str(resources.files("mouthpiece") / "data" / "astronaut.png")  # public domain: data/astronaut.md
STYLE_RECOGNIZER = "neural"  # hears the speech a style is fitted on (see fit_style)


def load_audio(path: str | os.PathLike[str], *, max_seconds: float | None = None) -> Audio:
    """Decode any audio or video file to 16 kHz mono (see :func:`mouthpiece.audio.load`);
    TooLongError as soon as it passes ``max_seconds``."""
    return audio_stage.load(path, max_seconds=max_seconds)


def to_phones(
    audio: Audio, *, text: str | None = None, recognizer: str | None = None, language: str = DEFAULT_LANGUAGE
) -> PhoneTrack:
    """Timed phones: aligned to ``text`` when given, else recognized (``recognizer``: see
    ``phonetics.RECOGNIZERS``; by default the best for ``language``, any espeak-ng language)."""
    recognizer = hearing(recognizer, language)
    if text and text.strip():
        return phonetics.align_text(audio, text, language=language)
    return phonetics.recognize(audio, recognizer=recognizer)


def languages() -> list[tuple[str, str]]:
    """``(code, name)`` of every language ``language=`` takes (espeak-ng's)."""
    return phonetics.languages()


def hearing(recognizer: str | None, language: str) -> str:
    """The recognizer to use: ``recognizer``, or the best for ``language``; InputError for an
    unknown name or language, before any work."""
    name = recognizer or phonetics.default_recognizer(phonetics.check_language(language))
    phonetics.recognizer_named(name)
    return name


def to_animation(
    phones: PhoneTrack,
    *,
    audio: Audio | None = None,
    fps: float = motion.DEFAULT_FPS,
    loudness_db: np.ndarray | None = None,
    heard: np.ndarray | None = None,
) -> Animation:
    """The Animation of a phone track. ``audio`` (or its ``loudness_db`` and the frames
    :func:`motion.heard` makes of it, both at 100 Hz) scales the jaw and shapes its opening."""
    _check_fps(fps)
    if loudness_db is None and audio is not None:
        loudness_db = audio_stage.loudness(audio, fps=ANALYSIS_FPS)
    if heard is None and audio is not None:
        heard = motion.heard(audio.samples)
    level = None if loudness_db is None else resampled_track(loudness_db, ANALYSIS_FPS, fps, phones.duration)
    animation = motion.animate(phones, fps=fps, loudness_db=level)
    return animation if heard is None else motion.shape_jaw(animation, heard)


def animate(
    audio: Audio,
    *,
    text: str | None = None,
    fps: float = motion.DEFAULT_FPS,
    recognizer: str | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> Animation:
    """Speech in ``language`` (and optionally its transcript) to an Animation."""
    _check_fps(fps)
    phones = to_phones(audio, text=text, recognizer=recognizer, language=language)
    return to_animation(phones, audio=audio, fps=fps)


def fit_style(
    videos: Iterable[str | os.PathLike[str]],
    *,
    language: str = DEFAULT_LANGUAGE,
    recognizer: str | None = None,
    face: int | None = None,
    progress: Progress | None = None,
) -> OpeningModel:
    """A person's style (:mod:`mouthpiece.motion.style`) from ``videos`` of them speaking
    in ``language``: per video its speech is recognized and its mouth followed in every frame
    (the largest face's, or the ``face``-th from the left).

    The speech is heard by ``recognizer``, by default the learned front end
    (``STYLE_RECOGNIZER``) in every language: on the English real clips of one speaker a
    style fitted on its phones raised the default path as much as one fitted on the word
    recognizer's (held-out clip r0 0.462 -> 0.573 against 0.575) at a twentieth of the
    hearing's cost, which a dub pays before its first frame."""
    from .face.seen import seen_mouth
    from .motion.opening import FEATURE_RATE, model
    from .motion.style import fit_style as fit
    from .motion.style import footage_example
    from .phonetics.ahead import Recognition

    base, examples = model(), []
    names = [os.fspath(v) for v in videos]
    heard_by = hearing(recognizer or STYLE_RECOGNIZER, language)
    for i, name in enumerate(names):
        speech = load_audio(name)
        with Recognition(speech, recognizer=heard_by) as recognition:  # heard while the face is followed
            seen = seen_mouth(name, face=face)
            phones = recognition.phones()
        loudness = audio_stage.loudness(speech, fps=ANALYSIS_FPS)
        unfiltered = to_animation(phones, fps=FEATURE_RATE, loudness_db=loudness)  # no heard frames: no filter
        examples.append(footage_example(name, speech, unfiltered, seen.times, seen.opening, base))
        if progress is not None:
            progress((i + 1) / len(names))
    return fit(examples, base)


def dub_style(
    video: str | os.PathLike[str],
    chosen: str | None = None,
    *,
    language: str = DEFAULT_LANGUAGE,
    recognizer: str | None = None,
    face: int | None = None,
    speech: Audio | None = None,
) -> tuple[OpeningModel | None, str | None]:
    """The style a dub of ``video`` runs in, and a note when it is not the one chosen.

    ``chosen``: None or ``"own"`` the person's own, fitted on ``video`` (the default of
    ``dub``) to the face the dub takes (``face``, as :func:`dub_video`'s; fitting follows it
    through every frame, and a dub of the same video that follows comes back to that track
    instead of following the face again); ``"generic"`` none (the filter fitted on many speakers: returns None); else a
    style file. The own style falls back to the generic one, with the reason as the note,
    when it cannot be fitted: no soundtrack, no face, too little of it. Raises InputError
    for a video or style file that cannot be read.

    ``speech``: the new speech of a dub without a transcript that follows; its recognition
    starts at once and runs while the style is fitted (the dub takes it over)."""
    from .motion.style import load_style
    from .phonetics.ahead import start_early
    from .render.reader import probe_video
    from .render.speech import PIPELINE_CHUNK_SECONDS

    if speech is not None:
        start_early(speech, recognizer=hearing(recognizer, language), chunk_seconds=PIPELINE_CHUNK_SECONDS)
    if chosen == "generic":
        return None, None
    if chosen not in (None, "own"):
        return load_style(chosen), None
    if not probe_video(video).has_audio:
        return None, "the video has no soundtrack to fit its own style to; the generic style was used"
    try:
        return fit_style([video], language=language, recognizer=recognizer, face=face), None
    except InputError as e:  # no face, or too little of it: the dub says so if it cannot go on either
        return None, f"the video's own style could not be fitted ({e}); the generic style was used"


def animate_file(
    path: str | os.PathLike[str],
    *,
    text: str | None = None,
    fps: float = motion.DEFAULT_FPS,
    recognizer: str | None = None,
    language: str = DEFAULT_LANGUAGE,
    progress: Progress | None = None,
    max_seconds: float | None = None,
) -> Animation:
    """A file's speech (in ``language``) to an Animation; TooLongError as soon as the file
    passes ``max_seconds``.

    Without a transcript the file is decoded and recognized in chunks cut at pauses,
    so an hour of audio takes the memory of a few seconds of it (plus the result).
    With a transcript the file is loaded whole (its alignment works in chunks past 90 s).
    """
    _check_fps(fps)
    recognizer = hearing(recognizer, language)  # an unknown name fails before any decoding
    if text and text.strip():
        audio = load_audio(path, max_seconds=max_seconds)
        if progress:
            progress(0.5)
        animation = animate(audio, text=text, fps=fps, language=language)
    else:
        animation = animate_stream(path, fps=fps, recognizer=recognizer, progress=progress, max_seconds=max_seconds)
    if progress:
        progress(1.0)
    return animation


def say(text: str, *, voice: str = DEFAULT_LANGUAGE, fps: float = motion.DEFAULT_FPS) -> tuple[Audio, Animation]:
    """Speak ``text`` with espeak-ng ``voice`` (a language or a voice of one); the speech and
    its Animation from the exact phone timings."""
    _check_fps(fps)
    speech, phones = phonetics.tts(text, voice=voice)
    # The phones are exact here: the jaw follows them, not a filter fitted on recognized real speech.
    return speech, to_animation(phones, fps=fps, loudness_db=audio_stage.loudness(speech, fps=ANALYSIS_FPS))


def heard_cues(animation: Animation) -> Animation:
    """``animation`` with its mouth cues' open shapes (B, C, D) placed by its heard JawOpen
    rather than by Rhubarb's phone conventions (:func:`mouthpiece.motion.cues.heard_shapes`):
    closer to real mouths (real footage r 0.31 vs 0.21), further from Rhubarb's shapes."""
    from dataclasses import replace

    from .motion.cues import heard_shapes

    if animation.cues is None or "JawOpen" not in animation.channels:
        return animation
    return replace(animation, cues=heard_shapes(animation.cues, animation.channel("JawOpen"), animation.fps))


def add_life(
    animation: Animation,
    audio: Audio,
    *,
    idle: bool = True,
    seed: int = 0,
    emotion: str = "neutral",
    intensity: float = DEFAULT_INTENSITY,
) -> Animation:
    """Blinks, gaze, head motion and brow raises from the speech (unless ``idle`` is off),
    then an emotion's expression (see :mod:`mouthpiece.motion`); ``seed`` picks the random ones."""
    if idle:
        animation = motion.add_idle(animation, audio, seed=seed)
    return motion.apply_emotion(animation, emotion, intensity)


def load_portrait(
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] = DEFAULT_SIZE,
    face: int | None = None,
    max_pixels: int | None = None,
) -> Portrait:
    """A photo with a face, framed to ``size`` (width, height) around it.

    ``face`` picks one of several faces, 0 being the leftmost; by default the largest.
    Raises InputError when the image cannot be read, NoFaceError when it has no face,
    TooLongError (before decoding it) when it has more than ``max_pixels`` pixels.
    """
    from .face.detect import find_face
    from .render.image import load_image

    width, height = size
    if not (width > 0 and height > 0 and width % 2 == 0 and height % 2 == 0):
        raise InputError(f"Video size must be two positive even numbers of pixels, got {width}x{height}.")
    image = load_image(path, max_pixels=max_pixels)
    return frame_portrait(image, find_face(image, source=os.fspath(path), index=face), size)


def render_video(
    portrait: Portrait,
    animation: Animation,
    path: str | os.PathLike[str],
    *,
    audio: Audio | None = None,
    progress: Progress | None = None,
) -> None:
    """Write the talking portrait to ``path`` (MP4), one frame per animation frame, with ``audio``.

    Frames stream into the encoder, so memory does not grow with the length; the file
    appears only once it is complete.
    """
    write_video(portrait, animation, path, audio=audio, progress=progress)


def render_speech(
    portrait: Portrait,
    audio: Audio,
    path: str | os.PathLike[str],
    *,
    text: str | None = None,
    fps: float = VIDEO_FPS,
    recognizer: str | None = None,
    language: str = DEFAULT_LANGUAGE,
    idle: bool = True,
    seed: int = 0,
    emotion: str = "neutral",
    intensity: float = DEFAULT_INTENSITY,
    progress: Progress | None = None,
) -> Animation:
    """Speech to a talking-portrait video at ``path``; returns the Animation that drove it.

    With a transcript the speech is aligned, animated and rendered in turn. Without one,
    recognition runs ahead in another process on chunks cut at pauses while the frames of
    the chunks already heard are rendered and encoded (see :mod:`mouthpiece.render.speech`).
    """
    _check_fps(fps)
    recognizer = hearing(recognizer, language)
    check_emotion(emotion, intensity)  # before any work
    if text and text.strip():
        animation = animate(audio, text=text, fps=fps, language=language)
        animation = add_life(animation, audio, idle=idle, seed=seed, emotion=emotion, intensity=intensity)
        render_video(portrait, animation, path, audio=audio, progress=progress)
        return animation
    return render_in_parts(portrait, audio, path, fps=fps, recognizer=recognizer, idle=idle, seed=seed,
                           emotion=emotion, intensity=intensity, progress=progress)  # fmt: skip


def dub_video(
    video: str | os.PathLike[str],
    audio: Audio,
    path: str | os.PathLike[str],
    *,
    text: str | None = None,
    face: int | None = None,
    fit: str = "pingpong",
    original_audio: float = 0.0,
    recognizer: str | None = None,
    language: str = DEFAULT_LANGUAGE,
    progress: Progress | None = None,
) -> tuple[Animation, DubCount]:
    """``video`` speaking ``audio`` instead, written to ``path`` (MP4): see :mod:`mouthpiece.render.dub_video`
    and :mod:`mouthpiece.render.dub`.

    One pass decodes, tracks, re-poses the mouth and encodes frame by frame, so memory
    does not grow with the video's length. The output keeps the video's frame rate, size
    and rotation; ``fit`` (:mod:`mouthpiece.render.fit`) settles a difference in length;
    ``original_audio`` (0-1) mixes the video's own soundtrack under the new speech.
    ``face`` picks the speaker (0 is the leftmost; None the largest).

    Returns
    -------
    (Animation, DubCount) : the speech's animation, and how many frames were written and
        how many of them passed through untouched because the face was not in view

    Raises
    ------
    InputError
        The video has no video stream or cannot be decoded, ``fit`` or ``original_audio``
        is out of range; :class:`NoFaceError` when the face is in no frame (nothing is written).
    """
    from .render.dub_video import dub_video as dub  # imported when dubbing: it brings SciPy's optimizer

    return dub(video, audio, path, text=text, face=face, fit=fit, original_audio=original_audio,
               recognizer=recognizer, language=language, progress=progress)  # fmt: skip


def export_file(
    animation: Animation, path: str | os.PathLike[str], *, format: str | None = None, **options: Any
) -> None:
    """Write an Animation to ``path`` atomically, in ``format`` (default: from the extension).

    ``options`` are format options (``extended_shapes``, ``dat_fps``, ``preston_blair``,
    ``sound_file``); those the format does not take are ignored.
    """
    export_stage.write_file(_exporter(format or export_stage.format_for_path(path), options), animation, path)


def load_avatar(path: str | os.PathLike[str]) -> Avatar:
    """A glTF, GLB or VRM avatar, read and planned: what drives each of its morph targets
    (see :mod:`mouthpiece.avatar.rig`). InputError when it is not glTF 2.0 or has no
    morph target mouthpiece can drive."""
    from .avatar import load_avatar as load

    return load(path)


def animate_onto(
    animation: Animation, avatar: Avatar | str | os.PathLike[str], path: str | os.PathLike[str]
) -> AvatarReport:
    """Write ``avatar`` (a path, or one :func:`load_avatar` read) speaking ``animation`` to
    ``path`` (``.glb``, ``.gltf``, or ``.vrm`` for a VRM model), atomically: its morph targets,
    head and eyes animated by one glTF animation, ``"mouthpiece"`` (see :mod:`mouthpiece.avatar`).

    Returns
    -------
    AvatarReport : which targets move and by which channel, which stay at rest and why,
        the bones turned, the moving channels with no target (``report.lines()`` for a person)
    """
    from .avatar import Avatar
    from .avatar import animate_onto as write

    loaded = avatar if isinstance(avatar, Avatar) else load_avatar(avatar)
    return write(animation, loaded, path)


def check_avatar_output(avatar: Avatar, path: str | os.PathLike[str]) -> None:
    """InputError unless ``path`` can take ``avatar``: ``.glb``, ``.gltf``, or ``.vrm`` for a VRM model."""
    from .avatar import check_output

    check_output(avatar, path)


def head_mesh(photo: str | os.PathLike[str], *, face: int | None = None, max_pixels: int | None = None) -> HeadMesh:
    """A 3D head from one photo (see :mod:`mouthpiece.render.mesh`): the face as a textured
    mesh with the photo's depth, eyes and the inside of a mouth, and the 52 ARKit morph
    targets of the rig that moves portrait videos; metres, Y up, facing +Z.

    ``face`` picks one of several faces, 0 being the leftmost; by default the largest.
    Raises InputError when the image cannot be read, NoFaceError when it has no face,
    TooLongError (before decoding it) when it has more than ``max_pixels`` pixels.
    """
    from .face.detect import find_face
    from .render.image import load_image
    from .render.mesh import build_head

    name = os.fspath(photo)
    image = load_image(name, max_pixels=max_pixels)
    return build_head(image, find_face(image, source=name, index=face), source=name)


def write_head(
    head: HeadMesh, path: str | os.PathLike[str], *, animation: Animation | None = None
) -> AvatarReport | None:
    """Write ``head`` to ``path`` (``.glb``, or ``.gltf`` with everything embedded), atomically;
    with ``animation`` as its glTF animation ``"mouthpiece"`` on the morph targets and the
    ``Head`` node, as :func:`animate_onto` writes one (MouthClose capped at JawOpen, as the
    portrait's rig does), and then the report of what moves.
    """
    from .render.head_gltf import write_head as write

    return write(head, path, animation=animation)


def check_head_output(path: str | os.PathLike[str]) -> None:
    """InputError unless ``path`` can take a head: ``.glb`` or ``.gltf``."""
    from .render.head_gltf import check_output

    check_output(path)


def export_stream(animation: Animation, stream: TextIO, *, format: str = "tsv", **options: Any) -> None:
    """Write an Animation to an open text stream in ``format`` (options as :func:`export_file`)."""
    _exporter(format, options).export(animation, stream)


def _exporter(name: str, options: dict[str, Any]) -> export_stage.Exporter:
    supported = export_stage.supported_options(name)
    return export_stage.get_exporter(name, **{k: v for k, v in options.items() if k in supported})


def _check_fps(fps: float) -> None:
    if not (isinstance(fps, (int, float)) and 1 <= fps <= 240):
        raise InputError(f"Frame rate must be between 1 and 240 frames per second, got {fps!r}.")


def resampled_track(values: np.ndarray, from_fps: float, to_fps: float, duration: float) -> np.ndarray:
    """Linear interpolation of a per-frame track onto another frame rate."""
    t = np.asarray(frames_to_time(np.arange(frame_count(duration, fps=to_fps)), fps=to_fps))
    source_t = np.asarray(frames_to_time(np.arange(len(values)), fps=from_fps))
    return np.interp(t, source_t, values).astype(np.float32) if len(values) else np.zeros(len(t), np.float32)
