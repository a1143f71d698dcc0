"""Rows of teeth and their gums, shaded, for the inside of a painted mouth.

Each row hangs from (upper) or stands on (lower) its biting edge, a line of the rig's
teeth points, and is drawn in the mouth's own coordinates: ``across`` (face units from
the mouth's middle, along the line between its corners) and ``down`` (face units below
that line). Teeth are separate crowns with rounded corners, so neighbours meet in a
small notch at the biting edge rather than along a drawn line; each crown is lit like a
cylinder (brighter at its middle), darker towards its gum and towards the back of the
arch, and past the premolars the row fades into the cavity's shadow. Above (below) the
crowns the gum shows, its line arching over each tooth. Every edge is anti-aliased by
its distance in pixels, so nothing is stair-stepped at any size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ToothRow:
    """The shape of one row of teeth, in face units (one unit: the distance between the eyes)."""

    grows: float  # +1: the crowns grow downwards from the biting edge (lower row); -1: upwards
    sides: tuple[float, ...]  # where neighbouring crowns meet, from the middle outwards
    crown: float  # crown height at a tooth's middle
    corner: float  # radius of a crown's corners at the biting edge
    reach: float  # how far past the biting edge the row (crowns, then gum) goes
    shade: float  # the row's brightness as a share of the palette's teeth


# About 8.5, 6.5 and 7.5 mm wide upper incisors, canines, premolars against 63 mm between the
# eyes; lower incisors are narrower (5.5 mm). Crowns ~10 mm (upper) and ~9 mm (lower).
UPPER_ROW = ToothRow(grows=-1.0, sides=(0.0, 0.135, 0.24, 0.355, 0.46), crown=0.16, corner=0.02, reach=0.40, shade=1.0)
LOWER_ROW = ToothRow(grows=1.0, sides=(0.0, 0.09, 0.18, 0.29, 0.40), crown=0.14, corner=0.015, reach=0.30, shade=0.8)
ARCH_FADE = 0.10  # face units past the last side over which the row fades into the dark
ARCH_HALF_WIDTH = 0.50  # face units from the middle where the arch has turned fully away
BACK_SHADE = 0.55  # brightness lost at ARCH_HALF_WIDTH as the teeth turn from the light
ROUNDNESS = 0.15  # brightness lost at a crown's sides against its middle
GUM_SHADE = 0.30  # brightness lost from the biting edge to the gum
EDGE_TRANSLUCENCY = 0.25  # how much of the cavity shows through the thin biting edge
EDGE_THICKNESS = 0.015  # face units
PAPILLA = 0.25  # share of the crown height the gum reaches down between two teeth
NOTCH_SHADE = 0.15  # darkness where two crowns touch
NOTCH_WIDTH = 0.006  # face units (at least a pixel)
DETAIL_UNITS = (30.0, 90.0)  # pixels per face unit below which the crowns' detail is gone, above which whole


def paint_row(
    layer: np.ndarray,
    across: np.ndarray,
    down: np.ndarray,
    edge: np.ndarray,
    *,
    row: ToothRow,
    unit: float,
    teeth: np.ndarray,
    gums: np.ndarray,
    light: float = 0.0,
) -> None:
    """Paint one row of teeth and its gum over ``layer``.

    Parameters
    ----------
    layer : np.ndarray [shape=(h, w, 3), dtype=float32], RGB 0-255, changed in place
    across, down : np.ndarray [shape=(h, w)], each pixel's place in the mouth, face units
    edge : np.ndarray [shape=(K, 2)], the biting edge as (across, down) points, face units
    row : ToothRow
    unit : float, pixels per face unit
    teeth, gums : np.ndarray [shape=(3,)], RGB of lit teeth and of the gum
    light : float, how much brighter the teeth are per face unit towards +across (the
        photo's light from one side)
    """
    order = np.argsort(edge[:, 0])
    biting = np.interp(across, edge[order, 0], edge[order, 1])
    into = (down - biting) * row.grows  # face units from the biting edge towards the gum
    side = np.abs(across)
    sides = np.asarray(row.sides)
    last = len(sides) - 2
    tooth = np.minimum(np.searchsorted(sides, side, side="right") - 1, last)
    start, width = sides[tooth], np.diff(sides)[tooth]
    along = np.clip((side - start) / width, 0.0, 1.0)  # 0 at the tooth's inner side, 1 at its outer
    from_side = np.minimum(along, 1.0 - along) * width  # face units to the nearer neighbour

    # A crown's corner rounds off: near a side the biting edge lies further into the tooth.
    bite = np.minimum(from_side, row.corner)
    lift = row.corner - np.sqrt(np.maximum(row.corner**2 - (row.corner - bite) ** 2, 0.0))
    gum_line = row.crown * (1.0 - PAPILLA * (1.0 - np.sin(np.pi * along)))
    in_row = _inside(into - lift, unit) * _inside(row.reach - into, unit)
    fade = np.clip(1.0 - (side - sides[-1]) / ARCH_FADE, 0.0, 1.0)
    in_row *= fade
    gum = _inside(into - gum_line, unit)

    turned = np.clip(side / ARCH_HALF_WIDTH, 0.0, 1.0) ** 2
    lit = row.shade * (1.0 - BACK_SHADE * turned) * (1.0 + light * across)
    # Detail narrower than a pixel averages out in a camera's pixel: on a small face the
    # crowns' roundness, notches and thin edges fade, and the teeth read as one bright row.
    detail = float(np.clip((unit - DETAIL_UNITS[0]) / (DETAIL_UNITS[1] - DETAIL_UNITS[0]), 0.0, 1.0))
    crown_lit = lit * (1.0 - detail * ROUNDNESS * (1.0 - np.sin(np.pi * along)))
    crown_lit *= 1.0 - GUM_SHADE * np.clip(into / row.crown, 0.0, 1.0) ** 2  # under the lip, not at the edge
    notch = np.exp(-((from_side / max(NOTCH_WIDTH, 1.0 / unit)) ** 2))
    crown_lit *= 1.0 - detail * NOTCH_SHADE * notch
    translucent = detail * EDGE_TRANSLUCENCY * np.exp(-np.maximum(into - lift, 0.0) / EDGE_THICKNESS)

    crown_colour = teeth * crown_lit[..., None]
    crown_colour += (layer - crown_colour) * translucent[..., None]
    colour = crown_colour + (gums * lit[..., None] - crown_colour) * gum[..., None]
    layer += (colour - layer) * in_row[..., None]


def _inside(distance: np.ndarray, unit: float) -> np.ndarray:
    """Coverage 0-1 of a pixel whose centre lies ``distance`` face units inside an edge."""
    return np.clip(distance * unit + 0.5, 0.0, 1.0)
