"""The inside of the mouth, drawn where the lips have parted.

A photo of a closed mouth has nothing to show when the lips part, so the opening
between the inner lip contours is painted over, back to front:

1. the cavity, the lips' colour darkened with its distance from the lips (depth);
2. the tongue, a rounded mound on the jaw behind the lower teeth, lit from the front,
   with a groove along its middle; its tip rises towards the upper teeth with TongueOut
   (the TH pose) and the whole tongue comes forward past it;
3. the lower teeth standing on the jaw's biting edge, then the upper teeth hanging from
   the skull's (:mod:`.teeth`: separate rounded crowns, gums past them), so lips can
   cover or bare them and the teeth do not stretch with the lips;
4. a soft shadow the lips cast inside, and an edge feathered into the lips.

Colours come from the photo itself (the cavity, gums and tongue from the lips, the
teeth from the photo's own teeth when its mouth is open, else the skin's brightness and
saturation; the light's side from the two cheeks), so a black-and-white photo gets a
grey mouth, a dim one a dim mouth, a face lit from the left teeth lit from the left.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face import landmarks as lm
from ..face.rig import LOWER_TEETH, UPPER_TEETH
from .teeth import LOWER_ROW, UPPER_ROW, paint_row

SUBPIXEL_BITS = 4
TEETH_WHITE = np.array([240.0, 236.0, 226.0])  # RGB of teeth in good light
SKIN_REFERENCE_LUMA = 160.0  # skin this bright gets TEETH_WHITE
CAVITY_SHADE = 0.40  # cavity colour as a share of the lips'
TONGUE_SHADE = 0.80
GUM_SHADE = 0.75
LOWER_TEETH_SHADE = 0.70  # lower teeth sit in the upper teeth's shadow (the 3D mouth's figure)
CORNER_SHADE = 0.8  # how much darker the 3D mouth's teeth are at its corners than at its middle
EDGE_SHADE = 0.72  # the 3D mouth's teeth brightness at the gums as a share of that at the biting edge
CAVITY_DEPTH_SHADE = 0.45  # the cavity's darkness deep inside as a share of by the lips
CAVITY_DEPTH = 0.10  # face units from the lips over which the cavity darkens to that
LIP_SHADOW = 0.45  # brightness lost right inside the lips, in their shadow
LIP_SHADOW_WIDTH = 0.02  # face units
FEATHER = 0.03  # face units over which the painted inside fades into the lips
TONGUE_SIZE = (0.65, 0.14)  # semi-axes: share of the mouth's half width, face units
TONGUE_RISE = 0.04  # face units the tongue's top lies above the lower teeth's edge
TONGUE_OUT_RISE = 0.08  # face units the tongue rises at TongueOut 1
TONGUE_TIP = (0.22, 0.07)  # the tip's semi-axes, face units
TONGUE_TIP_TUCK = 0.02  # face units the raised tip reaches above the upper teeth's edge
TONGUE_TIP_FULL = 0.35  # TongueOut at which the tip reaches the upper teeth (the TH pose)
TONGUE_GROOVE = (0.15, 0.04)  # darkness and half width (face units) of the groove down the middle
TONGUE_IN_SHADOW = 0.8  # the tongue's brightness under the palate as a share of the palette's
TONGUE_SOFT = 0.02  # face units over which the tongue's rim fades into what lies behind it
TEETH_FROM_PHOTO = 1.25  # an open photo mouth whose brightest part is this much brighter than its lips shows teeth
MAX_LIGHT = 0.6  # the most the light's side can brighten (darken) teeth per face unit across
FULL_PAINT_GAP = 0.03  # face units the lips must part for the inside to be painted at full strength
PHOTO_MOUTH_MARGIN = 0.02  # face units around a photo's mouth opening also painted over


@dataclass(frozen=True)
class MouthPalette:
    """RGB colours (floats, 0-255) of the mouth's inside for one photo, and its light."""

    cavity: np.ndarray
    tongue: np.ndarray
    teeth: np.ndarray
    gums: np.ndarray
    light: float = 0.0  # teeth brighten by this per face unit along the mouth, left corner to right

    @classmethod
    def of(cls, image: np.ndarray, points: np.ndarray, *, unit: float) -> MouthPalette:
        """Colours that suit ``image``, whose face has its landmarks at ``points`` (pixels)."""
        lips = np.zeros(image.shape[:2], np.uint8)
        outer = lm.UPPER_LIP_OUTER + lm.LOWER_LIP_OUTER[-2:0:-1]
        inner = lm.UPPER_LIP_INNER + lm.LOWER_LIP_INNER[-2:0:-1]
        cv2.fillPoly(lips, [np.round(points[list(outer), :2]).astype(np.int32)], (1,))
        opening = np.zeros_like(lips)
        cv2.fillPoly(opening, [np.round(points[list(inner), :2]).astype(np.int32)], (1,))
        lips[opening.astype(bool)] = 0
        cheeks = []
        for cheek in (50, 280):
            skin = np.zeros_like(lips)
            centre = tuple(int(v) for v in np.round(points[cheek, :2]))
            cv2.circle(skin, centre, max(2, int(0.08 * unit)), (1,), -1)
            cheeks.append(_median(image, skin))
        lip_colour = _median(image, lips)
        skin_colour = (cheeks[0] + cheeks[1]) / 2
        luma = float(skin_colour @ LUMA)
        saturation = float((skin_colour.max() - skin_colour.min()) / max(skin_colour.max(), 1.0))
        teeth = TEETH_WHITE * np.clip(luma / SKIN_REFERENCE_LUMA, 0.55, 1.0)
        grey = float(teeth.mean())
        teeth = grey + (teeth - grey) * np.clip(saturation / 0.2, 0.0, 1.0)
        own = _photo_teeth(image, opening, lip_colour)
        if own is not None:  # the photo shows its teeth: their colour, lit as brightly as the skin allows
            teeth = own * max(float(teeth @ LUMA) / max(float(own @ LUMA), 1.0), 1.0) ** 0.5
            teeth = np.minimum(teeth, 255.0)
        # The light's side: the cheek towards one mouth corner brighter than the other.
        left, right = points[lm.UPPER_LIP_INNER[0], :2], points[lm.UPPER_LIP_INNER[-1], :2]
        across = (right - left) / max(float(np.hypot(*(right - left))), 1e-6)
        toward_right = float((points[280, :2] - points[50, :2]) @ across) / unit or 1.0
        contrast = float((cheeks[1] - cheeks[0]) @ LUMA) / max(luma, 1.0) / toward_right
        return cls(
            cavity=lip_colour * CAVITY_SHADE,
            tongue=lip_colour * TONGUE_SHADE,
            teeth=teeth,
            gums=lip_colour * GUM_SHADE,
            light=float(np.clip(contrast, -MAX_LIGHT, MAX_LIGHT)),
        )


