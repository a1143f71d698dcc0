"""How well a lip-synced video keeps its source outside the mouth: PSNR and SSIM per frame.

Sketch. A lip-sync system should change the mouth and jaw and leave the rest of the
frame as it was. Per frame, the region it may change is found on the *source* frame
(:func:`mouth_jaw_region`): the convex hull of the outer lip contour, the face outline's
points below the nose tip (landmark 1) and the nose tip itself, grown by
:data:`REGION_MARGIN` of the eye distance. Frames where the source has no face are
compared whole. Outside the region:

- PSNR over the RGB values (peak 255), ``inf`` where the pixels are identical. A
  video's mean PSNR is that of the mean squared error over its frames (as FFmpeg's
  ``psnr`` filter averages), so it is ``inf`` only when every frame is identical.
- SSIM (Wang et al. 2004) on grey (BT.601 luma, 0-255): an 11x11 Gaussian window of
  sigma 1.5, ``K1 = 0.01``, ``K2 = 0.03``, image borders reflected, the SSIM map
  averaged over the pixels whose whole window lies outside the region (the region grown
  by the window's radius), so a change inside the region cannot lower it.

In JSON an infinite PSNR is written as null.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..face.landmarks import FACE_OVAL, LOWER_LIP_OUTER, UPPER_LIP_OUTER, eye_distance

NOSE_TIP = 1
REGION_MARGIN = 0.05  # of the eye distance, added around the mouth-and-jaw region
PEAK = 255.0  # of 8-bit pixel values
SSIM_WINDOW = 11  # pixels, each side of the Gaussian window
SSIM_SIGMA = 1.5  # pixels
SSIM_K1, SSIM_K2 = 0.01, 0.03
LUMA = np.array([0.299, 0.587, 0.114])  # BT.601 weights of R, G, B


@dataclass(frozen=True)
class PreserveResult:
    """Per-frame fidelity of a video to its source outside the mouth and jaw.

    mse : np.ndarray [shape=(T,)], mean squared RGB difference outside the region, per frame
    ssim : np.ndarray [shape=(T,)], SSIM outside the region, per frame (NaN where nothing is compared)
    masked : np.ndarray [shape=(T,), dtype=bool], frames where the source showed a face (and the region was left out)
    """

    fps: float
    mse: np.ndarray
    ssim: np.ndarray
    masked: np.ndarray

    @property
    def frames(self) -> int:
        return len(self.mse)

    @property
    def psnr(self) -> np.ndarray:
        """dB per frame; inf where identical."""
        return np.array([psnr_of(m) for m in self.mse.tolist()])

    @property
    def psnr_mean(self) -> float:
        """The PSNR of the mean squared error over the frames (inf only when all are identical)."""
        return psnr_of(float(np.nanmean(self.mse))) if self.frames else math.nan

    @property
    def psnr_min(self) -> float:
        return float(np.nanmin(self.psnr)) if self.frames else math.nan

    @property
    def psnr_worst(self) -> int:
        """Index of the frame of the lowest PSNR (the first of equals)."""
        return int(np.nanargmin(self.psnr)) if self.frames else -1

    @property
    def ssim_mean(self) -> float:
        return float(np.nanmean(self.ssim)) if self._any_ssim else math.nan

    @property
    def ssim_min(self) -> float:
        return float(np.nanmin(self.ssim)) if self._any_ssim else math.nan

    @property
    def ssim_worst(self) -> int:
        return int(np.nanargmin(self.ssim)) if self._any_ssim else -1

    @property
    def _any_ssim(self) -> bool:
        return bool(np.isfinite(self.ssim).any())

    def to_dict(self) -> dict[str, object]:
        """Plain JSON types; an infinite PSNR (identical pixels) and NaN become None."""
        return {
            "fps": self.fps,
            "frames": self.frames,
            "masked_frames": int(np.count_nonzero(self.masked)),
            "psnr_mean": _finite(self.psnr_mean, 3),
            "psnr_min": _finite(self.psnr_min, 3),
            "psnr_worst_frame": self.psnr_worst,
            "ssim_mean": _finite(self.ssim_mean, 5),
            "ssim_min": _finite(self.ssim_min, 5),
            "ssim_worst_frame": self.ssim_worst,
            "psnr": [_finite(v, 3) for v in self.psnr.tolist()],
            "ssim": [_finite(v, 5) for v in self.ssim.tolist()],
        }


def _finite(value: float, digits: int) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def mouth_jaw_region(landmarks: np.ndarray, *, height: int, width: int) -> np.ndarray:
    """The pixels a lip-sync system may change: mouth and jaw, from the source frame's face.

    Parameters
    ----------
    landmarks : np.ndarray [shape=(478, 2 or 3)], MediaPipe face-mesh landmarks in pixels
    height, width : int, of the frame

    Returns
    -------
    np.ndarray [shape=(height, width), dtype=bool], True inside the region
    """
    points = np.asarray(landmarks, np.float64)[:, :2]
    oval = [i for i in FACE_OVAL if points[i, 1] > points[NOSE_TIP, 1]]
    corners = points[list(UPPER_LIP_OUTER + LOWER_LIP_OUTER) + oval + [NOSE_TIP]]
    hull = cv2.convexHull(np.round(corners).astype(np.int32))
    region = np.zeros((height, width), np.uint8)
    cv2.fillConvexPoly(region, hull, (1,))
    return _grown(region, round(REGION_MARGIN * eye_distance(points))) > 0


def _grown(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0:
        return mask
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask, disc)


def squared_error(source: np.ndarray, video: np.ndarray, *, keep: np.ndarray | None = None) -> float:
    """Mean squared difference of the RGB values of the pixels kept (NaN when none are).

    Parameters
    ----------
    source, video : np.ndarray [shape=(H, W, 3), dtype=uint8]
    keep : np.ndarray [shape=(H, W), dtype=bool] or None (every pixel), the pixels compared
    """
    difference = source.astype(np.float64) - video.astype(np.float64)
    squares = (difference**2).sum(axis=-1)
    if keep is not None:
        squares = squares[keep]
    return float(squares.sum() / (3 * squares.size)) if squares.size else math.nan


def psnr_of(mse: float) -> float:
    """PSNR in dB of a mean squared error of 8-bit values; inf for 0.

    >>> psnr_of(0.0), round(psnr_of(65.025), 2)
    (inf, 30.0)
    """
    if mse == 0:
        return math.inf
    return 10.0 * math.log10(PEAK**2 / mse)


def psnr(source: np.ndarray, video: np.ndarray, *, keep: np.ndarray | None = None) -> float:
    """PSNR in dB of ``video`` against ``source`` over the pixels kept (as :func:`squared_error`)."""
    return psnr_of(squared_error(source, video, keep=keep))


def ssim(source: np.ndarray, video: np.ndarray, *, keep: np.ndarray | None = None) -> float:
    """SSIM of the frames' luma, averaged over the kept pixels whose window holds only kept pixels.

    Parameters
    ----------
    source, video : np.ndarray [shape=(H, W, 3), dtype=uint8], RGB
    keep : np.ndarray [shape=(H, W), dtype=bool] or None (every pixel)

    Returns
    -------
    float
        1 for identical frames; NaN when no pixel is left to average.

    >>> frame = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    >>> ssim(frame, frame), ssim(frame, 255 - frame) < 0
    (1.0, True)
    """
    x, y = (frame.astype(np.float64) @ LUMA for frame in (source, video))

    def blur(image: np.ndarray) -> np.ndarray:
        size = (SSIM_WINDOW, SSIM_WINDOW)
        return cv2.GaussianBlur(image, size, SSIM_SIGMA, sigmaY=SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)

    c1, c2 = (SSIM_K1 * PEAK) ** 2, (SSIM_K2 * PEAK) ** 2
    mu_x, mu_y = blur(x), blur(y)
    var_x, var_y, cov = blur(x * x) - mu_x**2, blur(y * y) - mu_y**2, blur(x * y) - mu_x * mu_y
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    if keep is not None:
        window = np.ones((SSIM_WINDOW, SSIM_WINDOW), np.uint8)
        index = index[cv2.dilate((~keep).astype(np.uint8), window) == 0]
    return float(index.mean()) if index.size else math.nan


def score_frame(source: np.ndarray, video: np.ndarray, landmarks: np.ndarray | None) -> tuple[float, float]:
    """(mean squared error, SSIM) of one frame outside the mouth and jaw of the source's face.

    Parameters
    ----------
    source, video : np.ndarray [shape=(H, W, 3), dtype=uint8], RGB
    landmarks : np.ndarray [shape=(478, 2 or 3)] or None, the source frame's face; None compares whole frames
    """
    keep = None
    if landmarks is not None:
        keep = ~mouth_jaw_region(landmarks, height=source.shape[0], width=source.shape[1])
    return squared_error(source, video, keep=keep), ssim(source, video, keep=keep)
