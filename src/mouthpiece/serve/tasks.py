"""What the server's routes and jobs run in a worker process (:mod:`.workers`): plain functions
of paths and values, returning plain values, each bounded by the limits it is given.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import api
from ..audio import save
from ..errors import InputError, TooLongError
from ..motion import opening

GLB_MAGIC = b"glTF"
TURNED_BONES = 3  # at most: the head (or neck) and the eyes, a quaternion each per frame


def animate_upload(
    path: str,
    *,
    text: str | None,
    fps: float,
    format: str,
    language: str,
    recognizer: str | None,
    life: dict[str, Any],
    max_seconds: float,
) -> str:
    """The uploaded speech's Animation in export ``format``, with ``life`` (:func:`api.add_life`'s options)."""
    speech = api.load_audio(path, max_seconds=max_seconds)
    animation = api.animate(speech, text=text, fps=fps, language=language, recognizer=recognizer)
    out = io.StringIO()
    api.export_stream(api.add_life(animation, speech, **life), out, format=format)
    return out.getvalue()


class UnreadableModel(InputError):
    """An uploaded avatar that is not glTF 2.0, or that refers to files of its own (which a server never reads)."""


def check_avatar(path: str) -> str:
    """The extension to write the uploaded avatar ``path`` with its animation: ``.gltf`` for glTF
    JSON, ``.vrm`` for a binary VRM model, else ``.glb``.

    Raises UnreadableModel unless ``path`` is glTF 2.0 with all its data inside (GLB, or data
    URIs: a URI naming a file is refused before anything is read, so a client cannot make the
    server read its files); InputError when the model has no morph target mouthpiece can drive.
    """
    binary = _self_contained(path)
    avatar = api.load_avatar(path)
    if not binary:
        return ".gltf"
    return ".vrm" if avatar.vrm.version is not None else ".glb"


def animate_onto_upload(
    path: str,
    *,
    avatar: str,
    out: str,
    text: str | None,
    fps: float,
    language: str,
    recognizer: str | None,
    life: dict[str, Any],
    max_seconds: float,
    max_bytes: int,
) -> None:
    """Write the avatar ``avatar`` (checked by :func:`check_avatar`) speaking the uploaded speech
    ``path`` to ``out``, with ``life`` (:func:`api.add_life`'s options). TooLongError, naming the
    avatar, when the keyframes would take more than ``max_bytes``."""
    model = api.load_avatar(avatar)
    speech = api.load_audio(path, max_seconds=max_seconds)
    nodes = {target.node for target in model.rules}
    weights = sum(1 for target in model.targets if target.node in nodes)
    size = (int(speech.duration * fps) + 2) * (1 + weights + 4 * TURNED_BONES) * 4
    if size > max_bytes:
        raise TooLongError(
            f"The animation of {speech.duration:.0f} s at {fps:g} fps on the {weights} morph targets of '{avatar}' "
            f"would take {size / 2**20:.3g} MB, more than the {max_bytes / 2**20:.3g} MB this server writes; "
            "send fewer fps or less speech."
        )
    animation = api.animate(speech, text=text, fps=fps, language=language, recognizer=recognizer)
    api.animate_onto(api.add_life(animation, speech, **life), model, out)


def _self_contained(path: str) -> bool:
    """Whether ``path`` is binary glTF (else JSON); UnreadableModel unless it is glTF 2.0 whose
    buffers and images are all inside it."""
    data = Path(path).read_bytes()
    binary = data[:4] == GLB_MAGIC
    text = data
    if binary:
        length = struct.unpack_from("<I", data, 12)[0] if len(data) >= 20 else 0
        text = data[20 : 20 + length]
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError), or nested past reason
        raise UnreadableModel(f"'{path}' is not a glTF 2.0 file (.glb, .gltf or .vrm).") from None
    asset = document.get("asset") if isinstance(document, dict) else None
    if not isinstance(asset, dict) or not str(asset.get("version")).startswith("2."):
        raise UnreadableModel(f"'{path}' is not a glTF 2.0 file (.glb, .gltf or .vrm): it declares no version 2.0.")
    for kind in ("buffers", "images"):
        items = document.get(kind)
        for item in items if isinstance(items, list) else []:
            uri = item.get("uri") if isinstance(item, dict) else None
            if isinstance(uri, str) and not uri.startswith("data:"):
                raise UnreadableModel(
                    f"'{path}' refers to the file {uri[:80]!r}, which this server does not read: "
                    "send a .glb, or a .gltf with its data embedded."
                )
    return binary


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


def check_portrait(path: str, *, size: int, face: int | None, max_pixels: int) -> None:
    """Raise InputError (NoFaceError, TooLongError) unless ``path`` is a photo with a face."""
    api.load_portrait(path, size=(size, size), face=face, max_pixels=max_pixels)


def head(photo: str, *, out: str, face: int | None, max_pixels: int) -> None:
    """Write the 3D head of the photo ``photo`` (:func:`api.head_mesh`, no animation) to ``out``
    (.glb); InputError (NoFaceError, TooLongError) unless it is an image with a face."""
    api.write_head(api.head_mesh(photo, face=face, max_pixels=max_pixels), out)


def video_size(path: str, *, max_pixels: int) -> tuple[float, int, int]:
    """(fps, width, height) of the video in ``path``; InputError when it is none, TooLongError
    when a frame has more than ``max_pixels`` pixels."""
    from ..render.reader import probe_video

    info = probe_video(path)
    if info.width * info.height > max_pixels:
        raise TooLongError(
            f"'{path}' has {info.width}x{info.height} frames, "
            f"more than the {max_pixels / 1e6:g} megapixels accepted here."
        )
    return info.fps, info.width, info.height


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
    recognizer: str | None,
    face: int | None,
    life: dict[str, Any],
    max_seconds: float,
    max_pixels: int,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Render the talking portrait to ``out``: from ``audio`` (with its transcript ``text``), or
    ``text`` spoken; ``life`` holds :func:`api.add_life`'s options."""
    photo = api.load_portrait(portrait, size=(size, size), face=face, max_pixels=max_pixels)
    if audio is None:
        assert text is not None
        spoken, animation = api.say(text, voice=language, fps=fps)
        _check_duration(spoken.duration, max_seconds, "the speech of this text")
        api.render_video(photo, api.add_life(animation, spoken, **life), out, audio=spoken, progress=progress)
    else:
        speech = api.load_audio(audio, max_seconds=max_seconds)
        api.render_speech(photo, speech, out, text=text, fps=fps, language=language, recognizer=recognizer,
                          progress=progress, **life)  # fmt: skip


def dub(
    out: str,
    *,
    video: str,
    audio: str,
    text: str | None,
    language: str,
    recognizer: str | None,
    face: int | None,
    fit: str,
    original_audio: float,
    own_style: bool,
    max_seconds: float,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Dub ``video`` with the speech in ``audio`` into ``out``, in the person's own style (unless ``own_style``
    is off)."""
    speech = api.load_audio(audio, max_seconds=max_seconds)
    style, _ = api.dub_style(video, "own" if own_style else "generic", language=language,
                             recognizer=recognizer, face=face)  # fmt: skip
    with opening.using(style) if style is not None else contextlib.nullcontext():
        api.dub_video(video, speech, out, text=text, face=face, fit=fit, original_audio=original_audio,
                      recognizer=recognizer, language=language, progress=progress)  # fmt: skip


def _check_duration(seconds: float, max_seconds: float, what: str) -> None:
    if seconds > max_seconds:
        raise TooLongError(f"{what.capitalize()} lasts {seconds:.0f} s, more than the {max_seconds:g} s accepted here.")
