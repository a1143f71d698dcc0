"""mouthpiece.render.image on pictures made here: every mode to RGB, orientation, downscaling, bad files."""

from __future__ import annotations

import re
import struct
import wave
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from mouthpiece.errors import InputError
from mouthpiece.render.image import MAX_PIXELS, MAX_SIDE, load_image

H, W = 24, 32  # px, size of the mode-table images

RNG = np.random.default_rng(0)
NOISE = RNG.integers(0, 256, (H, W, 3), dtype=np.uint8)  # RGB test pattern
GREY = np.tile(np.linspace(0, 255, W).round().astype(np.uint8), (H, 1))  # 8-bit ramp
RAMP16 = np.tile(np.linspace(0, 65535, W).round().astype(np.uint16), (H, 1))  # 16-bit ramp, full range


def rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[..., None], 3, axis=2)


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares ``width`` x ``height`` pixels and holds none."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


# --- modes ---------------------------------------------------------------------------


def _rgba() -> Image.Image:
    a = np.dstack([NOISE, np.full((H, W), 255, np.uint8)])
    a[0, 0, 3] = 0  # transparent: white
    a[0, 1] = (0, 0, 0, 128)  # half-transparent black: mid grey
    return Image.fromarray(a)


def _rgba_expected() -> np.ndarray:
    e = NOISE.copy()
    e[0, 0] = 255
    e[0, 1] = 127
    return e


def _grey_alpha_expected() -> np.ndarray:
    e = rgb(np.asarray(Image.fromarray(NOISE).convert("L")))
    e[0, 0] = 255
    e[0, 1] = 127
    return e


def _palette_with_transparency() -> Image.Image:
    p = Image.fromarray(GREY).convert("P")
    p.info["transparency"] = p.getpixel((0, 0))  # index of black: the ramp's left column
    return p


def _palette_expected() -> np.ndarray:
    e = rgb(GREY)
    e[:, 0] = 255
    return e


def _i16b() -> Image.Image:
    return Image.frombytes("I;16B", (W, H), RAMP16.astype(">u2").tobytes())


# name, image, expected RGB, tolerance (max absolute difference)
MODES: list[tuple[str, Callable[[], Image.Image], Callable[[], np.ndarray], int]] = [
    ("rgb.png", lambda: Image.fromarray(NOISE), lambda: NOISE, 0),
    ("rgb.webp", lambda: Image.fromarray(NOISE), lambda: NOISE, 0),  # saved lossless below
    ("rgb.bmp", lambda: Image.fromarray(NOISE), lambda: NOISE, 0),
    ("grey.jpg", lambda: Image.fromarray(GREY), lambda: rgb(GREY), 6),
    ("grey.png", lambda: Image.fromarray(GREY), lambda: rgb(GREY), 0),
    ("bilevel.png", lambda: Image.fromarray(GREY > 127), lambda: rgb(np.where(GREY > 127, 255, 0)), 0),
    ("palette.png", lambda: Image.fromarray(GREY).convert("P"), lambda: rgb(GREY), 0),
    ("palette-transparent.png", _palette_with_transparency, _palette_expected, 0),
    ("palette-transparent.gif", _palette_with_transparency, _palette_expected, 0),
    ("rgba.png", _rgba, _rgba_expected, 1),
    ("rgba.webp", _rgba, _rgba_expected, 1),
    ("grey-alpha.png", lambda: _rgba().convert("LA"), _grey_alpha_expected, 1),
    ("i16.png", lambda: Image.fromarray(RAMP16), lambda: rgb(GREY), 0),
    ("i16b.tiff", _i16b, lambda: rgb(GREY), 0),
    ("i32.tiff", lambda: Image.fromarray(RAMP16.astype(np.int32)), lambda: rgb(GREY), 0),
    ("i32-wide.tiff", lambda: Image.fromarray(RAMP16.astype(np.int32) * 100 - 10**6), lambda: rgb(GREY), 1),
    ("float.tiff", lambda: Image.fromarray(RAMP16.astype(np.float32) / 65535), lambda: rgb(GREY), 0),
    ("float-wide.tiff", lambda: Image.fromarray(RAMP16.astype(np.float32) / 100 - 7), lambda: rgb(GREY), 1),
    ("cmyk.jpg", lambda: Image.fromarray(NOISE).convert("CMYK"), lambda: NOISE, 40),
    ("cmyk.tiff", lambda: Image.fromarray(NOISE).convert("CMYK"), lambda: NOISE, 0),
]


@pytest.mark.parametrize("name, make, expected, tolerance", MODES, ids=[m[0] for m in MODES])
def test_modes_become_rgb(tmp_path, name, make, expected, tolerance):
    path = tmp_path / name
    image = make()
    image.save(path, lossless=True) if name.endswith(".webp") else image.save(path)
    with Image.open(path) as check:  # the file really holds the mode under test
        assert check.mode == image.mode or (image.mode == "I;16B" and check.mode.startswith("I;16"))

    pixels = load_image(path)

    assert pixels.dtype == np.uint8 and pixels.shape == (H, W, 3)
    error = np.abs(pixels.astype(int) - expected().astype(int))
    if name == "cmyk.jpg":  # lossy chroma on noise: compare the mean error
        assert error.mean() < tolerance
    else:
        assert error.max() <= tolerance


def test_format_is_told_by_content(tmp_path):
    path = tmp_path / "really-a-png.jpg"
    Image.fromarray(NOISE).save(path, format="PNG")
    assert np.array_equal(load_image(str(path)), NOISE)


