"""Closing eyelids: the lid's skin over the eye, and a lash line along its edge.

The warp slides the upper lid down over the eye, but what it slides is the photo's
band just above the lid's edge: the lashes, which it stretches into streaks, with
slivers of squeezed eye white left at the corners. So as the lids close
(:func:`draw_lids`) the part of the eye the lid now covers, and the stretched lash band
above it, is painted with the lid's own skin, sampled from the photo above its lashes
(:class:`LidSkin`, column by column, so eye shadow keeps its colours), shaded darker
towards the rounded edge; then (:func:`draw_lashes`) a dark line of lashes is drawn on
that edge, in the colour of the photo's own lashes. Both fade in with the closing.
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
LID_CLOSING = (0.15, 0.6)  # share of the eye's opening closed over which the painted lid fades in
LID_SAMPLE = (0.09, 0.14)  # face units above the lid's edge where its skin is sampled (above the lashes)
LID_COVER = 0.14  # face units above the posed lid's edge that are painted (the stretched lash band)
LID_STRETCH = 0.8  # of how far the lid has come down, how much more is painted above it
LID_FEATHER = 0.55  # share of the painted height, from its top, over which it fades into the warp
LID_EDGE_SHADE = 0.25  # brightness lost at the lid's edge, which turns away from the light
LID_TUCK = 0.025  # face units a shut lid's edge reaches below the lower lid's
SHUT = (0.8, 1.0)  # share of the eye's opening closed over which the lid's edge tucks under the lower lid
LID_COLUMNS = 16
LID_TEXTURE = 8.0  # the most the lid's texture brightens or darkens it, RGB levels  # colour samples along a lid


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
        closed = _closed(points, rest, upper, lower)
        t = np.clip((closed - CLOSING[0]) / (CLOSING[1] - CLOSING[0]), 0, 1)
        if t <= 0:
            continue
        line = _smooth(_lid_edge(points, rest, upper, lower, unit=unit))
        (x0, y0), (x1, y1) = np.floor(line.min(axis=0)).astype(int) - 3, np.ceil(line.max(axis=0)).astype(int) + 4
        height, width = frame.shape[:2]
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 <= x0 or y1 <= y0:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        thickness = max(1, int(round(LASH_WIDTH * unit)))
        fixed = np.round((line - (x0, y0)) * (1 << SUBPIXEL_BITS)).astype(np.int32)
        cv2.polylines(mask, [fixed], False, (255,), thickness, cv2.LINE_AA, SUBPIXEL_BITS)
        alpha = (mask.astype(np.float32) / 255 * (LASH_ALPHA * t * t * (3 - 2 * t)))[..., None]
        region = frame[y0:y1, x0:x1]
        region[:] = np.clip(region * (1 - alpha) + colour * alpha + 0.5, 0, 255).astype(np.uint8)


def _closed(points: np.ndarray, rest: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...]) -> float:
    """How far an eye is closed: 0 at its rest opening, 1 with the lids meeting (more past it)."""
    middle_upper, middle_lower = upper[len(upper) // 2], lower[len(lower) // 2]
    open_rest = float(rest[middle_lower, 1] - rest[middle_upper, 1])
    if open_rest <= 0.5:
        return 0.0
    return 1 - float(points[middle_lower, 1] - points[middle_upper, 1]) / open_rest


@dataclass(frozen=True)
class LidSkin:
    """Per eye (right, left), the photo's upper-lid skin: its colour along the lid
    ([LID_COLUMNS, 3] RGB, outer corner to inner, lashes left out) and its fine texture (a
    band of the skin above the lashes less its blur, [rows, columns, 3] float32, clipped
    to ``LID_TEXTURE`` so no lash or crease comes through as a streak)."""

    colours: tuple[np.ndarray, np.ndarray]
    textures: tuple[np.ndarray, np.ndarray]

    @classmethod
    def of(cls, image: np.ndarray, points: np.ndarray, *, unit: float) -> LidSkin:
        colours, textures = [], []
        height, width = image.shape[:2]
        for upper, _ in EYES:
            lid = points[list(upper), :2]
            order = np.argsort(lid[:, 0])
            columns = np.linspace(lid[0, 0], lid[-1, 0], LID_COLUMNS)
            edge = np.interp(columns, lid[order, 0], lid[order, 1])
            half = max(1, int(abs(lid[-1, 0] - lid[0, 0]) / LID_COLUMNS))
            samples = []
            for x, y in zip(columns, edge):
                xa, xb = int(np.clip(x - half, 0, width - 1)), int(np.clip(x + half + 1, 1, width))
                ya = int(np.clip(y - LID_SAMPLE[1] * unit, 0, height - 1))
                yb = int(np.clip(y - LID_SAMPLE[0] * unit + 1, ya + 1, height))
                pixels = image[ya:yb, xa:xb].reshape(-1, 3).astype(np.float64)
                luma = pixels @ [0.299, 0.587, 0.114]
                samples.append(np.median(pixels[luma >= np.median(luma)], axis=0))  # skin, not lashes
            smooth = np.array(samples, np.float64)
            smooth[1:-1] = (smooth[:-2] + 2 * smooth[1:-1] + smooth[2:]) / 4
            colours.append(smooth)
            textures.append(_texture(image, columns, edge, unit=unit))
        return cls((colours[0], colours[1]), (textures[0], textures[1]))


def _texture(image: np.ndarray, columns: np.ndarray, edge: np.ndarray, *, unit: float) -> np.ndarray:
    """The fine texture of the skin band ``LID_SAMPLE`` above a lid whose edge runs through
    (``columns``, ``edge``) pixels: [rows, columns, 3] float32 around 0."""
    across = max(int(abs(columns[-1] - columns[0])), 2)
    rows = max(int((LID_SAMPLE[1] - LID_SAMPLE[0]) * unit), 2)
    xs = np.linspace(columns[0], columns[-1], across, dtype=np.float32)
    order = np.argsort(columns)
    ys = np.interp(xs, columns[order], edge[order]).astype(np.float32)
    heights = np.linspace(LID_SAMPLE[1], LID_SAMPLE[0], rows, dtype=np.float32)[:, None] * unit
    map_x = np.broadcast_to(xs, (rows, across)).astype(np.float32)
    band = cv2.remap(image, map_x, ys - heights, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    sigma = max(0.02 * unit, 1.0)
    detail = band - cv2.GaussianBlur(band, (0, 0), sigma)
    # smoothed along the lid: lashes are strokes across it, the lid's folds run along it
    along = cv2.GaussianBlur(detail, (0, 0), sigmaX=sigma, sigmaY=0.1)
    return np.clip(along, -LID_TEXTURE, LID_TEXTURE)


def draw_lids(frame: np.ndarray, points: np.ndarray, rest: np.ndarray, *, unit: float, skin: LidSkin) -> None:
    """Paint each closing upper lid's skin into ``frame``, from its edge up over its lash band.

    Parameters
    ----------
    frame : np.ndarray [shape=(H, W, 3), dtype=uint8], changed in place
    points, rest : np.ndarray [shape=(N, 2 or 3)], the rig's posed and rest landmarks, pixels
    unit : float, pixels per face unit
    skin : LidSkin of the photo
    """
    height, width = frame.shape[:2]
    for (upper, lower), colours, texture in zip(EYES, skin.colours, skin.textures):
        closed = _closed(points, rest, upper, lower)
        t = float(np.clip((closed - LID_CLOSING[0]) / (LID_CLOSING[1] - LID_CLOSING[0]), 0, 1))
        if t <= 0:
            continue
        lid, under = _lid_edge(points, rest, upper, lower, unit=unit), points[list(lower), :2]
        # How far each point of the lid has come down (the lids' points pair up corner to corner):
        # the lash band above it has been stretched over about as much.
        lowered = np.maximum((rest[list(lower), 1] - rest[list(upper), 1]) - (under[:, 1] - lid[:, 1]), 0.0)
        edge_y = lid[:, 1]
        x0, x1 = int(np.floor(lid[:, 0].min())), int(np.ceil(lid[:, 0].max())) + 1
        top_y = lid[:, 1] - LID_COVER * unit - LID_STRETCH * lowered
        y0, y1 = int(np.floor(top_y.min())), int(np.ceil(edge_y.max())) + 2
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 <= x0 or y1 <= y0:
            continue
        order = np.argsort(lid[:, 0])
        xs = np.arange(x0, x1, dtype=np.float64)
        bottom = np.interp(xs, lid[order, 0], edge_y[order])
        top = np.interp(xs, lid[order, 0], top_y[order])
        along = np.clip((xs - lid[0, 0]) / (lid[-1, 0] - lid[0, 0] or 1.0), 0, 1) * (LID_COLUMNS - 1)
        colour = np.stack([np.interp(along, np.arange(LID_COLUMNS), colours[:, c]) for c in range(3)], axis=-1)
        ys = np.arange(y0, y1, dtype=np.float64)[:, None]
        span = np.maximum(bottom - top, 1.0)
        down = (ys - top) / span  # 0 at the painted top, 1 at the lid's edge
        cover = np.clip(bottom - ys + 0.5, 0, 1) * np.clip(down / LID_FEATHER, 0, 1)
        corners = np.clip(np.minimum(xs - lid[:, 0].min(), lid[:, 0].max() - xs) / (0.015 * unit) + 0.5, 0, 1)
        # the texture stretched over the painted lid: its columns along the lid, its rows top to edge
        map_x = np.broadcast_to((along / (LID_COLUMNS - 1) * (texture.shape[1] - 1)).astype(np.float32), down.shape)
        map_y = (np.clip(down, 0, 1) * (texture.shape[0] - 1)).astype(np.float32)
        grain = cv2.remap(texture, np.ascontiguousarray(map_x), map_y, cv2.INTER_LINEAR)
        alpha = (cover * corners * (t * t * (3 - 2 * t)))[..., None]
        shade = (1 - LID_EDGE_SHADE * np.clip(down, 0, 1) ** 3)[..., None]
        region = frame[y0:y1, x0:x1]
        region[:] = np.clip(region * (1 - alpha) + (colour * shade + grain) * alpha + 0.5, 0, 255).astype(np.uint8)


def _lid_edge(
    points: np.ndarray, rest: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...], *, unit: float
) -> np.ndarray:
    """The upper lid's edge [K, 2] pixels; as the eye shuts it is tucked just under the lower
    lid wherever that lies lower (at the corners), so no sliver of the eye shows below it."""
    lid = points[list(upper), :2].copy()
    shut = float(np.clip((_closed(points, rest, upper, lower) - SHUT[0]) / (SHUT[1] - SHUT[0]), 0, 1))
    if shut > 0:
        under = points[list(lower), :2]
        order = np.argsort(under[:, 0])
        below = np.interp(lid[:, 0], under[order, 0], under[order, 1]) + LID_TUCK * unit
        lid[:, 1] += np.maximum(below - lid[:, 1], 0.0) * shut
    return lid


def _smooth(line: np.ndarray, samples: int = 32) -> np.ndarray:
    """A lid's edge [K, 2] as a smooth curve through ``samples`` points (its few landmarks
    make a polygon whose kinks a dark lash line would show)."""
    order = np.argsort(line[:, 0])
    xs = np.linspace(line[order[0], 0], line[order[-1], 0], samples)
    ys = np.interp(xs, line[order, 0], line[order, 1])
    for _ in range(3):
        ys[1:-1] = (ys[:-2] + 2 * ys[1:-1] + ys[2:]) / 4
    return np.column_stack([xs, ys])
