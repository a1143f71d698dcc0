"""The inside of the mouth, drawn where the lips have parted.

A photo of a closed mouth has nothing to show when the lips part, so the opening
between the inner lip contours is painted over: a dark cavity, the tongue low in it,
the upper teeth hanging from the skull's biting edge and the lower teeth rising from
the jaw's (so lips can cover or bare them, and the teeth do not stretch with the lips),
each shaded darker towards the corners, with the gums above (below) them where a lip
lifts (drops) past the teeth. Colours come from the photo itself (the cavity, tongue and
gums from the lips, the teeth's brightness and saturation from the skin),
so a black-and-white photo gets a grey mouth and a dim one a dim mouth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..face import landmarks as lm
from ..face.rig import LOWER_TEETH, UPPER_TEETH
from ..vocabulary import VISEMES

if TYPE_CHECKING:
    from .photo_teeth import PhotoTeeth

SUBPIXEL_BITS = 4
TEETH_WHITE = np.array([240.0, 236.0, 226.0])  # RGB of teeth in good light
SKIN_REFERENCE_LUMA = 160.0  # skin this bright gets TEETH_WHITE
# The cavity's colour as a share of the lips', and how much redder it is than they are: in
# the 22 real clips of ../shared/fixtures (the darker half of the inside of each clip's six
# widest-open mouths) the median is 0.53 (red), 0.43 (green), 0.44 (blue) of the lips'.
# With the depth shading below, the painted mouth's darker half measures 0.44 the same way.
CAVITY_SHADE = 0.75
CAVITY_RED = 1.2  # its red over its green and blue, in a photo whose lips have colour
TONGUE_SHADE = 0.85
GUM_SHADE = 0.8
LOWER_TEETH_SHADE = 0.85  # lower teeth sit in the upper teeth's shadow
CORNER_SHADE = 0.8  # how much darker teeth are at the mouth's corners than at its middle
# Teeth in shadow darken towards black. Towards the cavity's warm colour looks less like a grey
# mouthguard but reads worse to face trackers: MediaPipe's opening of a rendered portrait on
# real speech fell from r 0.380 to 0.357 (benchmarks/real_mouths.py --paths render) at a fifth
# of the way, and the full-vs-half-jaw test's from 0.91 to 0.34 all the way.
# Face units from the biting edge to the gums, (upper, lower): incisor crowns are some 10.5
# and 9 mm long against 63 mm between the eyes.
TEETH_HEIGHT = (0.17, 0.14)
GUM_HEIGHT = 0.25  # face units of gum painted past the teeth (the lips always cover the rest)
CAVITY_DEPTH_SHADE = 0.42  # the cavity's darkness at its middle as a share of near the lips
# Where neighbouring teeth meet, face units from the mouth's middle (incisors, then canines
# and premolars; about 8.5, 6.5 and 7.5 mm wide against 63 mm between the eyes).
TOOTH_GAPS = (0.0, 0.135, 0.24, 0.355, 0.46)
TOOTH_GAP_WIDTH = 0.008  # face units
TOOTH_GAP_SHADE = 0.1
# Each tooth is rounded: it turns away from the light towards its sides, so it darkens
# smoothly over this far from where it meets the next (face units) by up to TOOTH_ROUND_SHADE.
# A hard line alone between flat white teeth read as piano keys.
TOOTH_ROUND_WIDTH = 0.035
TOOTH_ROUND_SHADE = 0.16
# The rounded corners of neighbouring teeth leave a notch open at the biting edge (an
# embrasure): this half-width at the edge (face units, ~0.4 mm), closing this far up (~1.3 mm).
EMBRASURE_HALF_WIDTH = 0.006
EMBRASURE_DEPTH = 0.02
EDGE_SHADE = 0.72  # teeth brightness at the gums as a share of that at the biting edge
TONGUE_SIZE = (0.80, 0.30)  # semi-axes: share of the mouth's half width, face units (deep: under the lip)
TONGUE_DROP = -0.07  # face units the tongue's top lies below the lower teeth's edge (its back, seen over them)
TONGUE_OUT_RISE = 0.08  # face units the tongue rises at TongueOut 1
TONGUE_BACK_SHADE = 0.6  # the tongue's brightness at its top edge (its back) as a share of further down
TONGUE_BACK_DEPTH = 0.03  # face units below its top edge where the tongue is fully lit
TONGUE_SOFTNESS = 0.008  # face units, the blur of the tongue's outline
# For T, D, N, L and TH the tongue's tip rises to the ridge behind the upper teeth: it
# shows in the opening under their edge (Preston Blair's "L" mouth).
TONGUE_UP_VISEMES = ("DD", "nn", "TH")
TONGUE_TIP_WIDTH = 0.35  # share of the mouth's half width at the tip (twice that where it meets the body)
TONGUE_TIP_ROUND = 0.05  # face units, the height of the tip's rounded top
TONGUE_TIP_REACH = 0.01  # face units under the upper teeth's edge the raised tip reaches
FULL_PAINT_GAP = 0.03  # face units the lips must part for the inside to be painted at full strength
PHOTO_MOUTH_MARGIN = 0.02  # face units around a photo's mouth opening also painted over


@dataclass(frozen=True)
class MouthPalette:
    """RGB colours (floats, 0-255) of the mouth's inside for one photo."""

    cavity: np.ndarray
    tongue: np.ndarray
    teeth: np.ndarray
    gums: np.ndarray

    @classmethod
    def of(cls, image: np.ndarray, points: np.ndarray, *, unit: float) -> MouthPalette:
        """Colours that suit ``image``, whose face has its landmarks at ``points`` (pixels)."""
        lips = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(lips, [np.round(points[list(lm.LIPS_OUTLINE), :2]).astype(np.int32)], (1,))
        cv2.fillPoly(lips, [np.round(points[list(lm.MOUTH_OPENING), :2]).astype(np.int32)], (0,))
        skin = np.zeros_like(lips)
        for cheek in (50, 280):
            centre = tuple(int(v) for v in np.round(points[cheek, :2]))
            cv2.circle(skin, centre, max(2, int(0.08 * unit)), (1,), -1)
        lip_colour = _median(image, lips)
        skin_colour = _median(image, skin)
        luma = float(skin_colour @ [0.299, 0.587, 0.114])
        teeth = TEETH_WHITE * np.clip(luma / SKIN_REFERENCE_LUMA, 0.55, 1.0)
        grey = float(teeth.mean())
        teeth = grey + (teeth - grey) * _colourfulness(skin_colour)
        cavity = lip_colour * CAVITY_SHADE
        cavity[0] = min(cavity[0] * (1 + (CAVITY_RED - 1) * _colourfulness(lip_colour)), 255.0)
        return cls(cavity=cavity, tongue=lip_colour * TONGUE_SHADE, teeth=teeth,
                   gums=lip_colour * GUM_SHADE)  # fmt: skip


