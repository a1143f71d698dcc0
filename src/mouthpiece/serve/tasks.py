"""What the server's routes and jobs run in a worker process (:mod:`.workers`): plain functions
of paths and values, returning plain values, each bounded by the limits it is given.
"""

from __future__ import annotations

import base64
import io
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import api
from ..audio import save
from ..errors import TooLongError


def animate_upload(path: str, *, text: str | None, fps: float, format: str, language: str, max_seconds: float) -> str:
    """The uploaded speech's Animation in export ``format``."""
    speech = api.load_audio(path, max_seconds=max_seconds)
    out = io.StringIO()
    api.export_stream(api.animate(speech, text=text, fps=fps, language=language), out, format=format)
    return out.getvalue()


def say(text: str, *, voice: str, fps: float, max_seconds: float) -> dict[str, Any]:
    """``text`` spoken: the speech as a base64 WAV, its duration and its Animation (anim-json)."""
    speech, animation = api.say(text, voice=voice, fps=fps)
    _check_duration(speech.duration, max_seconds, "the speech of this text")
    with tempfile.TemporaryDirectory() as folder:  # the server gives its workers a private TMPDIR
        wav = Path(folder) / "speech.wav"
        save(speech, wav)
        sound = base64.b64encode(wav.read_bytes()).decode("ascii")
    out = io.StringIO()
    api.export_stream(animation, out, format="anim-json")
    return {"audio_wav_base64": sound, "duration": speech.duration, "animation": json.loads(out.getvalue())}


def check_portrait(path: str, *, size: int, max_pixels: int) -> None:
    """Raise InputError (NoFaceError, TooLongError) unless ``path`` is a photo with a face."""
    api.load_portrait(path, size=(size, size), max_pixels=max_pixels)


def speech_seconds(path: str, *, max_seconds: float) -> float:
    """How long the speech in ``path`` is; TooLongError past ``max_seconds`` (decoding stops there)."""
    return api.load_audio(path, max_seconds=max_seconds).duration


def render(
    out: str,
    *,
    portrait: str,
    size: int,
    fps: float,
    audio: str | None,
    text: str | None,
    language: str,
    max_seconds: float,
    max_pixels: int,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Render the talking portrait to ``out``: from ``audio`` (with its transcript ``text``), or ``text`` spoken."""
    face = api.load_portrait(portrait, size=(size, size), max_pixels=max_pixels)
    if audio is None:
        assert text is not None
        spoken, animation = api.say(text, voice=language, fps=fps)
        _check_duration(spoken.duration, max_seconds, "the speech of this text")
        api.render_video(face, api.add_life(animation, spoken), out, audio=spoken, progress=progress)
    else:
        speech = api.load_audio(audio, max_seconds=max_seconds)
        api.render_speech(face, speech, out, text=text, fps=fps, language=language, progress=progress)


def _check_duration(seconds: float, max_seconds: float, what: str) -> None:
    if seconds > max_seconds:
        raise TooLongError(f"{what.capitalize()} lasts {seconds:.0f} s, more than the {max_seconds:g} s accepted here.")