LUMA = np.array([0.299, 0.587, 0.114])


def _photo_teeth(image: np.ndarray, opening: np.ndarray, lips: np.ndarray) -> np.ndarray | None:
    """The colour of the teeth a photo shows between its parted lips, or None."""
    pixels = image[opening.astype(bool)].astype(np.float64)
    if len(pixels) < 20:
        return None
    luma = pixels @ LUMA
    bright = pixels[luma >= np.percentile(luma, 80)]
    colour = np.median(bright, axis=0)
    return colour if float(colour @ LUMA) >= TEETH_FROM_PHOTO * float(lips @ LUMA) else None


def clear_photo_mouth(image: np.ndarray, points: np.ndarray, *, unit: float) -> np.ndarray:
    """``image`` with what shows between its parted lips painted over from the lips around.

    A rig closes a photo's parted lips at rest (:func:`mouthpiece.face.rig.build_rig`);
    landmarks are not pixel-exact, so without this a sliver of the photo's teeth stays
    between the closed lips.

    Parameters
    ----------
    image : np.ndarray [shape=(H, W, 3), dtype=uint8]
    points : np.ndarray [shape=(N, 2 or 3)], the face's landmarks in ``image``, pixels
    unit : float, pixels per face unit

    Returns
    -------
    np.ndarray, a changed copy
    """
    mask = np.zeros(image.shape[:2], np.uint8)
    opening = points[list(lm.UPPER_LIP_INNER + lm.LOWER_LIP_INNER[-2:0:-1]), :2]
    cv2.fillPoly(mask, [np.round(opening * (1 << SUBPIXEL_BITS)).astype(np.int32)], (255,), cv2.LINE_8, SUBPIXEL_BITS)
    margin = max(1, int(round(PHOTO_MOUTH_MARGIN * unit)))
    grown = cv2.dilate(mask, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    return np.asarray(cv2.inpaint(image, grown, margin + 2, cv2.INPAINT_TELEA))


def _median(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    pixels = image[mask.astype(bool)]
    return np.median(pixels, axis=0).astype(np.float64) if len(pixels) else np.full(3, 128.0)


def draw_mouth(
    frame: np.ndarray,
    points: np.ndarray,
    *,
    unit: float,
    palette: MouthPalette,
    tongue_out: float = 0.0,
    opacity: float = 1.0,
) -> None:
    """Paint the inside of the mouth into ``frame`` where the lips at ``points`` are apart.

    Parameters
    ----------
    frame : np.ndarray [shape=(H, W, 3), dtype=uint8], changed in place
    points : np.ndarray [shape=(N, 2 or 3)], the rig's posed landmarks, pixels
    unit : float, pixels per face unit
    palette : MouthPalette
    tongue_out : float in [0, 1], the TongueOut blendshape
    opacity : float in [0, 1], how much of what is painted covers what the frame shows there
    """
    opening = points[list(lm.UPPER_LIP_INNER + lm.LOWER_LIP_INNER[-2:0:-1]), :2]
    left, right = points[lm.UPPER_LIP_INNER[0], :2], points[lm.UPPER_LIP_INNER[-1], :2]
    across = (right - left) / max(float(np.hypot(*(right - left))), 1e-6)
    down = np.array([-across[1], across[0]])
    gap = float(np.max((points[list(lm.LOWER_LIP_INNER), :2] - points[list(lm.UPPER_LIP_INNER), :2]) @ down))
    strength = min(gap / (FULL_PAINT_GAP * unit), 1.0) * opacity  # a hairline parting stays the photo's lips
    if strength <= 0.05:
        return
    height, width = frame.shape[:2]
    x0, y0 = np.maximum(np.floor(opening.min(axis=0)).astype(int) - 2, 0)
    x1, y1 = np.minimum(np.ceil(opening.max(axis=0)).astype(int) + 3, (width, height))
    if x1 <= x0 or y1 <= y0:
        return
    origin = np.array([x0, y0], np.float64)
    shape = (y1 - y0, x1 - x0)
    centre = (left + right) / 2
    half_width = max(float(np.hypot(*(right - left))) / 2, 1.0) / unit  # face units

    # Every pixel's place in the mouth, face units: along the corners' line and below it.
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    xs -= np.float32(centre[0])
    ys -= np.float32(centre[1])
    sideways = (xs * across[0] + ys * across[1]) / unit
    downwards = (xs * down[0] + ys * down[1]) / unit

    coverage = _polygon(shape, _smooth_closed(opening) - origin)
    from_lips = cv2.distanceTransform((coverage > 0.5).astype(np.uint8), cv2.DIST_L2, 3) / unit  # face units

    def mouth_coordinates(indices: slice) -> np.ndarray:
        relative = points[indices, :2] - centre
        return np.column_stack([relative @ across, relative @ down]) / unit

    upper_edge, lower_edge = mouth_coordinates(UPPER_TEETH), mouth_coordinates(LOWER_TEETH)
    depth = 1.0 - np.exp(-from_lips / CAVITY_DEPTH)
    layer = palette.cavity.astype(np.float32) * (1.0 - (1.0 - CAVITY_DEPTH_SHADE) * depth)[..., None]

    # The tongue: a mound behind the lower teeth, raised (and, past the TH pose, pushed
    # forward) by TongueOut; its tip rises to the upper teeth.
    tongue_top = float(lower_edge[:, 1].mean()) - TONGUE_RISE - TONGUE_OUT_RISE * tongue_out
    axes = (half_width * TONGUE_SIZE[0], TONGUE_SIZE[1])
    tongue = palette.tongue * TONGUE_IN_SHADOW
    _paint_mound(layer, sideways, downwards, (0.0, tongue_top + axes[1]), axes, unit=unit, colour=tongue)
    paint_row(layer, sideways, downwards, lower_edge, row=LOWER_ROW, unit=unit, teeth=palette.teeth,
              gums=palette.gums, light=palette.light)  # fmt: skip
    paint_row(layer, sideways, downwards, upper_edge, row=UPPER_ROW, unit=unit, teeth=palette.teeth,
              gums=palette.gums, light=palette.light)  # fmt: skip
    rise = float(np.clip(tongue_out / TONGUE_TIP_FULL, 0.0, 1.0))
    if rise > 0.0:  # the tip between the teeth, in front of both rows (TH)
        upper_bite = float(upper_edge[:, 1].mean())
        tip_top = tongue_top + (upper_bite - TONGUE_TIP_TUCK - tongue_top) * rise
        before = layer.copy()
        _paint_mound(layer, sideways, downwards, (0.0, tip_top + TONGUE_TIP[1]), TONGUE_TIP, unit=unit,
                     colour=tongue)  # fmt: skip
        layer += (before - layer) * (1.0 - rise * rise * (3 - 2 * rise))
    layer *= (1.0 - LIP_SHADOW * np.exp(-from_lips / LIP_SHADOW_WIDTH))[..., None]
    alpha = coverage * strength
    if FEATHER * unit > 1.0:  # (a narrower feather is the polygon's own anti-aliasing)
        alpha *= np.clip((from_lips + 0.5 / unit) / FEATHER, 0.0, 1.0)
    alpha = alpha[..., None]
    region = frame[y0:y1, x0:x1]
    region[:] = np.clip(region * (1 - alpha) + layer * alpha + 0.5, 0, 255).astype(np.uint8)


def _paint_mound(
    layer: np.ndarray,
    across: np.ndarray,
    down: np.ndarray,
    centre: tuple[float, float],
    axes: tuple[float, float],
    *,
    unit: float,
    colour: np.ndarray,
) -> None:
    """An ellipse of ``colour`` lit like a mound from the front: brightest at its top middle,
    darker at its rim, a groove down its middle. Positions and ``axes`` in face units."""
    dx, dy = (across - centre[0]) / axes[0], (down - centre[1]) / axes[1]
    radius = np.sqrt(dx * dx + dy * dy)
    cover = np.clip(((1.0 - radius) * min(axes) + 0.5 / unit) / max(TONGUE_SOFT, 1.0 / unit), 0.0, 1.0)
    lit = 0.55 + 0.45 * np.clip(1.0 - radius * radius, 0.0, 1.0) * np.clip(0.6 - 0.4 * dy, 0.0, 1.0) / 0.6
    lit *= 1.0 - TONGUE_GROOVE[0] * np.exp(-(((across - centre[0]) / TONGUE_GROOVE[1]) ** 2))
    layer += (colour * lit[..., None] - layer) * cover[..., None]


def _smooth_closed(corners: np.ndarray, samples: int = 4) -> np.ndarray:
    """A closed Catmull-Rom curve through ``corners`` [K, 2], ``samples`` points per side:
    the lips' inner edge is round, not the polygon of its few landmarks.

    >>> square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    >>> _smooth_closed(square, 2)[:3].round(3).tolist()
    [[0.0, 0.0], [0.5, -0.125], [1.0, 0.0]]
    """
    p0, p1, p2, p3 = (np.roll(corners, shift, axis=0) for shift in (1, 0, -1, -2))
    t = (np.arange(samples) / samples)[:, None, None]
    curve = 0.5 * (
        2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (3 * p1 - p0 - 3 * p2 + p3) * t**3
    )  # [samples, K, 2]
    return curve.transpose(1, 0, 2).reshape(-1, 2)


def _polygon(shape: tuple[int, int], corners: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage [0, 1] of a polygon, float32 of ``shape``."""
    mask = np.zeros(shape, np.uint8)
    fixed = np.round(corners * (1 << SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(mask, [fixed], (255,), cv2.LINE_AA, SUBPIXEL_BITS)
    return mask.astype(np.float32) / 255
