"""Load a picture as upright 8-bit RGB pixels, whatever format and mode it comes in.

Pillow tells the format from the file's content (a PNG named ``.jpg`` loads), and the
image is decoded in full at once, so a truncated or corrupt file is an error here rather
than grey pixels later. Then, in order:

1. EXIF orientation is applied, so the picture is upright as a viewer shows it;
2. the mode becomes RGB: 16-bit, 32-bit and float grey are scaled to 8 bits (see
   :func:`_grey_to_uint8`), transparent pixels are composited on white, CMYK and the
   rest are converted by Pillow;
3. a picture whose longer side passes :data:`MAX_SIDE` is downscaled to it (JPEG decodes
   at a reduced scale first, then Lanczos), with a warning.
"""

from __future__ import annotations

import os
import re
import struct
import warnings

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from ..errors import InputError, TooLongError
from ..inputs import existing_file

MAX_SIDE = 4096  # px, the longest side a loaded image keeps; larger ones are downscaled
MAX_PIXELS = 200_000_000  # pixels (600 MB as RGB), the most an image may have to be loaded at all
BACKGROUND = (255, 255, 255)  # RGB shown through transparent pixels

HIGH_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")  # Pillow's 16-bit, 32-bit and float grey
TRANSPOSED_ORIENTATIONS = (5, 6, 7, 8)  # EXIF orientations that swap width and height

# What Pillow raises on a file it identified but cannot decode (truncated data, bad chunks).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)


def load_image(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file as upright 8-bit RGB pixels.

    Parameters
    ----------
    path : str or os.PathLike
        Any image Pillow reads: JPEG, PNG, WebP, BMP, TIFF, GIF (first frame), ...;
        the format is told from the content, not the extension.
    max_pixels : int > 0 or None
        The most pixels accepted (at most :data:`MAX_PIXELS`), checked from the header
        before anything is decoded.

    Returns
    -------
    np.ndarray [shape=(height, width, 3), dtype=uint8]
        RGB, rotated by the EXIF orientation, transparency composited on white, the
        longer side at most :data:`MAX_SIDE` pixels.

    Warns
    -----
    UserWarning
        When the image was downscaled: ``'face.jpg' is 6000x4000 pixels; downscaled to
        4096x2731.``

    Raises
    ------
    InputError
        The file is missing, a directory, empty, not an image, corrupt or truncated, or
        has more than :data:`MAX_PIXELS` pixels; TooLongError past ``max_pixels``.
    """
    name = existing_file(path, kind="image")
    image, original = _decode(name, MAX_PIXELS if max_pixels is None else min(max_pixels, MAX_PIXELS))
    rgb = _to_rgb(image)
    size = _fit(original)
    if size != original:
        if rgb.size != size:
            rgb = rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        warnings.warn(
            f"'{name}' is {original[0]}x{original[1]} pixels; downscaled to {size[0]}x{size[1]}.", stacklevel=2
        )
    return np.array(rgb, dtype=np.uint8)


def _fit(size: tuple[int, int]) -> tuple[int, int]:
    """``size`` scaled down so that its longer side is at most ``MAX_SIDE``."""
    width, height = size
    longer = max(width, height)
    if longer <= MAX_SIDE:
        return size
    return max(1, round(width * MAX_SIDE / longer)), max(1, round(height * MAX_SIDE / longer))


def _decode(name: str, max_pixels: int) -> tuple[Image.Image, tuple[int, int]]:
    """Open and fully decode ``name``, upright; also its upright size before any JPEG draft scaling."""
    try:
        # Pillow warns from 89 Mpx up and refuses from 179 Mpx up (twice its MAX_IMAGE_PIXELS);
        # the size is checked here instead, so its warning is not wanted.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            warnings.simplefilter("ignore", UserWarning)  # damaged EXIF that Pillow skips: the pixels are what count
            with Image.open(name) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise TooLongError(_too_large(name, width * height, max_pixels))
                if image.getexif().get(ExifTags.Base.Orientation) in TRANSPOSED_ORIENTATIONS:
                    width, height = height, width
                target = _fit(image.size)
                if target != image.size:
                    image.draft(None, target)  # JPEG only: decode at 1/2, 1/4 or 1/8, still >= target
                image.load()
                upright = ImageOps.exif_transpose(image)
    except InputError:
        raise
    except FileNotFoundError as e:  # removed since the checks above
        raise InputError(f"Image file '{name}' does not exist.") from e
    except PermissionError as e:
        raise InputError(f"Cannot read '{name}': permission denied.") from e
    except UnidentifiedImageError as e:
        raise InputError(f"'{name}' is not an image file, or not in a format Pillow reads.") from e
    except Image.DecompressionBombError as e:
        found = re.search(r"\((\d+) pixels\)", str(e))
        limit = max_pixels if Image.MAX_IMAGE_PIXELS is None else min(max_pixels, 2 * Image.MAX_IMAGE_PIXELS)
        raise TooLongError(_too_large(name, int(found[1]) if found else None, limit)) from e
    except DECODE_ERRORS as e:
        reason = str(e) or type(e).__name__
        raise InputError(f"'{name}' is corrupt or truncated: {reason[:1].lower()}{reason[1:]}.") from e
    return upright, (width, height)


def _too_large(name: str, pixels: int | None, limit: int) -> str:
    count = f"{pixels:,} pixels" if pixels is not None else "too many pixels"
    return f"'{name}' is too large to load: {count}, more than the {limit:,} allowed."


def _to_rgb(image: Image.Image) -> Image.Image:
    """``image`` in mode RGB, transparency composited on :data:`BACKGROUND`."""
    if image.mode in HIGH_BIT_MODES:
        image = Image.fromarray(_grey_to_uint8(np.asarray(image), image.mode))
    elif image.mode == "La":  # premultiplied; Pillow converts it to nothing but LA
        image = image.convert("LA")
    if image.has_transparency_data:
        layer = image.convert("RGBA")
        background = Image.new("RGBA", layer.size, (*BACKGROUND, 255))
        return Image.alpha_composite(background, layer).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def _grey_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    """Scale grey values of a high-bit Pillow ``mode`` to uint8, rounding rather than clipping.

    16-bit modes span 0..65535. Mode ``I`` (32-bit int) is taken as 16-bit when it fits
    in 0..65535 (what 16-bit PNG, PGM and TIFF give), and ``F`` (float) as 0..1 when it
    fits there; otherwise the image's own minimum..maximum is stretched to 0..255.

    >>> _grey_to_uint8(np.array([[0, 32768, 65535]], np.uint16), "I;16")
    array([[  0, 128, 255]], dtype=uint8)
    >>> _grey_to_uint8(np.array([[-1.0, 0.0, 3.0]], np.float32), "F")
    array([[  0,  64, 255]], dtype=uint8)
    """
    x = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if mode.startswith("I;16") or (mode == "I" and low >= 0 and high <= 65535):
        x = x / 257.0
    elif mode == "F" and low >= 0 and high <= 1:
        x = x * 255.0
    else:
        x = (x - low) * (255.0 / (high - low)) if high > low else np.zeros_like(x)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)
