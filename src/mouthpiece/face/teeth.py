"""Teeth the face mesh took for lips: where a photo shows teeth between lips it reads as closed.

MediaPipe's inner-lip points follow the lips' inner edges when the mouth is shut or wide
open, but on a smile that shows the teeth with the lips apart they often lie on the
teeth's edge instead: the mesh reads the lips as closed while a band of teeth shows
between the point and the real edge of the lip. A portrait rigged on those points rests
with its teeth showing, as the photo has them, where a parted mouth should rest closed
(:func:`~mouthpiece.face.rig.build_rig` brings parted lips together).

:func:`lips_past_the_teeth` looks along each lip, from its inner point towards its outer
one, for such a band: brighter than the rest of the lip by ``BRIGHTER`` at least, and
less coloured (teeth are pale; lips are red, or in a grey photo, darker). Where the middle
of the mouth shows one, the inner points move to the band's far edge, so that the rig
sees the lips as parted over the teeth.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import landmarks as lm

SAMPLES = 16  # along each lip, from the inner point to the outer one
BRIGHTER = 1.3  # times the rest of the lip's luminance a band of teeth reaches at least
PALER = 0.7  # at most this share of the rest of the lip's colourfulness (where the lip has colour)
COLOURED = 20.0  # chroma (0-255 scale) under which a lip counts as colourless (a grey photo)
MIN_BAND = 2 / SAMPLES  # of the lip's thickness a band must take to count
MIDDLE = slice(2, -2)  # the lip points looked at (not the corners)
AGREE = 3  # of those, how many must show teeth for any point to move


def lips_past_the_teeth(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """``landmarks`` with the inner-lip points moved to the far edge of any band of teeth
    between them and the lips' outer edge (see the module); unchanged where none shows.

    Parameters
    ----------
    image : np.ndarray [shape=(H, W, 3), dtype=uint8], RGB
    landmarks : np.ndarray [shape=(478, 2 or 3)], the face's landmarks in it, pixels
    """
    out = np.array(landmarks, copy=True)
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    for inner, outer in ((lm.LOWER_LIP_INNER, lm.LOWER_LIP_OUTER), (lm.UPPER_LIP_INNER, lm.UPPER_LIP_OUTER)):
        inner_ids, outer_ids = list(inner), list(outer)
        reach = np.zeros(len(inner_ids))
        reach[MIDDLE] = [_band(lab, out[i, :2], out[o, :2]) for i, o in zip(inner_ids[MIDDLE], outer_ids[MIDDLE])]
        found = np.flatnonzero(reach > 0)
        if len(found) < AGREE:
            continue
        # the points between (or beyond) those that show the band follow them, down to the corners' 0
        known = np.r_[0, found, len(reach) - 1]
        reach = np.interp(np.arange(len(reach)), known, reach[known])
        for i, o, r in zip(inner_ids, outer_ids, reach):
            out[i, :2] = out[i, :2] + r * (out[o, :2] - out[i, :2])
    return out


def _band(lab: np.ndarray, start: np.ndarray, end: np.ndarray) -> float:
    """How far (0-1 of the way from ``start`` to ``end``) a band of teeth reaches from ``start``; 0 if none."""
    height, width = lab.shape[:2]
    t = (np.arange(SAMPLES) + 0.5) / SAMPLES
    points = start[None, :] + t[:, None] * (end - start)[None, :]
    x = np.clip(np.round(points[:, 0]).astype(int), 0, width - 1)
    y = np.clip(np.round(points[:, 1]).astype(int), 0, height - 1)
    light, chroma = lab[y, x, 0], np.hypot(lab[y, x, 1] - 128, lab[y, x, 2] - 128)
    best, edge = 0.0, 0
    for k in range(max(1, int(MIN_BAND * SAMPLES)), SAMPLES - 2):  # the band is samples [0, k)
        band, rest = light[:k].mean(), light[k:].mean()
        if band < BRIGHTER * rest:
            continue
        lip_colour = chroma[k:].mean()
        if lip_colour > COLOURED and chroma[:k].mean() > PALER * lip_colour:
            continue
        if band - rest > best:
            best, edge = band - rest, k
    return edge / SAMPLES
