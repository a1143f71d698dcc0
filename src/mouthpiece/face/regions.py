"""Where a face's parts are: its own frame, and per-landmark weights and fields.

Everything is measured in the face's frame: the origin between the outer mouth
corners, ``x`` from the subject's right eye centre to the left one (the image's right
in an unmirrored photo), ``y`` at right angles to it pointing down the face, ``z`` away
from the camera, and one face unit the distance between the eye centres. A *region* is
a weight in [0, 1] per landmark (how much of a move it takes); a *field* is a
displacement per landmark in face units (for moves whose direction depends on where a
point is, like lids closing onto the lower lid or lips gathering to the centre).

The lips part along the line between the inner lip contours: points above it belong
to the upper lip and skull, points below to the lower lip and jaw, which is what lets
the mouth open. Outside the mouth the skin blends smoothly between the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import landmarks as lm

SIDES = {"Left": 1.0, "Right": -1.0}  # the sign of x on the subject's side

LIP_REACH = 0.12  # face units beyond a mouth corner over which the lip regions fade out
UPPER_SKIN_REACH = 0.10  # face units above the upper lip that follow it (fading)
LOWER_SKIN_REACH = 0.12  # face units below the lower lip that follow it
JAW_BLEND = (-0.05, 0.30)  # face units below the mouth line over which cheek skin joins the jaw
JAW_FULL_WIDTH = 0.45  # |x| up to which the jaw opens fully; beyond, less towards the ears
JAW_FADE_WIDTH = 0.80
JAW_MIN = 0.1  # the share of the jaw's motion the jaw's far corners still take
CORNER_RADIUS = 0.16
CHEEK_OFFSET = (0.10, -0.45)  # cheek centre from the mouth corner, x outwards
CHEEK_RADIUS = 0.30
CHEEK_CLEAR_OF_EYE = 0.15  # face units below a lower lid over which cheek moves fade in
EYE_MARGIN = 0.05  # face units beyond an eye's corners still counted as the eye
NOSE_WING_RADIUS = 0.10
LID_SKIN_REACH = 0.12  # face units above an upper lid (or below a lower lid) that follow it
BROW_MARGIN = 0.12  # face units beyond a brow's ends over which it fades
FOREHEAD_REACH = 0.30  # face units above a brow that partly follow it
MOUTH_REACH = 0.35  # face units around the mouth line that a whole-mouth shift carries


@dataclass(frozen=True)
class FaceFrame:
    """The face's own frame in the image: origin and unit in pixels, axes as unit rows."""

    origin: np.ndarray  # [2] pixels
    axes: np.ndarray  # [2, 2]: rows x and y
    unit: float  # pixels per face unit

    @classmethod
    def of(cls, points: np.ndarray) -> FaceFrame:
        right_eye, left_eye = lm.eye_centres(points)
        across = left_eye - right_eye
        unit = float(np.hypot(*across))
        x_axis = across / unit
        y_axis = np.array([-x_axis[1], x_axis[0]])
        origin = points[[lm.MOUTH_CORNER_RIGHT, lm.MOUTH_CORNER_LEFT], :2].mean(axis=0)
        return cls(origin=origin, axes=np.stack([x_axis, y_axis]), unit=unit)

    def to_face(self, points: np.ndarray) -> np.ndarray:
        """[N, 3] pixels -> [N, 3] face units."""
        xy = (points[:, :2] - self.origin) @ self.axes.T / self.unit
        return np.column_stack([xy, points[:, 2] / self.unit])

    def to_pixels(self, displacement: np.ndarray) -> np.ndarray:
        """[..., 3] displacements in face units -> pixels."""
        xy = displacement[..., :2] @ self.axes
        return np.concatenate([xy, displacement[..., 2:]], axis=-1) * self.unit

    @property
    def rotation(self) -> np.ndarray:
        """[3, 3]: columns are the face's x, y, z axes in image coordinates."""
        rotation = np.eye(3)
        rotation[:2, :2] = self.axes.T
        return rotation


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _curve(face: np.ndarray, contour: tuple[int, ...], x: np.ndarray) -> np.ndarray:
    """The y of a contour at each x (held flat beyond its ends)."""
    xs, ys = face[list(contour), 0], face[list(contour), 1]
    order = np.argsort(xs)
    return np.interp(x, xs[order], ys[order])


