"""The chin's edge where a dropping jaw carries it down onto the neck.

An opening jaw moves the chin further than the ring of points under it, so the strip of
neck between them is squeezed, and past a point folds away behind the chin
(:func:`mouthpiece.face.rig.build_rig`): the chin's outline then cuts into the neck as
a hard edge, and the shadow the photo had under the chin is squeezed out. So as the chin
comes down, its edge is softened over a pixel or two and a soft shadow is laid on the
neck just under it, both in proportion to how far the chin has closed in on the ring.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..face import landmarks as lm
from ..face.rig import HEAD_RING

SHADOW = 0.30  # brightness the neck loses right under a chin slid fully over it
SHADOW_WIDTH = 0.05  # face units under the chin over which the shadow fades
EDGE_SOFTNESS = 0.012  # face units (at least a pixel) over which the chin's edge is blurred
FULL_SLIDE = 0.10  # face units the chin closes in on the ring under it for full shadow and softening
SHADOW_FROM_CHIN = (0.35, 0.15)  # face units above the chin (at rest) where the shadow starts, and is full
LOWER_OVAL = 0.7  # outline points this far down the face (0 top, 1 chin) count as the chin's edge


class ChinEdge:
    """Softens the chin's edge and shades the neck under it, for one rig at rest.

    Parameters
    ----------
    rest : np.ndarray [shape=(N, 2 or 3)], the rig's rest points (its landmarks, then rings), pixels
    unit : float, pixels per face unit
    """

    def __init__(self, rest: np.ndarray, *, unit: float):
        oval = np.asarray(rest, np.float64)[list(lm.FACE_OVAL), :2]
        height = (oval[:, 1] - oval[:, 1].min()) / max(float(np.ptp(oval[:, 1])), 1e-6)
        self._lower = np.flatnonzero(height >= LOWER_OVAL)  # indices into FACE_OVAL / the head ring
        self._oval = np.array(lm.FACE_OVAL)[self._lower]
        self._ring = np.arange(HEAD_RING.start, HEAD_RING.stop)[self._lower]
        outward = np.asarray(rest, np.float64)[self._ring, :2] - oval[self._lower]
        self._gap = np.hypot(*outward.T)
        self._outward = outward / np.maximum(self._gap, 1e-9)[:, None]
        self._unit = unit
        # the face's down, and how far down the face the shadow starts and is full
        eyes = np.asarray(rest, np.float64)[[lm.RIGHT_EYE_CORNERS[0], lm.LEFT_EYE_CORNERS[0]], :2]
        across = (eyes[1] - eyes[0]) / max(float(np.hypot(*(eyes[1] - eyes[0]))), 1e-9)
        self._down = np.array([-across[1], across[0]])
        chin = float(np.asarray(rest, np.float64)[lm.CHIN, :2] @ self._down)
        self._rest_chin = np.asarray(rest, np.float64)[lm.CHIN, :2]
        self._shadow_rows = (chin - SHADOW_FROM_CHIN[0] * unit, chin - SHADOW_FROM_CHIN[1] * unit)
        # the chin's edge as a path along the outline, in order (the oval is a closed ring)
        order = np.argsort((self._lower - self._lower[0]) % len(lm.FACE_OVAL))
        gaps = np.flatnonzero(np.diff(self._lower[order]) > 1)
        if len(gaps):  # the lower run wraps past the ring's start: begin after the gap
            order = np.roll(order, -(gaps[0] + 1))
        self._order = order

    def slide(self, points: np.ndarray) -> float:
        """Face units the chin has closed in on the ring under it (0 at rest)."""
        gap = ((points[self._ring, :2] - points[self._oval, :2]) * self._outward).sum(axis=1)
        return float(np.max(self._gap - gap, initial=0.0)) / self._unit

    def __call__(self, frame: np.ndarray, points: np.ndarray) -> None:
        """Soften the chin's edge in ``frame`` (changed in place) for the rig posed at ``points``."""
        strength = min(self.slide(points) / FULL_SLIDE, 1.0)
        if strength <= 0.02:
            return
        unit = self._unit
        edge = points[self._oval[self._order], :2]
        reach = SHADOW_WIDTH * unit * 2
        height, width = frame.shape[:2]
        x0, y0 = np.maximum(np.floor(edge.min(axis=0) - reach).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(edge.max(axis=0) + reach).astype(int) + 1, (width, height))
        if x1 <= x0 or y1 <= y0:
            return
        scale = 1 << 4
        line = np.full((y1 - y0, x1 - x0), 255, np.uint8)
        cv2.polylines(line, [np.round((edge - (x0, y0)) * scale).astype(np.int32)], False, (0,), 1, cv2.LINE_8, 4)
        distance = cv2.distanceTransform(line, cv2.DIST_L2, 3)  # pixels from the chin's edge
        outside = np.ones_like(line)
        outline = points[list(lm.FACE_OVAL), :2]
        cv2.fillPoly(outside, [np.round((outline - (x0, y0)) * scale).astype(np.int32)], (0,), cv2.LINE_8, 4)
        # how far down the face each pixel lies (the shadow keeps to under the chin, not its sides)
        shift = float((points[lm.CHIN, :2] - self._rest_chin) @ self._down)
        across = np.arange(x0, x1, dtype=np.float32) * np.float32(self._down[0])
        rows = np.arange(y0, y1, dtype=np.float32)[:, None] * np.float32(self._down[1]) + across - np.float32(shift)
        start, full = self._shadow_rows
        under = np.clip((rows - start) / (full - start), 0.0, 1.0) * outside
        region = frame[y0:y1, x0:x1]
        softness = max(EDGE_SOFTNESS * unit, 1.0)
        blurred = cv2.GaussianBlur(region, (0, 0), softness).astype(np.float32)
        blend = np.exp(-np.square(distance / np.float32(1.5 * softness))) * np.float32(strength)
        shade = 1.0 - np.float32(SHADOW * strength) * np.exp(distance / np.float32(-SHADOW_WIDTH * unit)) * under
        out = region.astype(np.float32)
        out += (blurred - out) * blend[..., None]
        out *= shade[..., None]
        region[:] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