def mouth_axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The mouth at ``points`` (landmarks, pixels): the middle between its inner corners, the
    unit vector from one corner to the other, and half their distance (at least a pixel)."""
    left, right = points[lm.UPPER_LIP_INNER[0], :2], points[lm.UPPER_LIP_INNER[-1], :2]
    width = float(np.hypot(*(right - left)))
    return (left + right) / 2, (right - left) / max(width, 1e-6), max(width / 2, 1.0)


def raised_tongue(viseme_weights: np.ndarray | None, frames: int) -> np.ndarray:
    """Per frame how far the tongue's tip is raised, 0-1: the weight of the visemes said
    with it up (:data:`TONGUE_UP_VISEMES`); zeros without viseme weights.

    >>> w = np.zeros((2, len(VISEMES)), np.float32); w[1, VISEMES.index("nn")] = 0.8
    >>> raised_tongue(w, 2).tolist()
    [0.0, 0.800000011920929]
    """
    if viseme_weights is None:
        return np.zeros(frames, np.float32)
    columns = [VISEMES.index(name) for name in TONGUE_UP_VISEMES]
    return np.clip(np.asarray(viseme_weights, np.float32)[:, columns].sum(axis=1), 0.0, 1.0)


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
    opening = points[list(lm.MOUTH_OPENING), :2]
    cv2.fillPoly(mask, [np.round(opening * (1 << SUBPIXEL_BITS)).astype(np.int32)], (255,), cv2.LINE_8, SUBPIXEL_BITS)
    margin = max(1, int(round(PHOTO_MOUTH_MARGIN * unit)))
    grown = cv2.dilate(mask, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    return np.asarray(cv2.inpaint(image, grown, margin + 2, cv2.INPAINT_TELEA))


def _colourfulness(colour: np.ndarray) -> float:
    """0 for a grey ``colour`` (RGB) up to 1 from a saturation of 0.2 (a photo in colour) on."""
    saturation = float((colour.max() - colour.min()) / max(colour.max(), 1.0))
    return float(np.clip(saturation / 0.2, 0.0, 1.0))


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
    tongue_up: float = 0.0,
    opacity: float = 1.0,
    own_teeth: PhotoTeeth | None = None,
) -> None:
    """Paint the inside of the mouth into ``frame`` where the lips at ``points`` are apart.

    Parameters
    ----------
    frame : np.ndarray [shape=(H, W, 3), dtype=uint8], changed in place
    points : np.ndarray [shape=(N, 2 or 3)], the rig's posed landmarks, pixels
    unit : float, pixels per face unit
    palette : MouthPalette
    tongue_out : float in [0, 1], the TongueOut blendshape
    tongue_up : float in [0, 1], how far the tongue's tip is raised (:func:`raised_tongue`)
    opacity : float in [0, 1], how much of what is painted covers what the frame shows there
    own_teeth : PhotoTeeth or None, the photo's own teeth, laid over the painted ones
    """
    opening = points[list(lm.MOUTH_OPENING), :2]
    centre, across, half_width = mouth_axes(points)
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

    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    sideways = ((xs - centre[0]) * across[0] + (ys - centre[1]) * across[1]) / half_width  # -1..1 corner to corner
    downwards = (xs - centre[0]) * down[0] + (ys - centre[1]) * down[1]  # pixels below the corners' line
    corner_shade = (1 - CORNER_SHADE * np.clip(sideways**2, 0, 1))[..., None]

    # The cavity: darkest along the middle of the opening, lit a little near the lips.
    top, bottom = float((opening @ down).min() - centre @ down), float((opening @ down).max() - centre @ down)
    from_middle = np.clip(np.abs(downwards - (top + bottom) / 2) / max((bottom - top) / 2, 1.0), 0, 1)
    layer = palette.cavity * (CAVITY_DEPTH_SHADE + (1 - CAVITY_DEPTH_SHADE) * from_middle**2)[..., None]

    # The tongue: its back, in shadow, rises over the lower teeth; lit towards its tip.
    tongue_top = points[LOWER_TEETH, :2].mean(axis=0) + down * unit * (TONGUE_DROP - TONGUE_OUT_RISE * tongue_out)
    axes = (half_width * TONGUE_SIZE[0], unit * TONGUE_SIZE[1])
    angle = float(np.degrees(np.arctan2(across[1], across[0])))
    tongue = _ellipse(shape, tongue_top + down * axes[1] - origin, axes, angle)
    tongue = cv2.GaussianBlur(tongue, (0, 0), max(TONGUE_SOFTNESS * unit, 0.5))
    below_top = np.clip((downwards - float((tongue_top - centre) @ down)) / (TONGUE_BACK_DEPTH * unit), 0, 1)
    lit = (TONGUE_BACK_SHADE + (1 - TONGUE_BACK_SHADE) * below_top)[..., None]
    _paint(layer, tongue, palette.tongue * corner_shade * lit)
    if tongue_up > 0.01:  # the tip, raised towards the upper teeth, lit from the front
        upper_edge = points[UPPER_TEETH, :2].mean(axis=0) + down * unit * TONGUE_TIP_REACH
        tip_top = tongue_top + (upper_edge - tongue_top) * min(tongue_up, 1.0)
        tip_width, round_top = half_width * TONGUE_TIP_WIDTH, unit * TONGUE_TIP_ROUND
        middle = tip_top + down * round_top  # the rounded tip's widest line, joined down to the body
        tip = np.maximum(
            _ellipse(shape, middle - origin, (tip_width, round_top), angle),
            _polygon(shape, np.array([middle - across * tip_width, middle + across * tip_width,
                                      tongue_top + down * round_top + across * tip_width * 2.0,
                                      tongue_top + down * round_top - across * tip_width * 2.0]) - origin),
        )  # fmt: skip
        tip = cv2.GaussianBlur(tip, (0, 0), max(TONGUE_SOFTNESS * unit, 0.5))
        _paint(layer, tip, palette.tongue * corner_shade)

    # Lower teeth first: the upper ones close in front of them.
    gap_distance = _tooth_gap_distance(sideways * half_width / unit)
    gaps = np.clip(1 - gap_distance / TOOTH_GAP_WIDTH, 0, 1)
    rounding = 1 - TOOTH_ROUND_SHADE * (1 - np.clip(gap_distance / TOOTH_ROUND_WIDTH, 0, 1)) ** 2
    for edge, sign, teeth_height, shade in (
        (LOWER_TEETH, 1.0, TEETH_HEIGHT[1], LOWER_TEETH_SHADE),
        (UPPER_TEETH, -1.0, TEETH_HEIGHT[0], 1.0),
    ):
        line = points[edge, :2]
        gums = line + sign * down * unit * teeth_height
        gum_line = gums + sign * down * unit * GUM_HEIGHT
        gum = _polygon(shape, np.concatenate([gums, gum_line[::-1]]) - origin)
        _paint(layer, gum, palette.gums * corner_shade * shade)
        teeth = _polygon(shape, np.concatenate([line, gums[::-1]]) - origin)
        # brightest at the biting edge, shadowed towards the gums (under the lip)
        past_edge = (downwards - float((line.mean(axis=0) - centre) @ down)) * sign / unit
        notch = EMBRASURE_HALF_WIDTH * np.clip(1 - past_edge / EMBRASURE_DEPTH, 0, 1)
        teeth *= 1 - np.clip((notch - gap_distance) * unit, 0, 1)  # a notch under a pixel wide only dims
        towards_gums = np.clip(past_edge / min(teeth_height, 0.12), 0, 1)
        lit = shade * (1 - (1 - EDGE_SHADE) * towards_gums) * (1 - TOOTH_GAP_SHADE * gaps) * rounding
        _paint(layer, teeth, palette.teeth * corner_shade * lit[..., None])
    if own_teeth is not None:
        own_teeth.paint(layer, points, origin)

    alpha = _polygon(shape, _smooth_closed(opening) - origin)[..., None] * strength
    region = frame[y0:y1, x0:x1]
    region[:] = np.clip(region * (1 - alpha) + layer * alpha + 0.5, 0, 255).astype(np.uint8)


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


def _tooth_gap_distance(across: np.ndarray) -> np.ndarray:
    """Each pixel's distance, face units, from the nearest line where two teeth meet, from
    its distance ``across`` the mouth's middle in face units."""
    return np.abs(np.abs(across)[..., None] - np.array(TOOTH_GAPS)).min(axis=-1)


def _polygon(shape: tuple[int, int], corners: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage [0, 1] of a polygon, float32 of ``shape``."""
    mask = np.zeros(shape, np.uint8)
    fixed = np.round(corners * (1 << SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(mask, [fixed], (255,), cv2.LINE_AA, SUBPIXEL_BITS)
    return mask.astype(np.float32) / 255


def _ellipse(shape: tuple[int, int], centre: np.ndarray, axes: tuple[float, float], angle: float) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    scale = 1 << SUBPIXEL_BITS
    cv2.ellipse(
        mask,
        (int(round(centre[0] * scale)), int(round(centre[1] * scale))),
        (max(int(round(axes[0] * scale)), 1), max(int(round(axes[1] * scale)), 1)),
        angle,
        0,
        360,
        (255,),
        -1,
        cv2.LINE_AA,
        SUBPIXEL_BITS,
    )
    return mask.astype(np.float32) / 255


def _paint(layer: np.ndarray, coverage: np.ndarray, colour: np.ndarray) -> None:
    layer += (np.broadcast_to(colour, layer.shape) - layer) * coverage[..., None]