def test_16_bit_gradient_keeps_its_range(tmp_path):
    path = tmp_path / "ramp16.png"
    Image.fromarray(RAMP16).save(path)
    row = load_image(path)[0, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 255
    assert np.all(np.diff(row) > 0)  # 32 distinct steps, none clipped together
    assert row[W // 2] == pytest.approx(255 * (W // 2) / (W - 1), abs=1)


def test_exif_orientation_is_applied(tmp_path):
    raw = np.zeros((40, 80, 3), np.uint8)  # stored landscape
    raw[:8, :8] = (255, 0, 0)  # red marker in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the stored image must turn 90 degrees clockwise to stand upright
    path = tmp_path / "turned.jpg"
    Image.fromarray(raw).save(path, exif=exif.tobytes(), quality=95)

    pixels = load_image(path)

    assert pixels.shape == (80, 40, 3)  # portrait
    corner = pixels[:6, -6:].reshape(-1, 3).mean(axis=0)  # stored top-left lands top-right
    assert corner[0] > 200 and corner[1] < 60 and corner[2] < 60
    assert pixels[:6, :6].max() < 60 and pixels[-6:, -6:].max() < 60


@pytest.mark.parametrize(
    "name, size, orientation, expected",
    [
        ("wide.png", (5000, 100), None, (4096, 82)),
        ("wide.jpg", (9000, 90), None, (4096, 41)),  # decoded at half scale, then Lanczos
        ("exact.jpg", (8192, 64), None, (4096, 32)),  # decoded at half scale: nothing left to do
        ("tall-turned.jpg", (5000, 100), 6, (82, 4096)),
    ],
)
def test_large_images_are_downscaled_with_a_warning(tmp_path, name, size, orientation, expected):
    width, height = size
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2] = 200  # left half light, right half dark
    path = tmp_path / name
    options: dict[str, Any] = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif.tobytes()
    Image.fromarray(image).save(path, **options)
    shown = (height, width) if orientation == 6 else (width, height)

    message = f"'{path}' is {shown[0]}x{shown[1]} pixels; downscaled to {expected[0]}x{expected[1]}."
    with pytest.warns(UserWarning, match=re.escape(message)) as caught:
        pixels = load_image(path)

    assert len(caught) == 1
    assert pixels.shape == (expected[1], expected[0], 3)
    assert max(pixels.shape[:2]) == MAX_SIDE
    if orientation is None:  # the content is scaled, not cropped
        assert pixels[:, : expected[0] // 2 - 8].mean() == pytest.approx(200, abs=3)
        assert pixels[:, expected[0] // 2 + 8 :].mean() == pytest.approx(0, abs=3)


def test_no_warning_at_the_longest_side_allowed(tmp_path):
    path = tmp_path / "edge.png"
    Image.new("RGB", (MAX_SIDE, 4)).save(path)
    assert load_image(path).shape == (4, MAX_SIDE, 3)  # filterwarnings=error: any warning fails


def test_pillow_decompression_bomb_warning_does_not_leak(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow warns above 1000 pixels, refuses above 2000
    path = tmp_path / "forty.png"
    Image.new("RGB", (40, 40), (10, 20, 30)).save(path)
    assert load_image(path).shape == (40, 40, 3)


def test_size_limit_is_checked_before_decoding(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # Pillow's own limit off: ours applies
    path = png_header_only(tmp_path / "huge.png", 20_000, 10_001)
    with pytest.raises(InputError, match=f"200,020,000 pixels, more than the {MAX_PIXELS:,} allowed"):
        load_image(path)


# --- bad files -----------------------------------------------------------------------


def _missing(d: Path) -> Path:
    return d / "missing.png"


def _directory(d: Path) -> Path:
    (d / "folder.jpg").mkdir()
    return d / "folder.jpg"


def _zero_bytes(d: Path) -> Path:
    (d / "empty.png").touch()
    return d / "empty.png"


def _text_as_png(d: Path) -> Path:
    (d / "notes.png").write_text("not a picture\n")
    return d / "notes.png"


def _wav_as_jpg(d: Path) -> Path:
    with wave.open(str(d / "speech.jpg"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(np.zeros(1600, "<i2").tobytes())
    return d / "speech.jpg"


def _truncated(name: str) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        Image.fromarray(NOISE).resize((256, 256)).save(d / name)
        data = (d / name).read_bytes()
        (d / name).write_bytes(data[: len(data) // 2])
        return d / name

    return make


def _too_many_pixels(d: Path) -> Path:
    return png_header_only(d / "poster.png", 20_000, 20_000)  # 400 Mpx, under Pillow's default limits


@pytest.mark.parametrize(
    "make, phrase",
    [
        (_missing, "does not exist"),
        (_directory, "is a directory"),
        (_zero_bytes, "is empty"),
        (_text_as_png, "is not an image file"),
        (_wav_as_jpg, "is not an image file"),
        (_truncated("cut.jpg"), "is corrupt or truncated"),
        (_truncated("cut.png"), "is corrupt or truncated"),
        (_truncated("cut.webp"), "is corrupt or truncated"),
        (_too_many_pixels, "is too large to load: 400,000,000 pixels"),
    ],
    ids=["missing", "directory", "zero-bytes", "text", "wav", "jpeg", "png", "webp", "too-large"],
)
def test_bad_input(tmp_path, make: Callable[[Path], Path], phrase: str):
    path = make(tmp_path)
    with pytest.raises(InputError, match=re.escape(path.name)) as caught:
        load_image(path)
    message = str(caught.value)
    assert phrase in message
    assert message.endswith(".") and "\n" not in message
