"""Each measure run on the user's files (``mouthpiece eval``; :func:`mouthpiece.api.evaluate_sync`
and the others are these): the videos read and their faces tracked, the speech animated
where a measure needs it, and the arrays handed to :mod:`.sync`, :mod:`.cues`, :mod:`.motion`
and :mod:`.preserve`, which compute.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import numpy as np

from ..audio import loudness
from ..errors import InputError, NoFaceError
from ..face.track import track_face
from ..render.reader import VideoInfo, probe_video, read_frames
from ..timebase import advance
from .cues import CueReport
from .motion import MotionResult
from .preserve import PreserveResult
from .sync import NATURAL_LEAD, SyncResult, expected_mouth, lip_gap, measure_sync, mouth_width


def evaluate_sync(
    video: str | os.PathLike[str], *, audio: str | os.PathLike[str] | None = None, recognizer: str = "phones"
) -> tuple[SyncResult, np.ndarray, np.ndarray]:
    """Audio-visual offset and sync confidence of a talking-face video (see :mod:`mouthpiece.evaluate.sync`).

    The mouth's opening and width are tracked through the video's frames; those expected
    from its audio (or ``audio``, another file) come from the speech's Animation (JawOpen,
    and stretch and smile against pucker and funnel) and the opening also from its
    loudness envelope (alone where no speech is recognized); the envelope is advanced by
    the mouth's natural lead over the sound, which the Animation carries already.
    ``recognizer`` defaults to the fast phone loop: timing matters here more than phone
    identity.

    Returns
    -------
    (SyncResult, seen, expected) : the measurement and the two mouth-opening tracks it
        compared (the widths are compared too); ``expected`` already advanced by the lead
    """
    from .. import api  # the speech's Animation comes from the whole pipeline

    name = os.fspath(video)
    info = probe_video(name)
    if audio is None and not info.has_audio:
        raise InputError(f"'{name}' has no audio track; give the speech with --audio.")
    speech = api.load_audio(audio if audio is not None else name)
    # Raw landmarks (no fps: no smoothing filter), as a causal filter would delay the mouth.
    found = [None if f is None else (lip_gap(f), mouth_width(f)) for f in track_face(read_frames(name))]
    if not any(v is not None for v in found):
        raise NoFaceError(f"No face found in any frame of '{name}'.")
    seen = np.array([(np.nan, np.nan) if v is None else v for v in found])
    video_seconds, audio_seconds = len(seen) / info.fps, speech.duration
    if abs(video_seconds - audio_seconds) > max(1.0, 0.1 * video_seconds):
        source = f"'{os.fspath(audio)}'" if audio is not None else "its audio"
        raise InputError(
            f"'{name}' has {video_seconds:.1f} s of video but {source} {audio_seconds:.1f} s: they cannot be in sync."
        )
    animation = api.animate(speech, fps=info.fps, recognizer=recognizer)
    level = api.resampled_track(loudness(speech, fps=api.ANALYSIS_FPS), api.ANALYSIS_FPS, info.fps, speech.duration)
    envelope = advance(np.clip((level - level.max() + 40.0) / 40.0, 0.0, 1.0)[:, None], NATURAL_LEAD * info.fps)
    if animation.channel("JawOpen").max() >= 0.05:
        # The opening is compared twice: with the Animation's (which knows which sounds open
        # the mouth) and with the loudness envelope (whose timing does not depend on
        # recognizing phones right); the width once.
        frames = min(len(animation.values), len(envelope))
        # the Animation carries the mouth's natural lead (motion.opening): only the envelope is advanced
        expected = np.concatenate([expected_mouth(animation, lead=0.0)[:frames], envelope[:frames]], axis=1)
        seen = seen[:, [0, 1, 0]]
    else:  # no speech heard: the loudness envelope stands in for the opening, and the width is not compared
        expected = envelope
        seen = seen[:, :1]
    length = min(len(seen), len(expected))
    seen, expected = seen[:length], expected[:length]
    return measure_sync(seen, expected, fps=info.fps), seen[:, 0], expected[:, 0]


def evaluate_cues(reference: str | os.PathLike[str], predicted: str | os.PathLike[str]) -> CueReport:
    """Mouth-cue accuracy of predicted tracks against reference phones (see :mod:`mouthpiece.evaluate.cues`).

    ``reference`` is a phone file (TSV, Praat TextGrid, HTK or Festival label file) and
    ``predicted`` a mouth-cue file (Rhubarb TSV, XML or JSON, or anim-json), the formats
    told by content (see :mod:`mouthpiece.evaluate.formats`); or both are folders, and every
    ``<utt>.phones.tsv`` (``.TextGrid``, ``.lab``) is scored against ``<utt>.tsv``
    (``.xml``, ``.json``, ``.anim.json``) where there is one.

    Returns
    -------
    CueReport : per utterance, the references without a prediction, macro and pooled scores

    Raises
    ------
    InputError
        When a file is missing, unreadable or malformed, one path is a folder and the
        other not, or no utterance has both files.
    """
    from . import formats
    from .cues import score_cues

    ref, pred = os.fspath(reference), os.fspath(predicted)
    if os.path.isdir(ref) or os.path.isdir(pred):
        if not (os.path.isdir(ref) and os.path.isdir(pred)):
            folder, other = (ref, pred) if os.path.isdir(ref) else (pred, ref)
            raise InputError(f"'{folder}' is a folder but '{other}' is not: give two files or two folders.")
        pairs, missing = formats.pair_folders(ref, pred)
        if not pairs:
            raise InputError(f"No reference in '{ref}' has a prediction in '{pred}' (<utt>.tsv, .xml, .json).")
    else:
        pairs, missing = [formats.Utterance(formats.utterance_name(ref), ref, pred)], []
    scores = []
    for utterance in pairs:
        phones = formats.read_reference(utterance.reference)
        cues = formats.read_predicted(utterance.predicted, duration=phones.duration)
        scores.append(score_cues(phones, cues, name=utterance.name))
    return CueReport(tuple(scores), tuple(missing))


def evaluate_motion(reference: str | os.PathLike[str], video: str | os.PathLike[str]) -> MotionResult:
    """Lip motion of ``video`` against ``reference``: LMD, mouth r, jitter (see :mod:`mouthpiece.evaluate.motion`).

    The face is tracked through both videos frame by frame; frames where either shows
    no face are skipped (and counted).

    Raises
    ------
    InputError
        When a file is missing or not a video, or the two differ in frame rate (by more
        than 0.01 fps) or in frame count (by more than 1).
    NoFaceError
        When no frame shows a face in both videos.
    """
    from .motion import compare_motion

    ref, vid = os.fspath(reference), os.fspath(video)
    info = _check_pair(ref, vid, same_size=False)
    faces = [list(track_face(read_frames(ref))), list(track_face(read_frames(vid)))]
    _check_counts(ref, len(faces[0]), vid, len(faces[1]))
    result = compare_motion(*faces, fps=info.fps)
    if not result.compared:
        raise NoFaceError(f"No frame shows a face in both '{ref}' and '{vid}'.")
    return result


def evaluate_preserve(source: str | os.PathLike[str], video: str | os.PathLike[str]) -> PreserveResult:
    """PSNR and SSIM of ``video`` against ``source`` outside the source's mouth and jaw, per frame
    (see :mod:`mouthpiece.evaluate.preserve`); frames where the source shows no face are compared whole.

    Raises
    ------
    InputError
        When a file is missing or not a video, or the two differ in size, in frame rate
        (by more than 0.01 fps) or in frame count (by more than 1).
    """
    from .preserve import score_frame

    src, vid = os.fspath(source), os.fspath(video)
    info = _check_pair(src, vid, same_size=True)
    pairs, copy = itertools.tee(_paired_frames(src, vid))
    scores, masked = [], []
    for (original, frame), landmarks in zip(pairs, track_face(a for a, _ in copy)):
        scores.append(score_frame(original, frame, landmarks))
        masked.append(landmarks is not None)
    if not scores:
        raise InputError(f"'{src}' and '{vid}' have no video frames.")
    mse, ssim = np.array(scores).T
    return PreserveResult(fps=info.fps, mse=mse, ssim=ssim, masked=np.array(masked))


def _check_pair(first: str, second: str, *, same_size: bool) -> VideoInfo:
    """The first video's VideoInfo, once both are videos of the same frame rate (and size)."""
    a, b = probe_video(first), probe_video(second)
    if abs(a.fps - b.fps) > 0.01:
        raise InputError(f"'{first}' runs at {a.fps:g} fps but '{second}' at {b.fps:g}: the frame rates must match.")
    if same_size and (a.width, a.height) != (b.width, b.height):
        raise InputError(
            f"'{first}' is {a.width}x{a.height} pixels but '{second}' is {b.width}x{b.height}: the sizes must match."
        )
    return a


def _paired_frames(first: str, second: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The two videos' frames side by side, up to the shorter's end; then InputError if their
    frame counts differ by more than one (the longer one's rest is decoded to count it)."""
    frames = read_frames(first), read_frames(second)
    paired = 0
    while True:
        a, b = next(frames[0], None), next(frames[1], None)
        if a is None or b is None:
            break
        paired += 1
        yield a, b
    counts = [paired + (last is not None) + sum(1 for _ in rest) for last, rest in zip((a, b), frames)]
    _check_counts(first, counts[0], second, counts[1])


def _check_counts(first: str, first_count: int, second: str, second_count: int) -> None:
    if abs(first_count - second_count) > 1:
        raise InputError(
            f"'{first}' has {first_count} frames but '{second}' has {second_count}: they must match within one frame."
        )