def _gaussian(face: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    return np.exp(-(((face[:, :2] - centre) ** 2).sum(axis=1)) / radius**2)


def _beyond_falloff(distance: np.ndarray, reach: float) -> np.ndarray:
    """1 up to 0, then a Gaussian fade over ``reach``."""
    return np.where(distance <= 0, 1.0, np.exp(-((np.maximum(distance, 0) / reach) ** 2)))


class Regions:
    """The regions and fields of one face, computed once from its rest landmarks.

    ``weights[name]`` is a region, ``fields[name]`` a field; names ending in ``Left`` or
    ``Right`` are the subject's sides.
    """

    def __init__(self, face: np.ndarray):
        self.face = face  # [478, 3] face units
        self.weights: dict[str, np.ndarray] = {}
        self.fields: dict[str, np.ndarray] = {}
        self._between_lids = np.zeros(len(face), bool)  # with the irises: what brows never move
        self._under_eyes = np.ones(len(face))
        self._lid_line: dict[str, np.ndarray] = {}  # the upper lid's y at each landmark's x
        self._mouth()
        for side in SIDES:
            self._eye(side)
        for side, sign in SIDES.items():
            self._brow(side)
            corner = face[lm.MOUTH_CORNER_LEFT if sign > 0 else lm.MOUTH_CORNER_RIGHT, :2]
            self.weights[f"corner{side}"] = _gaussian(face, corner, CORNER_RADIUS)
            cheek = corner + np.array([CHEEK_OFFSET[0] * sign, CHEEK_OFFSET[1]])
            self.weights[f"cheek{side}"] = _gaussian(face, cheek, CHEEK_RADIUS) * self._under_eyes
            wing = face[lm.LEFT_NOSE_WING if sign > 0 else lm.RIGHT_NOSE_WING, :2]
            self.weights[f"noseWing{side}"] = _gaussian(face, wing, NOSE_WING_RADIUS)
            self.weights[f"side{side}"] = np.clip(0.5 + sign * face[:, 0] / (2 * self.half_width), 0.0, 1.0)

    def _mouth(self) -> None:
        face = self.face
        x, y = face[:, 0], face[:, 1]
        self.half_width = hw = float(face[lm.MOUTH_CORNER_LEFT, 0] - face[lm.MOUTH_CORNER_RIGHT, 0]) / 2
        split = (_curve(face, lm.UPPER_LIP_INNER, x) + _curve(face, lm.LOWER_LIP_INNER, x)) / 2
        below = y > split
        below[list(lm.UPPER_LIP_INNER[1:-1])] = False
        below[list(lm.LOWER_LIP_INNER[1:-1])] = True
        across = _beyond_falloff(np.abs(x) - hw, LIP_REACH)  # 1 within the mouth's width
        upper = ~below * across * _beyond_falloff(_curve(face, lm.UPPER_LIP_OUTER, x) - y - 0.01, UPPER_SKIN_REACH)
        lower = below * across * _beyond_falloff(y - _curve(face, lm.LOWER_LIP_OUTER, x) - 0.01, LOWER_SKIN_REACH)
        lateral = np.clip(1 - (np.abs(x) - JAW_FULL_WIDTH) / JAW_FADE_WIDTH, JAW_MIN, 1.0)
        # Near the corners each lip moves halfway with the other, which rounds the opening.
        middle = np.sqrt(np.clip(1 - (x / hw) ** 2, 0, 1))  # 1 mid-mouth, 0 at and beyond the corners
        shared = 0.5 * (1 - middle)
        lips_on_jaw = np.where(below, 1 - shared * lower, shared * upper)
        jaw = (across * lips_on_jaw + (1 - across) * smoothstep(*JAW_BLEND, y - split)) * lateral
        corners = [lm.MOUTH_CORNER_RIGHT, lm.MOUTH_CORNER_LEFT, lm.UPPER_LIP_INNER[0], lm.UPPER_LIP_INNER[-1]]
        upper[corners], lower[corners], jaw[corners] = 0.5, 0.5, 0.5
        self.weights.update(
            upperLip=upper,
            lowerLip=lower,
            lips=np.maximum(upper, lower),
            jaw=jaw,
            mouthMiddle=middle,
            mouth=across * np.exp(-(((y - split) / MOUTH_REACH) ** 2)),
        )
        zero = np.zeros_like(x)
        # Lips thin towards (or, negated, swell away from) their own inner edge, which stays
        # where it is: measured from the line they part along, a photo's parted lips opened
        # further when they swelled (a pucker showed the teeth of a smiling photo).
        upper_edge, lower_edge = _curve(face, lm.UPPER_LIP_INNER, x), _curve(face, lm.LOWER_LIP_INNER, x)
        self.fields["thinUpper"] = np.column_stack([zero, (upper_edge - y) * upper, zero])
        self.fields["thinLower"] = np.column_stack([zero, (lower_edge - y) * lower, zero])
        # Lips gather towards the mouth's centre line and push forward.
        lips = np.maximum(upper, lower)
        self.fields["gather"] = np.column_stack([-x * self.weights["mouth"], zero, -lips])
        # Lips part in the middle, most at the centre and not at all at the corners.
        profile = np.clip(1 - (x / hw) ** 2, 0, 1)
        self.fields["part"] = np.column_stack([zero, profile * (lower - upper), zero])

    def _eye(self, side: str) -> None:
        face = self.face
        x, y = face[:, 0], face[:, 1]
        left = side == "Left"
        upper_lid, lower_lid = (
            (lm.LEFT_UPPER_LID, lm.LEFT_LOWER_LID) if left else (lm.RIGHT_UPPER_LID, lm.RIGHT_LOWER_LID)
        )
        iris = list(lm.LEFT_IRIS if left else lm.RIGHT_IRIS)
        top, bottom = _curve(face, upper_lid, x), _curve(face, lower_lid, x)
        ends = face[[upper_lid[0], upper_lid[-1]], 0]
        inside = (x > ends.min()) & (x < ends.max())
        height = np.where(inside, np.maximum(bottom - top, 0), 0.0)
        between = inside & (y >= top - 1e-3) & (y <= bottom + 1e-3)
        above = inside & (y < top - 1e-3)
        below = inside & (y > bottom + 1e-3)
        lid_skin = np.clip(1 - (top - y) / LID_SKIN_REACH, 0, 1) * above
        under_skin = np.clip(1 - (y - bottom) / LID_SKIN_REACH, 0, 1) * below
        is_iris = np.zeros(len(face), bool)
        is_iris[iris] = True
        # Closing: the upper lid slides down onto the lower one and the skin above follows;
        # the eyeball stays, so the lid covers it (a renderer draws lids over the eye).
        close = np.where(between, bottom - y, height * lid_skin)
        close[iris] = 0
        # Widening: the upper lid rises by the eye's height; what lies between stretches.
        widen = np.where(between & ~is_iris, -(bottom - y), -height * lid_skin)
        widen[iris] = 0
        # Squinting: the lower lid rises by the eye's height.
        squint = np.where(between & ~is_iris, -(y - top), -height * under_skin)
        squint[iris] = 0
        zero = np.zeros_like(x)
        for name, dy in (("close", close), ("widen", widen), ("squint", squint)):
            self.fields[f"{name}Eye{side}"] = np.column_stack([zero, dy, zero])
        weight = np.zeros_like(x)
        weight[iris] = 1.0
        self.weights[f"iris{side}"] = weight
        self._between_lids |= between | is_iris
        self._lid_line[side] = top
        # what lies under this eye, fading in below its lower lid (cheek moves keep off the eye)
        near = (x > ends.min() - EYE_MARGIN) & (x < ends.max() + EYE_MARGIN)
        self._under_eyes *= np.where(near, np.clip((y - bottom) / CHEEK_CLEAR_OF_EYE, 0, 1), 1.0)

    def _brow(self, side: str) -> None:
        face = self.face
        x, y = face[:, 0], face[:, 1]
        points = list(lm.LEFT_BROW if side == "Left" else lm.RIGHT_BROW)
        outer_x, inner_x = face[points[0], 0], face[points[-1], 0]
        low, high = min(outer_x, inner_x), max(outer_x, inner_x)
        along = _beyond_falloff(np.maximum(low - x, x - high), BROW_MARGIN)
        brow_top = _curve(face, tuple(points[5:]), x)
        brow_bottom = _curve(face, tuple(points[:5]), x)
        lid = self._lid_line[side]
        gap = np.maximum(lid - brow_bottom, 0.1)
        vertical = np.where(
            y < brow_top,
            np.exp(-(((brow_top - y) / FOREHEAD_REACH) ** 2)),
            np.where(y <= brow_bottom, 1.0, np.clip(1 - (y - brow_bottom) / gap, 0, 1)),
        )
        region = along * vertical
        region[self._between_lids] = 0
        position = np.clip((x - outer_x) / (inner_x - outer_x), -1, 2)  # 0 at the outer end, 1 at the inner
        self.weights[f"brow{side}"] = region
        self.weights[f"browInner{side}"] = region * smoothstep(0.2, 1.0, position)
        self.weights[f"browOuter{side}"] = region * (1 - smoothstep(0.0, 0.7, position))
