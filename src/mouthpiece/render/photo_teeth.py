"""A photo's own teeth, shown again when its mouth opens.

A photo that shows its teeth (a smile) has them between its lips (:mod:`~mouthpiece.face.teeth`
moves the inner-lip landmarks past them). The rig closes those lips at rest, the renderer
paints the photo's opening over (:func:`.mouth.clear_photo_mouth`), and when the mouth opens
again its inside is painted (:func:`.mouth.draw_mouth`). Where the photo's own teeth were,
they are the truest teeth there are: cut out of the photo at the start, they are laid over
the painted inside, fixed to the skull as upper teeth are (moved only as the head moves the
rig's upper teeth), and seen only where the new lips are apart. Below and beside them the
painted cavity, tongue and lower teeth show as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face import landmarks as lm
from ..face.rig import UPPER_TEETH
from ..types import FaceRig
from .mouth import mouth_axes

MIN_GAP = 0.03  # face units the photo's lips must be apart for what shows between them to be kept
MIN_BRIGHTER = 1.15  # a pixel this much brighter than the lips' median is tooth; a quarter of the opening: teeth show
MAX_SATURATION = 0.35  # teeth are near white; a pink lip or tongue as bright is not tooth
FEATHER = 0.008  # face units over which the cut-out fades at its edge
EDGE_IN = 0.006  # face units the cut-out keeps inside the photo's inner lips (their edge is lip, not tooth)
# Towards the corners a smile shows the dark of the cheeks' inside, not teeth, in the photo's
# own light: the cut-out fades out over this share of the mouth's half width before each
# corner, where the painted inside takes over.
CORNER_FADE = 0.35


@dataclass(frozen=True)
class PhotoTeeth:
    """The inside of a photo's open mouth, cut out, and where its upper teeth sit at rest."""

    crop: np.ndarray  # [h, w, 3] float32 RGB, the photo around its opening
    alpha: np.ndarray  # [h, w, 1] float32, the upper teeth in it, feathered
    corner: np.ndarray  # (x, y) of the crop's top left in the photo, pixels
    anchors: np.ndarray  # [K, 2] the rig's upper teeth at rest, pixels

    @classmethod
    def of(cls, image: np.ndarray, rig: FaceRig) -> PhotoTeeth | None:
        """The teeth the photo ``image`` shows between the lips of ``rig.source``; None where its
        lips are (nearly) shut or what shows between them is darker than teeth."""
        source = rig.source[:, :2].astype(np.float64)
        upper, lower = source[list(lm.UPPER_LIP_INNER)], source[list(lm.LOWER_LIP_INNER)]
        if float(np.linalg.norm(lower - upper, axis=1).max()) < MIN_GAP * rig.unit:
            return None
        opening = source[list(lm.MOUTH_OPENING)]
        height, width = image.shape[:2]
        x0, y0 = np.maximum(np.floor(opening.min(axis=0)).astype(int) - 2, 0)
        x1, y1 = np.minimum(np.ceil(opening.max(axis=0)).astype(int) + 3, (width, height))
        if x1 - x0 < 3 or y1 - y0 < 3:
            return None
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [np.round((opening - (x0, y0)) * 16).astype(np.int32)], (255,), cv2.LINE_AA, 4)
        inset = int(round(EDGE_IN * rig.unit))
        if inset > 0:
            mask = np.asarray(cv2.erode(mask, np.ones((2 * inset + 1, 2 * inset + 1), np.uint8)), np.uint8)
        inside = mask > 127
        if inside.sum() < 6:
            return None
        crop = image[y0:y1, x0:x1]
        luma = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float64)
        saturation = cv2.cvtColor(crop, cv2.COLOR_RGB2HSV)[..., 1].astype(np.float64) / 255
        bright = inside & (luma >= MIN_BRIGHTER * _lip_luma(image, source)) & (saturation <= MAX_SATURATION)
        if bright.sum() < max(6, 0.25 * inside.sum()):
            return None
        upper = _upper_teeth(inside, bright)
        alpha = np.asarray(cv2.GaussianBlur(upper.astype(np.float32), (0, 0), max(FEATHER * rig.unit, 0.5)), np.float32)
        middle, across, half = mouth_axes(source)
        ys, xs = np.mgrid[y0:y1, x0:x1]
        sideways = np.abs((xs - middle[0]) * across[0] + (ys - middle[1]) * across[1]) / half
        alpha *= np.clip((1 - sideways) / CORNER_FADE, 0, 1).astype(np.float32)
        anchors = rig.landmarks[UPPER_TEETH, :2].astype(np.float32)
        return cls(crop.astype(np.float32), alpha[..., None], np.array([x0, y0], np.float64), anchors)

    def paint(self, layer: np.ndarray, points: np.ndarray, origin: np.ndarray) -> None:
        """Lay the teeth over ``layer`` (float RGB, changed in place; its top left at ``origin``
        in the frame) where the posed rig ``points`` [N, 2+] put the upper teeth."""
        move, _ = cv2.estimateAffinePartial2D(self.anchors, points[UPPER_TEETH, :2].astype(np.float32))
        if move is None:  # degenerate: follow by translation alone
            move = np.hstack([np.eye(2), (points[UPPER_TEETH, :2] - self.anchors).mean(axis=0)[:, None]])
        linear = move[:, :2]
        to_layer = np.hstack([linear, (linear @ self.corner + move[:, 2] - origin)[:, None]])
        size = (layer.shape[1], layer.shape[0])
        teeth = cv2.warpAffine(self.crop, to_layer, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        alpha = cv2.warpAffine(self.alpha, to_layer, size, flags=cv2.INTER_LINEAR)[..., None]
        layer += alpha * (teeth - layer)


def _upper_teeth(inside: np.ndarray, bright: np.ndarray) -> np.ndarray:
    """Per column of the opening, its first run of bright pixels (the upper teeth) less the
    run's last pixel (where the edge blends into what lies below): not the lip above, nor
    the dark or the lower teeth below their edge (the raised tongue and the lower teeth are
    painted there, behind them)."""
    keep = np.zeros_like(inside)
    for x in range(inside.shape[1]):
        rows = np.flatnonzero(inside[:, x])
        lit = bright[rows, x]
        if not lit.any():
            continue
        start = end = int(np.argmax(lit))
        while end + 1 < len(lit) and lit[end + 1]:
            end += 1
        if end - start >= 2:
            keep[rows[start] : rows[end], x] = True
    return keep


def _lip_luma(image: np.ndarray, points: np.ndarray) -> float:
    """The median brightness of the lips between their outer and inner edges."""
    mask = np.zeros(image.shape[:2], np.uint8)
    for outer, inner in ((lm.UPPER_LIP_OUTER, lm.UPPER_LIP_INNER), (lm.LOWER_LIP_OUTER, lm.LOWER_LIP_INNER)):
        ring = np.concatenate([points[list(outer)], points[list(inner)][::-1]])
        cv2.fillPoly(mask, [np.round(ring * 16).astype(np.int32)], (255,), cv2.LINE_8, 4)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    pixels = grey[mask > 0]
    return float(np.median(pixels)) if len(pixels) else 255.0
