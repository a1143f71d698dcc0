"""A lash line drawn where a closing upper lid meets the lower one.

The warp slides the upper lid's skin down over the eye; where it meets the lower lid a
pixel or two of squeezed eye (white, iris) can still show. A real closed eye shows a
dark line of lashes there, so as the lids close that line is drawn along both lid
edges, in the colour of the photo's own lashes and fading in with the closing.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face import landmarks as lm

EYES = ((lm.RIGHT_UPPER_LID, lm.RIGHT_LOWER_LID), (lm.LEFT_UPPER_LID, lm.LEFT_LOWER_LID))
SUBPIXEL_BITS = 4
LASH_WIDTH = 0.015  # face units
CLOSING = (0.55, 0.9)  # share of the eye's opening closed over which the line fades in
LASH_ALPHA = 0.8


@dataclass(frozen=True)
class LashColours:
    """Per eye (right, left), the RGB of the photo's lash line."""

    colours: tuple[np.ndarray, np.ndarray]

    @classmethod
    def of(cls, image: np.ndarray, points: np.ndarray, *, unit: float) -> LashColours:
        colours = []
        for upper, _ in EYES:
            mask = np.zeros(image.shape[:2], np.uint8)
            line = np.round(points[list(upper), :2] * (1 << SUBPIXEL_BITS)).astype(np.int32)
            width = max(1, int(round(0.03 * unit)))
            cv2.polylines(mask, [line], False, (1,), width, cv2.LINE_8, SUBPIXEL_BITS)
            pixels = image[mask.astype(bool)].astype(np.float64)
            if len(pixels) == 0:
                colours.append(np.zeros(3))
                continue
            luma = pixels @ [0.299, 0.587, 0.114]
            colours.append(pixels[luma <= np.percentile(luma, 15)].mean(axis=0))  # the darkest: lashes, not skin
        return cls((colours[0], colours[1]))


def draw_lashes(frame: np.ndarray, points: np.ndarray, rest: np.ndarray, *, unit: float, lashes: LashColours) -> None:
    """Draw the lash line of each eye into ``frame`` as far as its lids are closed.

    Parameters
    ----------
    frame : np.ndarray [shape=(H, W, 3), dtype=uint8], changed in place
    points, rest : np.ndarray [shape=(N, 2 or 3)], the rig's posed and rest landmarks, pixels
    unit : float, pixels per face unit
    lashes : LashColours of the photo
    """
    for (upper, lower), colour in zip(EYES, lashes.colours):
        middle_upper, middle_lower = upper[len(upper) // 2], lower[len(lower) // 2]
        open_rest = float(rest[middle_lower, 1] - rest[middle_upper, 1])
        if open_rest <= 0.5:
            continue
        closed = 1 - float(points[middle_lower, 1] - points[middle_upper, 1]) / open_rest
        t = np.clip((closed - CLOSING[0]) / (CLOSING[1] - CLOSING[0]), 0, 1)
        if t <= 0:
            continue
        line = points[list(upper), :2]
        under = points[list(lower), :2]  # the lower lid's edge shows squeezed eye white too
        both = np.concatenate([line, under])
        (x0, y0), (x1, y1) = np.floor(both.min(axis=0)).astype(int) - 3, np.ceil(both.max(axis=0)).astype(int) + 4
        height, width = frame.shape[:2]
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 <= x0 or y1 <= y0:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        thickness = max(1, int(round(LASH_WIDTH * unit)))
        for edge in (line, under):
            fixed = np.round((edge - (x0, y0)) * (1 << SUBPIXEL_BITS)).astype(np.int32)
            cv2.polylines(mask, [fixed], False, (255,), thickness, cv2.LINE_AA, SUBPIXEL_BITS)
        alpha = (mask.astype(np.float32) / 255 * (LASH_ALPHA * t * t * (3 - 2 * t)))[..., None]
        region = frame[y0:y1, x0:x1]
        region[:] = np.clip(region * (1 - alpha) + colour * alpha + 0.5, 0, 255).astype(np.uint8)
