"""RGB to and from planar 4:2:0 Y'CbCr (``yuv420p``), limited range, BT.709 or BT.601.

The writer converts with these and the reader undoes them with the same matrix, so a
pixel a dub leaves alone comes back as it was decoded (FFmpeg's scaler, which PyAV uses
otherwise, darkens green by a level or so each way). Chroma goes down by 2x2 means and
comes back by repeating each sample over its 2x2 block: a round trip leaves unchanged
chroma exactly as it was.

``bt709`` is HD video's matrix; ``bt601`` is SD's, and what FFmpeg assumes for video
that does not say.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

MATRICES = ("bt709", "bt601")
_LUMA_WEIGHTS = {"bt709": (0.2126, 0.0722), "bt601": (0.299, 0.114)}  # (Kr, Kb)


def _rgb_to_ycbcr(matrix: str) -> np.ndarray:
    """[3, 4]: rows Y, Cb, Cr of 8-bit limited-range Y'CbCr from 8-bit RGB, with offsets."""
    kr, kb = _LUMA_WEIGHTS[matrix]
    kg = 1 - kr - kb
    return np.array(
        [
            [kr * 219 / 255, kg * 219 / 255, kb * 219 / 255, 16.0],
            [-kr / (2 - 2 * kb) * 224 / 255, -kg / (2 - 2 * kb) * 224 / 255, 0.5 * 224 / 255, 128.0],
            [0.5 * 224 / 255, -kg / (2 - 2 * kr) * 224 / 255, -kb / (2 - 2 * kr) * 224 / 255, 128.0],
        ]
    )


def _inverse(forward: np.ndarray) -> np.ndarray:
    linear = np.linalg.inv(forward[:, :3])
    return np.column_stack([linear, -linear @ forward[:, 3]])


_TO_YCBCR = {m: _rgb_to_ycbcr(m).astype(np.float32) for m in MATRICES}
_TO_RGB = {m: _inverse(_rgb_to_ycbcr(m)).astype(np.float32) for m in MATRICES}
_scratch = threading.local()  # per thread: the decoder's and the writer's convert at once


def _buffer(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A uint8 scratch array of ``shape``, this thread's own, kept from call to call: fresh
    frame-sized arrays cost more in page faults than the conversions themselves."""
    buffer = getattr(_scratch, name, None)
    if buffer is None or buffer.shape != shape:
        buffer = np.empty(shape, np.uint8)
        setattr(_scratch, name, buffer)
    return buffer


def _planes(flat: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y, Cb and Cr planes in an I420 buffer."""
    luma, quarter = width * height, (width // 2) * (height // 2)
    chroma_shape = (height // 2, width // 2)
    return (flat[:luma].reshape(height, width), flat[luma : luma + quarter].reshape(chroma_shape),
            flat[luma + quarter : luma + 2 * quarter].reshape(chroma_shape))  # fmt: skip


def rgb_to_i420(frame: np.ndarray, matrix: str = "bt709") -> np.ndarray:
    """uint8 RGB [H, W, 3] (H and W even) -> [H * 3 / 2, W], the layout of PyAV's ``yuv420p``
    arrays: the Y plane, then the Cb and Cr planes, each of ``H/2 x W/2`` samples laid out
    in rows of W. OpenCV's vector code does in about 3 ms at 1080p what FFmpeg's scaler did
    in about 10.

    >>> grey = np.full((4, 4, 3), 128, np.uint8)
    >>> rgb_to_i420(grey)[:, 0].tolist()  # Y rows, then Cb, then Cr
    [126, 126, 126, 126, 128, 128]
    """
    height, width = frame.shape[:2]
    ycbcr = cv2.transform(np.ascontiguousarray(frame), _TO_YCBCR[matrix], dst=_buffer("ycbcr", (height, width, 3)))
    chroma = cv2.resize(ycbcr, (width // 2, height // 2), dst=_buffer("chroma", (height // 2, width // 2, 3)),
                        interpolation=cv2.INTER_AREA)  # 2x2 means  # fmt: skip
    planes = np.empty((height * 3 // 2, width), np.uint8)
    luma, cb, cr = _planes(planes.reshape(-1), width, height)
    cv2.mixChannels([ycbcr], [luma], [0, 0])
    cv2.mixChannels([chroma], [cb, cr], [1, 0, 2, 1])
    return planes


def i420_to_rgb(planes: np.ndarray, width: int, height: int, matrix: str = "bt709") -> np.ndarray:
    """The inverse of :func:`rgb_to_i420`: ``[H * 3 / 2, W]`` uint8 -> RGB [H, W, 3] uint8.

    >>> frame = np.random.default_rng(0).integers(0, 256, (6, 8, 3)).astype(np.uint8)
    >>> frame[:] = frame[::2, ::2].repeat(2, 0).repeat(2, 1)  # flat 2x2 blocks keep their colour
    >>> int(np.abs(i420_to_rgb(rgb_to_i420(frame), 8, 6).astype(int) - frame).max()) <= 2
    True
    """
    luma, cb, cr = _planes(planes.reshape(-1), width, height)
    quarter = cv2.merge([cb, cb, cr], dst=_buffer("quarter", (height // 2, width // 2, 3)))
    full = cv2.resize(quarter, (width, height), dst=_buffer("full", (height, width, 3)),
                      interpolation=cv2.INTER_NEAREST)  # fmt: skip
    cv2.mixChannels([luma], [full], [0, 0])  # Y over the first channel's stand-in
    return cv2.transform(full, _TO_RGB[matrix])
