"""Fuzzing the decoders (issue 16): whatever bytes arrive, a decoder returns a well-formed
value or raises InputError with one sentence naming the file; never another exception,
a crash or a hang.

Each decoder is fed random bytes, a valid file's first bytes followed by random ones, and
(mostly) mutations of small valid files made here: bits flipped, bytes set, inserted,
deleted, repeated or cut off, and header fields (sizes, rates, dimensions, box and chunk
lengths) set to boundary values, with PNG's checksums redone so that a patched header gets
past them. Animation JSON is also edited as a document (any value anywhere, keys removed,
deep nesting, huge numbers), and the live WebSocket's parser gets arbitrary JSON, text and
bytes as start, text, end and audio messages.

Every decode runs in a worker process (:class:`Worker`) with a time limit, so a segfault
in FFmpeg or Pillow, a hang or a runaway allocation fails the example with its input
saved, instead of killing or blocking the test run. The worker is this file run as a
script (``python tests/test_fuzz.py --worker``), reused across examples.

The short run here is derandomized: the same examples every time for the same source tree
(Hypothesis also draws constants from the package's code, so an edit there changes them).
A long run::

    MOUTHPIECE_FUZZ=long .venv/bin/python -m pytest -q tests/test_fuzz.py
    .venv/bin/python benchmarks/fuzz.py --minutes 10      # time-boxed, keeps going past failures
"""

from __future__ import annotations

import asyncio
import base64
import faulthandler
import functools
import io
import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import wave
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DECODE_TIMEOUT = 20.0  # s one decode may take before it counts as a hang (the slowest seen: ~6 s, busy cores)
START_TIMEOUT = 60.0  # s the worker may take to import everything
WORKER_MEMORY = 6 * 2**30  # bytes of address space a worker may map: a runaway allocation fails there
MAX_FRAMES = 20_000  # video frames read from one fuzzed file (see _decode_video)
# The warnings a decoder gives on purpose; any other (a library's, numpy's) is a failure.
EXPECTED_WARNINGS = ("UserWarning: '",)  # load_image: "'x.png' is 6000x4000 pixels; downscaled to ..."
KINDS = ("audio", "image", "video", "anim-json", "transcript", "ws")

# The short run in the tests, and a long one (MOUTHPIECE_FUZZ=long).
settings.register_profile(
    "fuzz-ci",
    derandomize=True,
    database=None,
    deadline=None,  # the worker enforces DECODE_TIMEOUT; wall-clock deadlines are noise on a shared machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("fuzz-long", settings.get_profile("fuzz-ci"), derandomize=False)
PROFILE = "fuzz-long" if os.environ.get("MOUTHPIECE_FUZZ") == "long" else "fuzz-ci"
SCALE = {"fuzz-ci": 1, "fuzz-long": 50}[PROFILE]


def fuzz_settings(examples: int) -> settings:
    return settings(settings.get_profile(PROFILE), max_examples=examples * SCALE)


# ---------------------------------------------------------------------------------------------
# Seeds: small valid files of every kind, made in memory.

Field = tuple[int, int, str]  # offset, width in bytes, byte order of a header field


@dataclass(frozen=True)
class Seed:
    name: str
    suffix: str
    data: bytes
    fields: tuple[Field, ...] = ()  # header fields worth setting to boundary values
    fix: Callable[[bytearray], None] | None = None  # redoes checksums after a mutation


def _encode(
    fmt: str, *, audio: tuple[str, int, str] | None = None, video: tuple[str, str] | None = None, seconds: float = 0.4
) -> bytes:
    """A short clip from PyAV: a chirp on ``audio`` (codec, rate, layout), 32x24 frames on
    ``video`` (codec, pixel format) at 10 fps, and a non-ASCII title."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt, options={"fflags": "+bitexact"}) as container:  # no random ids
        container.metadata["title"] = "Café ☕ bowl"
        if video:
            picture = container.add_stream(video[0], rate=10)
            picture.width, picture.height, picture.pix_fmt = 32, 24, video[1]
        if audio:
            codec, rate, layout = audio
            sound = container.add_stream(codec, rate=rate, layout=layout, options={"strict": "experimental"})
            channels = 2 if layout == "stereo" else 1
            t = np.arange(round(seconds * rate)) / rate
            x = np.repeat((0.5 * np.sin(2 * np.pi * (200 + 400 * t) * t))[:, None], channels, axis=1)
            for start in range(0, len(x), 1024):
                chunk = np.ascontiguousarray(x[start : start + 1024], dtype=np.float32).reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout=layout)
                frame.sample_rate, frame.pts = rate, start
                container.mux(sound.encode(frame))
            container.mux(sound.encode(None))
        if video:
            for i in range(round(seconds * 10)):
                image = np.zeros((24, 32, 3), np.uint8)
                image[:, : 4 * (i + 1)] = (40 * i % 256, 200, 90)
                container.mux(picture.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            container.mux(picture.encode(None))
    return buffer.getvalue()


def _wav_s16() -> bytes:
    buffer = io.BytesIO()
    t = np.arange(1600) / 8000
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes((8000 * np.sin(2 * np.pi * 300 * t)).astype("<i2").tobytes())
    return buffer.getvalue()


def _find_all(data: bytes, tag: bytes) -> list[int]:
    found, at = [], data.find(tag)
    while at >= 0:
        found.append(at)
        at = data.find(tag, at + 1)
    return found


def _words_after(data: bytes, tags: tuple[bytes, ...], count: int, order: str, skip: int = 8) -> list[Field]:
    """4-byte fields in the ``count`` words after ``skip`` bytes from each occurrence of ``tags``."""
    return [(at + skip + 4 * k, 4, order) for tag in tags for at in _find_all(data, tag) for k in range(count)]


WAV_FIELDS: tuple[Field, ...] = tuple(
    (offset, width, "little")
    for offset, width in [(4, 4), (16, 4), (20, 2), (22, 2), (24, 4), (28, 4), (32, 2), (34, 2), (40, 4)]
)
BMP_FIELDS: tuple[Field, ...] = tuple(
    (offset, width, "little")
    for offset, width in [(2, 4), (10, 4), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2), (30, 4), (34, 4), (46, 4)]
)
WEBP_FIELDS: tuple[Field, ...] = ((4, 4, "little"), (16, 4, "little"), (26, 2, "little"), (28, 2, "little"))
ICO_FIELDS: tuple[Field, ...] = ((4, 2, "little"), (14, 4, "little"), (18, 4, "little"))
MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"edts", b"dinf", b"meta", b"ilst"}


def _mp4_fields(data: bytes, start: int = 0, end: int | None = None) -> list[Field]:
    """Each ISO-BMFF box's size and the first words of the leaf boxes' contents."""
    fields: list[Field] = []
    at, end = start, len(data) if end is None else end
    while at + 8 <= end:
        size, kind = int.from_bytes(data[at : at + 4], "big"), data[at + 4 : at + 8]
        if size < 8 or at + size > end:
            break
        fields.append((at, 4, "big"))
        if kind in MP4_CONTAINERS:
            fields += _mp4_fields(data, at + 8 + (4 if kind == b"meta" else 0), at + size)
        else:
            fields += [(at + 8 + k, 4, "big") for k in range(0, min(size - 8, 40) - 3, 4)]
        at += size
    return fields


def _png_fields(data: bytes) -> list[Field]:
    """IHDR's width, height, depth, colour type, compression, filter, interlace; every chunk's length."""
    fields: list[Field] = [(16, 4, "big"), (20, 4, "big")] + [(k, 1, "big") for k in range(24, 29)]
    at = 8
    while at + 12 <= len(data):
        fields.append((at, 4, "big"))
        at += 12 + int.from_bytes(data[at : at + 4], "big")
    return fields


def fix_png_crcs(data: bytearray) -> None:
    """Recompute each PNG chunk's CRC, so that a patched chunk is read rather than refused."""
    at = 8
    while at + 12 <= len(data):
        end = at + 8 + int.from_bytes(data[at : at + 4], "big")
        if end + 4 > len(data):
            break
        data[end : end + 4] = zlib.crc32(data[at + 4 : end]).to_bytes(4, "big")
        at = end + 4


def _jpeg_fields(data: bytes) -> list[Field]:
    """Each marker segment's length and the frame header's precision, height, width, components."""
    fields: list[Field] = []
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        fields.append((at + 2, 2, "big"))
        if marker in (0xC0, 0xC1, 0xC2):
            fields += [(at + 4, 1, "big"), (at + 5, 2, "big"), (at + 7, 2, "big"), (at + 9, 1, "big")]
        if marker == 0xDA:
            break
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return fields


def _tiff_fields(data: bytes) -> list[Field]:
    """The first IFD's offset, entry count and every entry's type, count and value."""
    order = "little" if data[:2] == b"II" else "big"
    ifd = int.from_bytes(data[4:8], order)
    fields: list[Field] = [(4, 4, order), (ifd, 2, order)]
    for k in range(int.from_bytes(data[ifd : ifd + 2], order)):
        entry = ifd + 2 + 12 * k
        fields += [(entry + 2, 2, order), (entry + 4, 4, order), (entry + 8, 4, order)]
    return fields


def _image(fmt: str, mode: str = "RGB", **options: Any) -> bytes:
    from PIL import Image

    y, x = np.mgrid[0:12, 0:16]
    rgb = np.stack([x * 16, y * 20, (x + y) * 8], axis=-1).astype(np.uint8)
    if mode == "I;16":
        image = Image.fromarray((x * 4000 + y * 100).astype(np.uint16))
    else:
        image = Image.fromarray(rgb).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@functools.cache
def seeds(kind: str) -> tuple[Seed, ...]:
    """The valid files mutations start from, for one decoder."""
    if kind == "audio":
        wav, f32 = _wav_s16(), _encode("wav", audio=("pcm_f32le", 8000, "stereo"), seconds=0.1)
        flac = _encode("flac", audio=("flac", 16000, "mono"))
        mp3 = _encode("mp3", audio=("libmp3lame", 22050, "mono"))
        m4a = _encode("ipod", audio=("aac", 16000, "mono"))
        ogg = _encode("ogg", audio=("libopus", 48000, "mono"))
        movie = seeds("video")[0]
        flac_fields = [(offset, 4, "big") for offset in (8, 10, 12, 15, 18, 21, 22)]
        ogg_fields = [(at + k, w, "little") for at in _find_all(ogg, b"OggS") for k, w in ((5, 1), (6, 4), (10, 4))]
        mp3_fields = [(6, 4, "big")] + [(at, 4, "big") for at in _find_all(mp3, b"\xff\xfb")[:3]]
        mp3_fields += _words_after(mp3, (b"Xing", b"Info"), 3, "big", skip=4)
        return (
            Seed("s16.wav", ".wav", wav, WAV_FIELDS),
            Seed("f32.wav", ".wav", f32, WAV_FIELDS),
            Seed("flac.flac", ".flac", flac, tuple(flac_fields)),
            Seed("mp3.mp3", ".mp3", mp3, tuple(mp3_fields)),
            Seed("aac.m4a", ".m4a", m4a, tuple(_mp4_fields(m4a))),
            Seed("opus.ogg", ".ogg", ogg, tuple(ogg_fields)),
            movie,
        )
    if kind == "image":
        from PIL import Image

        exif = Image.Exif()
        exif[0x0112] = 6  # EXIF orientation: turned 90 degrees
        png, png16 = _image("PNG", "RGBA"), _image("PNG", "I;16")
        jpeg, bmp, tiff = _image("JPEG", exif=exif.tobytes()), _image("BMP"), _image("TIFF", compression="tiff_lzw")
        gif, webp = _image("GIF", "P", transparency=0), _image("WEBP", quality=50)
        return (
            Seed("rgba.png", ".png", png, tuple(_png_fields(png)), fix_png_crcs),
            Seed("grey16.png", ".png", png16, tuple(_png_fields(png16)), fix_png_crcs),
            Seed("exif.jpg", ".jpg", jpeg, tuple(_jpeg_fields(jpeg))),
            Seed("rgb.bmp", ".bmp", bmp, BMP_FIELDS),
            Seed("lzw.tiff", ".tiff", tiff, tuple(_tiff_fields(tiff))),
            Seed("p.gif", ".gif", gif, ((6, 2, "little"), (8, 2, "little"), (10, 1, "little"))),
            Seed("lossy.webp", ".webp", webp, WEBP_FIELDS),
            Seed("rgb.ppm", ".ppm", _image("PPM")),
            Seed("rgb.tga", ".tga", _image("TGA"), ((12, 2, "little"), (14, 2, "little"), (16, 1, "little"))),
            Seed("rgb.pcx", ".pcx", _image("PCX"), tuple((k, 2, "little") for k in range(4, 12, 2))),
            Seed("rgb.sgi", ".sgi", _image("SGI"), tuple((k, 2, "big") for k in range(4, 12, 2))),
            Seed("rgb.qoi", ".qoi", _image("QOI"), ((4, 4, "big"), (8, 4, "big"), (12, 1, "big"))),
            Seed("rgb.ico", ".ico", _image("ICO", sizes=[(8, 8)]), ICO_FIELDS),
        )
    if kind == "video":
        mp4 = _encode("mp4", audio=("aac", 16000, "mono"), video=("libx264", "yuv420p"))
        webm = _encode("webm", video=("libvpx", "yuv420p"), audio=("libopus", 48000, "mono"))
        avi = _encode("avi", video=("mjpeg", "yuvj420p"), audio=("pcm_s16le", 8000, "mono"))
        mkv = _encode("matroska", video=("mpeg4", "yuv420p"))
        avi_fields = _words_after(avi, (b"avih", b"strh", b"strf"), 12, "little")
        return (
            Seed("h264.mp4", ".mp4", mp4, tuple(_mp4_fields(mp4))),
            Seed("vp8.webm", ".webm", webm),
            Seed("mjpeg.avi", ".avi", avi, tuple(avi_fields)),
            Seed("mpeg4.mkv", ".mkv", mkv),
        )
    if kind == "anim-json":
        return tuple(Seed(name, ".json", json.dumps(document).encode()) for name, document in anim_documents().items())
    if kind == "transcript":
        texts = {
            "plums.txt": "Please pass me the big blue bowl of plums, Bob.\n",
            "accents.txt": "Café naïve — 日本語のテキスト 🎤\r\nZweite Zeile.\n",
            "bom.txt": "\ufeffThe quick brown fox.\n",
        }
        return tuple(Seed(name, ".txt", text.encode()) for name, text in texts.items())
    raise ValueError(kind)


@functools.cache
def anim_documents() -> dict[str, dict[str, Any]]:
    """anim-json documents written by the exporter: every track, and none."""
    from mouthpiece import api
    from mouthpiece.types import Animation, PhoneTrack, ShapeTrack, VisemeTrack
    from mouthpiece.vocabulary import VISEMES

    ramp = np.linspace(0.0, 1.0, 6)[:, None] * np.array([0.5, 0.25, -0.5])
    weights = np.zeros((6, len(VISEMES)))
    weights[:, 1] = 1.0
    full = Animation(
        fps=30.0,
        values=ramp,
        channels=("JawOpen", "MouthClose", "HeadYaw"),
        phones=PhoneTrack([(0.0, 0.05, "sil"), (0.05, 0.1, "M", 0.9), (0.1, 0.2, "AA")], 0.2, [(0.05, 0.2, "ma")]),
        visemes=VisemeTrack([(0.0, 0.05, "sil"), (0.05, 0.1, "PP"), (0.1, 0.2, "aa")], 0.2),
        cues=ShapeTrack([(0.0, 0.05, "X"), (0.05, 0.1, "A"), (0.1, 0.2, "D")], 0.2),
        viseme_weights=weights,
    )
    bare = Animation(fps=24.0, values=ramp[:3, :1], channels=("JawOpen",))
    documents = {}
    for name, animation in (("full.json", full), ("bare.json", bare)):
        text = io.StringIO()
        api.export_stream(animation, text, format="anim-json")
        documents[name] = json.loads(text.getvalue())
    return documents


# ---------------------------------------------------------------------------------------------
# Strategies

INTERESTING = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
OPERATIONS = ("flip", "byte", "interesting", "field", "field", "insert", "delete", "truncate", "repeat")


@dataclass(frozen=True)
class Case:
    """One fuzzed input: a file's bytes (or, for ``ws``, the messages), and how it was made."""

    kind: str
    how: str  # the seed and the kind of change, for the report
    suffix: str = ""
    data: bytes = b""
    messages: tuple[tuple[str, Any], ...] = ()  # ws: ("text", str) or ("bytes", bytes)
    token: str | None = None  # ws: the server's token


def _position(n: int) -> st.SearchStrategy[int]:
    """An offset in ``n`` bytes, often in the header."""
    return st.one_of(st.integers(0, min(n, 64)), st.integers(0, n))


@st.composite
def mutated(draw: st.DrawFn, seed: Seed) -> bytes:
    """``seed``'s bytes with one to eight changes."""
    data = bytearray(seed.data)
    for _ in range(draw(st.integers(1, 8))):
        operation = draw(st.sampled_from(OPERATIONS)) if data else "insert"
        at = draw(_position(len(data) - 1 if data else 0))
        if operation == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif operation == "byte":
            data[at] = draw(st.integers(0, 255))
        elif operation in ("interesting", "field"):
            width, order = draw(st.sampled_from([(1, "big"), (2, "little"), (2, "big"), (4, "little"), (4, "big")]))
            if operation == "field" and seed.fields:
                at, width, order = draw(st.sampled_from(seed.fields))
            if at + width > len(data):
                continue
            current = int.from_bytes(data[at : at + width], order)
            value = draw(
                st.one_of(
                    st.sampled_from(INTERESTING),
                    st.integers(current - 16, current + 16),
                    st.sampled_from([current * 2, current // 2, current * 256]),
                    st.integers(0, 2 ** (8 * width) - 1),
                )
            )
            data[at : at + width] = (value % 2 ** (8 * width)).to_bytes(width, order)
        elif operation == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif operation == "delete":
            del data[at : at + draw(st.integers(1, 256))]
        elif operation == "truncate":
            del data[at:]
        else:  # repeat a stretch where it is
            data[at:at] = data[at : at + draw(st.integers(1, 512))]
    if seed.fix is not None and draw(st.booleans()):
        seed.fix(data)
    return bytes(data)


@st.composite
def files(draw: st.DrawFn, kind: str) -> Case:
    """Random bytes, a seed's head and random bytes, or (most often) a mutated seed."""
    choice = draw(st.integers(0, 9))
    seed = draw(st.sampled_from(seeds(kind)))
    if choice == 0:
        return Case(kind, "random bytes", seed.suffix, draw(st.binary(max_size=2048)))
    if choice == 1:
        head = seed.data[: draw(st.integers(1, 64))]
        return Case(kind, f"head of {seed.name} + random bytes", seed.suffix, head + draw(st.binary(max_size=2048)))
    return Case(kind, f"mutated {seed.name}", seed.suffix, draw(mutated(seed)))


@dataclass(frozen=True)
class Raw:
    """JSON text put into a document as it is: what ``json.dumps`` will not write."""

    text: str


RAW_JSON = st.one_of(
    st.integers(300, 6000).map(lambda n: Raw("9" * n)),  # past Python's 4300-digit limit on int()
    st.sampled_from([Raw("1e999"), Raw("-1e999"), Raw("NaN"), Raw('"\\ud800"'), Raw("-0")]),
    st.integers(100, 200_000).map(lambda n: Raw("[" * n + "]" * n)),  # nesting past the recursion limit
    st.integers(100, 50_000).map(lambda n: Raw('{"a":' * n + "1" + "}" * n)),
)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12), st.integers(-(2**70), 2**70)
)
JSON_VALUES = st.recursive(
    st.one_of(SCALARS, RAW_JSON),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=12,
)


def to_json(value: Any) -> str:
    """``value`` as JSON text, :class:`Raw` parts as they are."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return json.dumps(value)


@st.composite
def edited(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one value somewhere in it replaced, removed, repeated or scaled."""
    if not isinstance(document, (dict, list)) or not document or draw(st.integers(0, 3)) == 0:
        return draw(JSON_VALUES)
    keys = list(document) if isinstance(document, dict) else list(range(len(document)))
    key = draw(st.sampled_from(keys))
    copy: Any = dict(document) if isinstance(document, dict) else list(document)
    action = draw(st.sampled_from(["into", "into", "into", "remove", "repeat", "number"]))
    if action == "into":
        copy[key] = draw(edited(document[key]))
    elif action == "remove":
        del copy[key]
    elif action == "repeat" and isinstance(copy, list):
        copy.insert(key, copy[key])
    elif action == "number":
        copy[key] = draw(st.sampled_from([-1, 0, 1e-300, 1e300, 2**64, 10**400, -0.0]))
    return copy


@st.composite
def anim_json_files(draw: st.DrawFn) -> Case:
    """A document edited once to four times, or the file cases of :func:`files`."""
    if draw(st.integers(0, 2)) == 0:
        return draw(files("anim-json"))
    name, document = draw(st.sampled_from(sorted(anim_documents().items())))
    for _ in range(draw(st.integers(1, 4))):
        document = draw(edited(document))
    return Case("anim-json", f"edited {name}", ".json", to_json(document).encode())


@st.composite
def transcripts(draw: st.DrawFn) -> Case:
    if draw(st.integers(0, 3)) == 0:
        return Case("transcript", "any text", ".txt", draw(st.text()).encode("utf-8", "surrogatepass"))
    return draw(files("transcript"))


START_OPTIONS: dict[str, st.SearchStrategy[Any]] = {
    "fps": st.one_of(st.integers(0, 300), st.floats()),
    "lookahead_ms": st.one_of(st.integers(-10, 3000), st.floats()),
    "max_lookahead_ms": st.one_of(st.integers(-10, 3000), st.floats()),
    "size": st.one_of(st.integers(0, 2000), st.floats()),
    "video_fps": st.one_of(st.integers(0, 100), st.floats()),
    "portrait": st.one_of(
        st.sampled_from([None, "sample", "data:image/png;base64,", "data:image/png;base64,!!!"]),
        st.binary(max_size=64).map(lambda b: "data:image/png;base64," + base64.b64encode(b).decode()),
    ),
    "idle": st.one_of(st.booleans(), st.integers(0, 1)),
    "text": st.one_of(st.none(), st.text(max_size=40), st.integers(10_000, 10_002).map(lambda n: "a" * n)),
    "language": st.sampled_from(["en-us", "fr", "en-us+f3", "../../etc/passwd", "/dev/zero", "", "xx-yy", "en+"]),
    "voice": st.sampled_from(["en", "de", "nonsense"]),
    "recognizer": st.sampled_from(["neural", "phones", "sphinx", ""]),
    "token": st.sampled_from(["s3cret", "wrong", ""]),
}


@st.composite
def start_messages(draw: st.DrawFn) -> tuple[str, Any]:
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return ("bytes", draw(st.binary(max_size=64)))
    if choice == 1:
        return ("text", draw(st.one_of(st.text(max_size=40), JSON_VALUES.map(to_json))))
    start: dict[str, Any] = {"type": draw(st.sampled_from(["start", "start", "start", "end", "Start", 1]))}
    for key in draw(st.lists(st.sampled_from(sorted(START_OPTIONS)), max_size=6, unique=True)):
        start[key] = draw(st.one_of(START_OPTIONS[key], START_OPTIONS[key], JSON_VALUES))
    return ("text", to_json(start))


@st.composite
def later_messages(draw: st.DrawFn) -> tuple[str, Any]:
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return (
            "bytes",
            draw(st.one_of(st.binary(max_size=64), st.sampled_from([0, 1, 32_000, 32_001, 32_002]).map(bytes))),
        )
    if choice == 1:
        return ("text", draw(st.one_of(st.text(max_size=40), JSON_VALUES.map(to_json))))
    if choice == 2:
        return ("text", to_json({"type": "end"}))
    message: dict[str, Any] = {"type": draw(st.sampled_from(["text", "end", "audio", "TEXT", None]))}
    if draw(st.booleans()):
        message["text"] = draw(st.one_of(START_OPTIONS["text"], JSON_VALUES))
    return ("text", to_json(message))


@st.composite
def ws_sessions(draw: st.DrawFn) -> Case:
    """A start message and up to three more, to a server with or without a token."""
    messages = (draw(start_messages()), *draw(st.lists(later_messages(), max_size=3)))
    token = draw(st.sampled_from([None, "s3cret"]))
    return Case("ws", "messages", messages=tuple(messages), token=token)


CASES: dict[str, st.SearchStrategy[Case]] = {
    "audio": files("audio"),
    "image": files("image"),
    "video": files("video"),
    "anim-json": anim_json_files(),
    "transcript": transcripts(),
    "ws": ws_sessions(),
}


# ---------------------------------------------------------------------------------------------
# The worker process: decodes one request at a time and says what happened.


class Malformed(Exception):
    """A decoder returned a value that breaks its own contract."""


class Refused(Exception):
    """The WebSocket parser refused a message (its StreamError), with the close code."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def _expect(condition: bool, why: str) -> None:
    if not condition:
        raise Malformed(why)


def _decode_audio(request: dict[str, Any]) -> dict[str, Any]:
    from mouthpiece.audio import load

    samples = load(request["path"]).samples
    _expect(samples.dtype == np.float32 and samples.ndim == 1 and len(samples) > 0, f"samples {samples.shape}")
    _expect(bool(np.isfinite(samples).all()), "samples are not finite")
    return {"samples": len(samples)}


def _decode_image(request: dict[str, Any]) -> dict[str, Any]:
    from mouthpiece.render.image import MAX_SIDE, load_image

    pixels = load_image(request["path"])
    _expect(pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3, f"pixels {pixels.shape}")
    _expect(min(pixels.shape[:2]) >= 1 and max(pixels.shape[:2]) <= MAX_SIDE, f"pixels {pixels.shape}")
    return {"shape": list(pixels.shape)}


def _decode_video(request: dict[str, Any]) -> dict[str, Any]:
    """Probe, then read every frame: each decoded frame once, or (``fps``) at a constant rate.

    At a constant rate a header may make a few frames last hours (a frame rate field patched to
    0.002 fps): they repeat for the length it gives, so reading stops at ``MAX_FRAMES`` and checks
    only that the reader's own bound on that length holds. Decoded once, ``MAX_FRAMES`` frames from
    a few kilobytes would be a decoder going round in circles."""
    from mouthpiece.render.reader import LATE_SECONDS, LATE_SHARE, probe_video, read_frames

    path, fps = request["path"], request["fps"]
    info = probe_video(path)
    _expect(np.isfinite(info.fps) and info.fps > 0, f"fps {info.fps}")
    _expect(np.isfinite(info.duration), f"duration {info.duration}")
    _expect(info.width > 0 and info.height > 0, f"size {info.width}x{info.height}")
    _expect(info.rotation in (0, 90, 180, 270), f"rotation {info.rotation}")
    count = 0
    for frame in read_frames(path, fps=fps):
        _expect(frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3, f"frame {frame.shape}")
        count += 1
        if count == MAX_FRAMES:
            _expect(fps is not None, f"{MAX_FRAMES} decoded frames from {os.path.getsize(path)} bytes")
            break
    if fps is not None:
        most = (LATE_SHARE * info.duration + LATE_SECONDS) * fps + 1
        _expect(count <= most, f"{count} frames at {fps} fps of a video of {info.duration:.2f} s")
    return {"frames": count, "fps": info.fps, "duration": info.duration}


def _decode_anim_json(request: dict[str, Any]) -> dict[str, Any]:
    from mouthpiece.export import read_anim_json
    from mouthpiece.types import Animation

    animation = read_anim_json(request["path"])
    _expect(isinstance(animation, Animation), f"returned {type(animation).__name__}")
    animation.validate()
    _expect(np.isfinite(animation.duration), f"duration {animation.duration}")
    return {"frames": animation.frame_count}


def _decode_transcript(request: dict[str, Any]) -> dict[str, Any]:
    from mouthpiece.inputs import read_text_file

    text = read_text_file(request["path"])
    _expect(isinstance(text, str), f"returned {type(text).__name__}")
    return {"characters": len(text)}


class _FakeSocket:
    """What the parser reads from a WebSocket: the messages, then a disconnect."""

    def __init__(self, messages: list[tuple[str, Any]]):
        self.messages = messages

    async def receive(self) -> dict[str, Any]:
        if not self.messages:
            return {"type": "websocket.disconnect", "code": 1000}
        kind, value = self.messages.pop(0)
        return {"type": "websocket.receive", kind: value}

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        pass


class _FakeStream:
    """A live stream that takes what it is sent and, at the end, lets the sender finish."""

    def __init__(self, sender: asyncio.Future[None]):
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.sender = sender

    async def send(self, op: str, payload: Any = None) -> None:
        if op == "end":
            self.sender.set_result(None)

    def forget(self) -> None:
        pass


def _decode_ws(request: dict[str, Any]) -> dict[str, Any]:
    from fastapi import WebSocketDisconnect

    from mouthpiece.serve import streams

    messages = [(k, base64.b64decode(v) if k == "bytes" else v) for k, v in request["messages"]]
    folder = Path(request["folder"])

    async def session() -> dict[str, Any]:
        ws: Any = _FakeSocket(messages)
        options = await streams._start_options(ws, folder, 5.0, 2**20, token=request["token"])
        if options["portrait"] and Path(options["portrait"]).parent == folder:
            Path(options["portrait"]).unlink()
        _expect(1 <= options["fps"] <= 240 and 64 <= options["size"] <= 1024, f"options {options}")
        _expect(0 <= options["lookahead"] <= options["max_lookahead"] <= 2, f"options {options}")
        sender = asyncio.get_running_loop().create_future()
        stream: Any = _FakeStream(sender)
        with_text = options["text"] is not None
        await streams._receive_speech(ws, stream, sender, 5.0, with_text=with_text)
        return {"options": sorted(options)}

    try:
        return asyncio.run(asyncio.wait_for(session(), DECODE_TIMEOUT))
    except streams.StreamError as e:
        raise Refused(str(e), e.code) from e
    except WebSocketDisconnect:
        return {"disconnected": True}


DECODERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "audio": _decode_audio,
    "image": _decode_image,
    "video": _decode_video,
    "anim-json": _decode_anim_json,
    "transcript": _decode_transcript,
    "ws": _decode_ws,
}


def _decode(request: dict[str, Any]) -> dict[str, Any]:
    """What one decode gave: ok (with a summary), input_error, malformed or exception."""
    import warnings

    from mouthpiece.errors import InputError

    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            reply = {"outcome": "ok", "summary": DECODERS[request["decoder"]](request)}
        except InputError as e:
            reply = {"outcome": "input_error", "type": type(e).__name__, "message": str(e)}
        except Refused as e:
            reply = {"outcome": "input_error", "type": "StreamError", "message": str(e), "code": e.code}
        except Malformed as e:
            reply = {"outcome": "malformed", "detail": str(e)}
        except Exception as e:  # everything else is what the fuzzer looks for
            reply = {"outcome": "exception", "type": type(e).__name__, "detail": traceback.format_exc(limit=-8)}
    reply["warnings"] = sorted({f"{w.category.__name__}: {w.message}"[:200] for w in caught})
    reply["seconds"] = time.perf_counter() - started
    return reply


def serve_worker() -> None:
    """The worker's loop: a JSON request a line on stdin, a JSON reply a line on the real stdout."""
    faulthandler.enable()  # a segfault's Python stack goes to stderr, which the parent keeps
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # a C library that prints must not garble the replies
    import mouthpiece.audio  # noqa: F401  (the imports happen before the first request's clock)
    import mouthpiece.export  # noqa: F401
    import mouthpiece.render.image  # noqa: F401
    import mouthpiece.render.reader  # noqa: F401

    replies.write('{"outcome": "started"}\n')
    replies.flush()
    for line in sys.stdin:
        replies.write(json.dumps(_decode(json.loads(line))) + "\n")
        replies.flush()


class Worker:
    """A worker process, started when needed and again after it crashed or hung."""

    def __init__(self, *, timeout: float = DECODE_TIMEOUT):
        self.timeout = timeout
        self.process: subprocess.Popen[str] | None = None
        self.log = tempfile.TemporaryFile()
        self.starts = 0

    def _start(self) -> subprocess.Popen[str]:
        script = str(Path(__file__).resolve())
        process = subprocess.Popen(
            [sys.executable, script, "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.starts += 1
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
        if not ready or not process.stdout.readline():
            _stop(process)
            raise RuntimeError(f"The fuzz worker did not start:\n{self._log_tail()}")
        return process

    def _log_tail(self) -> str:
        self.log.seek(0, os.SEEK_END)
        size = self.log.tell()
        self.log.seek(max(0, size - 3000))
        return self.log.read().decode(errors="replace")

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        """The worker's reply; ``crash`` or ``hang`` when it died or took longer than the timeout."""
        if self.process is None or self.process.poll() is not None:
            self.process = self._start()
        assert self.process.stdin is not None and self.process.stdout is not None
        self.log.seek(0)
        self.log.truncate()
        started = time.perf_counter()
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # it died: the read below says how
        ready, _, _ = select.select([self.process.stdout], [], [], self.timeout)
        line = self.process.stdout.readline() if ready else ""
        if line:
            reply: dict[str, Any] = json.loads(line)
            return reply
        seconds = time.perf_counter() - started
        code = _stop(self.process)
        self.process = None
        if not ready:
            return {"outcome": "hang", "detail": f"no answer in {self.timeout:g} s", "seconds": seconds}
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        return {"outcome": "crash", "detail": f"the worker died ({how}):\n{self._log_tail()}", "seconds": seconds}

    def close(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None
        self.log.close()


def _stop(process: subprocess.Popen[str]) -> int:
    """Kill ``process`` (if it still runs) and close its pipes; its exit status."""
    process.kill()
    code = process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            try:
                pipe.close()
            except BrokenPipeError:  # unflushed input to a process that died
                pass
    return code


@dataclass
class Result:
    outcome: str  # ok, input_error, or what went wrong: exception, malformed, crash, hang, message
    seconds: float
    failure: str | None = None  # what went wrong, with the saved input
    warnings: list[str] = field(default_factory=list)


def run_case(worker: Worker, case: Case, folder: Path) -> Result:
    """Decode ``case`` in ``worker`` (its file written in ``folder``) and judge the outcome."""
    path = folder / f"fuzzed{case.suffix}"
    request: dict[str, Any] = {"decoder": case.kind, "path": str(path), "fps": None, "folder": str(folder)}
    if case.kind == "ws":
        request["messages"] = [(k, base64.b64encode(v).decode() if k == "bytes" else v) for k, v in case.messages]
        request["token"] = case.token
    else:
        path.write_bytes(case.data)
        request["fps"] = 25.0 if len(case.data) % 2 else None  # video: half the cases at a constant rate
    reply = worker.run(request)
    outcome, failure = reply["outcome"], None
    if outcome == "input_error":
        message = reply["message"]
        if case.kind != "ws" and path.name not in message:
            outcome, failure = "message", f"the {reply['type']} does not name the file: {message!r}"
        elif "\n" in message or not message.strip():
            outcome, failure = "message", f"the {reply['type']} is not one line: {message!r}"
        elif case.kind == "ws" and reply.get("code") not in (1008, 1009):
            outcome, failure = "message", f"close code {reply.get('code')} for {message!r}"
    elif outcome != "ok":
        failure = f"{outcome}: {reply.get('type', '')} {reply.get('detail', '')}".strip()
    unexpected = [w for w in reply.get("warnings", []) if not w.startswith(EXPECTED_WARNINGS)]
    if failure is None and unexpected:  # printed on the user's terminal, or an error under -W error
        outcome, failure = "warning", f"warning: {unexpected[0]}"
    return Result(outcome, reply["seconds"], failure, reply.get("warnings", []))


def save_failure(case: Case, folder: Path, stem: str = "failure") -> Path:
    """Keep a failing input: the file itself, or the WebSocket messages as JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    if case.kind == "ws":
        path = folder / f"{stem}-ws.json"
        messages = [(k, base64.b64encode(v).decode() if k == "bytes" else v) for k, v in case.messages]
        path.write_text(json.dumps({"token": case.token, "messages": messages, "bytes": "base64"}))
    else:
        path = folder / f"{stem}-{case.kind}{case.suffix}"
        path.write_bytes(case.data)
    return path


# ---------------------------------------------------------------------------------------------
# The short run


@pytest.fixture(scope="module")
def worker():
    running = Worker()
    yield running
    running.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _check(worker: Worker, case: Case, folder: Path) -> None:
    result = run_case(worker, case, folder)
    if result.failure is not None:
        saved = save_failure(case, folder / "failures")
        raise AssertionError(f"{case.kind} decoder, {case.how}, input saved as {saved}: {result.failure}")


@fuzz_settings(300)
@given(case=CASES["audio"])
def test_audio_decoder(worker, folder, case):
    _check(worker, case, folder)


@fuzz_settings(400)
@given(case=CASES["image"])
def test_image_decoder(worker, folder, case):
    _check(worker, case, folder)


@fuzz_settings(300)
@given(case=CASES["video"])
def test_video_decoder(worker, folder, case):
    _check(worker, case, folder)


@fuzz_settings(500)
@given(case=CASES["anim-json"])
def test_anim_json_reader(worker, folder, case):
    _check(worker, case, folder)


@fuzz_settings(200)
@given(case=CASES["transcript"])
def test_transcript_reader(worker, folder, case):
    _check(worker, case, folder)


@fuzz_settings(500)
@given(case=CASES["ws"])
def test_websocket_messages(worker, folder, case):
    _check(worker, case, folder)


@pytest.mark.parametrize("kind", ["audio", "image", "video", "anim-json", "transcript"])
def test_seeds_decode(worker, folder, kind):
    """The valid files the mutations start from decode: the fuzzer starts from real formats."""
    for seed in seeds(kind):
        result = run_case(worker, Case(kind, f"seed {seed.name}", seed.suffix, seed.data), folder)
        assert result.outcome == "ok", (seed.name, result)


def test_worker_reports_crashes_and_hangs(folder):
    """A segfault and a hang fail the example (and the worker comes back) instead of ending the run."""
    worker = Worker(timeout=2.0)
    try:
        crash = worker.run({"decoder": "crash"})
        assert crash["outcome"] == "crash" and "SIGSEGV" in crash["detail"]
        hang = worker.run({"decoder": "hang"})
        assert hang["outcome"] == "hang"
        transcript = seeds("transcript")[0]
        assert run_case(worker, Case("transcript", "seed", ".txt", transcript.data), folder).outcome == "ok"
    finally:
        worker.close()


# ---------------------------------------------------------------------------------------------
# What the fuzzer found: each input as it was made, decoded here in the test process (none of
# them crashes), so that pytest's filterwarnings = error also fails on a warning.


def _refused(decode: Callable[[Path], Any], path: Path) -> str:
    from mouthpiece.errors import InputError

    with pytest.raises(InputError) as caught:
        decode(path)
    message = str(caught.value)
    assert path.name in message and "\n" not in message, message
    return message


@pytest.mark.parametrize(
    "text, phrase",
    [
        ('{"schema": "mouthpiece.animation", "version": 1, "fps": ' + "9" * 5000 + "}", "too many digits"),
        ("[" * 100_000 + "]" * 100_000, "too deeply"),
        ('{"a":' * 5000 + "1" + "}" * 5000, "too deeply"),
    ],
    ids=["5000-digit integer", "nested arrays", "nested objects"],
)
def test_anim_json_numbers_and_nesting_python_refuses(tmp_path, text, phrase):
    """json.load raised ValueError (int's 4300-digit limit) and RecursionError, not InputError."""
    from mouthpiece.export import read_anim_json

    path = tmp_path / "animation.json"
    path.write_text(text)
    assert phrase in _refused(read_anim_json, path)


def test_anim_json_integer_past_float_range(tmp_path):
    """An integer too large for a float (OverflowError) among the values, or past float32 (a
    RuntimeWarning from the cast) is a malformed animation."""
    from mouthpiece.export import read_anim_json

    document = anim_documents()["bare.json"]
    for value in (Raw("1" + "0" * 400), Raw("1e300")):
        path = tmp_path / "animation.json"
        path.write_text(to_json({**document, "values": [[value]] * len(document["values"])}))
        _refused(read_anim_json, path)


@pytest.mark.parametrize("channels", [1, 2])
def test_float_wav_with_nan_names_the_file(tmp_path, channels):
    """Float PCM holding NaN: the InputError came from Audio's check and did not name the file."""
    from mouthpiece.audio import load

    path = tmp_path / "nan.wav"
    with av.open(str(path), "w") as container:
        layout = "stereo" if channels == 2 else "mono"
        stream = container.add_stream("pcm_f32le", rate=8000, layout=layout)
        samples = np.zeros((1, 800 * channels), np.float32)
        samples[0, 100] = np.nan
        frame = av.AudioFrame.from_ndarray(samples, format="flt", layout=layout)
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    assert "NaN" in _refused(load, path)


def test_float_wav_near_float32_max_is_refused_without_overflow(tmp_path):
    """Two channels of 3e38 overflowed float32's mean to infinity (a RuntimeWarning), then
    loaded as finite garbage; now one sentence names the file."""
    from mouthpiece.audio import load

    path = tmp_path / "loud.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_f32le", rate=8000, layout="stereo")
        frame = av.AudioFrame.from_ndarray(np.full((1, 1600), 3e38, np.float32), format="flt", layout="stereo")
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow on the way
        assert "over full scale" in _refused(load, path)


@pytest.mark.parametrize("index", range(4), ids=lambda i: ["mp4", "webm", "avi", "mkv"][i])
def test_video_with_legacy_encoded_tags(tmp_path, index):
    """A title in Latin-1 made av.open raise UnicodeDecodeError in probe_video."""
    from mouthpiece.render.reader import probe_video, read_frames

    seed = seeds("video")[index]
    path = tmp_path / f"latin1{seed.suffix}"
    path.write_bytes(seed.data.replace("Café".encode(), b"Caf\xe9 "))
    assert probe_video(path).width == 32
    assert len(list(read_frames(path))) == 4


def test_video_frame_timed_far_past_its_header(tmp_path):
    """A 1 kB file whose last frame is timed 10^4 s after the others (the header says 0.4 s):
    read at 25 fps it gave the frame before 250,000 times; at 10^6 s, an hour of work."""
    from fractions import Fraction

    from mouthpiece.render.reader import probe_video, read_frames

    path = tmp_path / "jump.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        for i, pts in enumerate([0, 1, 2, 100_000]):
            frame = av.VideoFrame.from_ndarray(np.full((24, 32, 3), 40 * i, np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 10)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    assert probe_video(path).duration < 1
    assert len(list(read_frames(path))) == 4  # each decoded frame once: nothing repeated
    assert "far past" in _refused(lambda p: list(read_frames(p, fps=25)), path)


def test_image_with_damaged_exif_loads_without_warning(tmp_path):
    """Pillow's UserWarning about truncated EXIF reached the user's terminal (an error under -W error)."""
    from PIL import Image

    from mouthpiece.render.image import load_image

    exif = Image.Exif()
    exif[0x0112], exif[0x010F] = 6, "Maker"
    path = tmp_path / "exif.jpg"
    Image.new("RGB", (8, 6)).save(path, "JPEG", exif=exif.tobytes()[:-1])
    assert load_image(path).shape == (6, 8, 3)


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "start", "recognizer": ["neural"]}',  # TypeError: unhashable type: 'list'
        '{"type": "start", "fps": ' + "9" * 5000 + "}",  # ValueError: int's 4300-digit limit
    ],
    ids=["recognizer list", "5000-digit integer"],
)
def test_websocket_start_messages_refused_with_a_sentence(tmp_path, text):
    """The start-message parser raised TypeError and ValueError, not StreamError (1008)."""
    pytest.importorskip("fastapi")
    from mouthpiece.serve import streams

    ws: Any = _FakeSocket([("text", text)])
    with pytest.raises(streams.StreamError) as caught:
        asyncio.run(streams._start_options(ws, tmp_path, 5.0, 2**20, token=None))
    assert caught.value.code == 1008


def _crash(request: dict[str, Any]) -> dict[str, Any]:
    import ctypes

    ctypes.string_at(0)  # a null pointer read: SIGSEGV
    return {}


def _hang(request: dict[str, Any]) -> dict[str, Any]:
    time.sleep(3600)
    return {}


DECODERS.update(crash=_crash, hang=_hang)


if __name__ == "__main__" and sys.argv[1:] == ["--worker"]:
    serve_worker()
