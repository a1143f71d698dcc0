"""The inside of a head's mouth (:mod:`.mesh`): a cavity hung from the lips, teeth and a tongue.

A photo has no inside to its mouth, so in a mesh made from one an open mouth would be a
hole to whatever lies behind the head. Instead:

- the cavity is a bag sewn to the inner lip contours: rings of points behind the lips,
  spreading up and down towards the middle of the mouth, closed at the back. Each ring
  point moves as the lip point it hangs from, so the bag opens with the lips and never
  tears away from them;
- the teeth are two strips whose biting edges are the rig's (``UPPER_TEETH`` with the
  skull, ``LOWER_TEETH`` with the jaw's own move), set behind the lips and curving back
  towards the corners, the lower behind the upper;
- the tongue is a mound on the jaw behind the lower teeth; TongueOut pushes it out.

Colours are the portrait's (:class:`~.mouth.MouthPalette`, from the photo's lips and
skin), shaded per vertex: darker deeper in, towards the corners and the gums. Positions
and targets are in the rig's pixels (x right, y down, z away); offsets are in face units.
"""

from __future__ import annotations

import numpy as np

from ..face import landmarks as lm
from ..face.regions import FaceFrame
from ..face.rig import LOWER_TEETH, UPPER_TEETH
from ..types import FaceRig
from ..vocabulary import ARKIT_BLENDSHAPES
from .mouth import (
    CAVITY_DEPTH_SHADE,
    CORNER_SHADE,
    EDGE_SHADE,
    LOWER_TEETH_SHADE,
    TONGUE_OUT_RISE,
    TONGUE_SIZE,
    MouthPalette,
)

# The cavity's rings behind the lips: (spread up and down at the mouth's middle, depth, width
# as a share of the lips'), face units; then the back of the bag, this deep.
CAVITY_RINGS = ((0.10, 0.10, 1.0), (0.22, 0.30, 0.85))
CAVITY_BACK = 0.40
CAVITY_SHADES = (1.0, 0.75, CAVITY_DEPTH_SHADE, 0.8 * CAVITY_DEPTH_SHADE)  # the lips' ring, the rings, the back
# Teeth: depth of the biting edge behind the lips, height to the gums, face units (upper, lower).
TEETH_DEPTH = (0.05, 0.08)
TEETH_HEIGHT = (0.30, 0.22)
TEETH_ARCH = 0.12  # face units further back at the mouth's corners: the dental arch
TEETH_WIDTH = 0.92  # of the lips' width
GUM_SLANT = 0.03  # face units the gum line lies behind the biting edge
# Tongue: its top above the lower teeth's edge (a little over the lower lip's inner edge, so
# an open mouth shows it), the depth of its tip behind the lips and half its length, face
# units; the portrait's TONGUE_SIZE is its half width (a share of the mouth's) and its height.
TONGUE_TOP = 0.12
TONGUE_DEPTH = (0.10, 0.12)
TONGUE_REACH = 0.35  # face units the tip comes forward at TongueOut 1 (the back half as far)
TONGUE_GRID = (5, 16)  # rings, points around
SKIN_CLEARANCE = 0.02  # face units every inside point lies behind the skin in front of it, at rest

_Part = tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # name, positions, triangles, targets, colours


def mouth_parts(
    image: np.ndarray, rig: FaceRig, basis: np.ndarray, frame: FaceFrame, skin: tuple[np.ndarray, np.ndarray]
) -> list[_Part]:
    """The cavity, teeth and tongue of the rig's mouth.

    Parameters
    ----------
    image : np.ndarray [shape=(H, W, 3), dtype=uint8], the photo (for the colours)
    rig : FaceRig, of the photo's face
    basis : np.ndarray [shape=(52, N, 3)], the rig's displacements in ``ARKIT_BLENDSHAPES`` order, pixels
    frame : FaceFrame, the face's frame in the photo
    skin : (positions [V, 3] pixels, triangles [F, 3]), the skin at rest: nothing of the
        inside lies in front of it (or less than ``SKIN_CLEARANCE`` behind it) at rest

    Returns
    -------
    list of (name, positions [V, 3] pixels, triangles [F, 3], targets [52, V, 3] pixels, colours [V, 3] sRGB 0-1)
    """
    palette = MouthPalette.of(image, rig.source, unit=rig.unit)
    corners = frame.to_face(rig.landmarks[[lm.MOUTH_CORNER_RIGHT, lm.MOUTH_CORNER_LEFT]])
    half_width = float(corners[1, 0] - corners[0, 0]) / 2
    parts = [
        _cavity(rig, basis, frame, half_width, palette.cavity / 255),
        _teeth(rig, basis, frame, half_width, palette.teeth / 255),
        _tongue(rig, basis, frame, half_width, palette.tongue / 255),
    ]
    sewn = len(lm.UPPER_LIP_INNER) + len(lm.LOWER_LIP_INNER) - 2  # the cavity's first ring is the lips themselves
    for k, (_, positions, _, _, _) in enumerate(parts):
        inner = positions[sewn if k == 0 else 0 :]  # a view: changed in place
        inner[:, 2] = np.maximum(inner[:, 2], depth_at(inner[:, :2], *skin) + SKIN_CLEARANCE * frame.unit)
    return parts


def depth_at(points: np.ndarray, positions: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """How deep [M] the mesh (``positions`` [V, 3], ``triangles`` [F, 3]) lies at ``points`` [M, 2]:
    its z there, the smallest where it folds over itself (z grows away from the viewer, as in
    the rig's pixels); -inf where none of it lies."""
    a, b, c = (positions[triangles[:, i]] for i in range(3))  # [F, 3] each
    ab, ac = b[:, :2] - a[:, :2], c[:, :2] - a[:, :2]
    area = ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0]  # [F]
    usable = np.abs(area) > 1e-12
    ap = points[:, None, :] - a[None, :, :2]  # [M, F, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = (ap[..., 0] * ac[:, 1] - ap[..., 1] * ac[:, 0]) / area
        v = (ab[:, 0] * ap[..., 1] - ab[:, 1] * ap[..., 0]) / area
    inside = usable & (u >= 0) & (v >= 0) & (u + v <= 1)
    depth = a[:, 2] + u * (b[:, 2] - a[:, 2]) + v * (c[:, 2] - a[:, 2])  # [M, F]
    nearest = np.where(inside, depth, np.inf).min(axis=1, initial=np.inf)
    return np.where(np.isfinite(nearest), nearest, -np.inf)


def _cavity(rig: FaceRig, basis: np.ndarray, frame: FaceFrame, half_width: float, colour: np.ndarray) -> _Part:
    ids = list(lm.MOUTH_OPENING)  # round the opening
    count = len(ids)
    lips = rig.landmarks[ids].astype(np.float64)
    x = frame.to_face(lips)[:, 0]
    side = np.array([-1.0] * len(lm.UPPER_LIP_INNER) + [1.0] * (count - len(lm.UPPER_LIP_INNER)))  # up, down
    side[[0, len(lm.UPPER_LIP_INNER) - 1]] = 0.0  # the corners
    middle = np.sqrt(np.clip(1 - (x / half_width) ** 2, 0, 1))
    rings = [lips]
    for spread, depth, width in CAVITY_RINGS:
        offset = np.column_stack([-(1 - width) * x, side * spread * middle, np.full(count, depth)])
        rings.append(lips + frame.to_pixels(offset))
    back = rings[-1].mean(axis=0) + frame.to_pixels(np.array([0.0, 0.0, CAVITY_BACK - CAVITY_RINGS[-1][1]]))
    positions = np.concatenate([*rings, back[None]])
    moves = basis[:, ids]
    targets = np.concatenate([*[moves] * len(rings), moves.mean(axis=1, keepdims=True)], axis=1)
    triangles = []
    for r in range(len(rings) - 1):
        for i in range(count):
            a, b = r * count + i, r * count + (i + 1) % count
            triangles += [(a, b, b + count), (a, b + count, a + count)]
    last, centre = (len(rings) - 1) * count, len(positions) - 1
    triangles += [(last + i, last + (i + 1) % count, centre) for i in range(count)]
    shades = np.repeat(CAVITY_SHADES[: len(rings)], count).tolist() + [CAVITY_SHADES[-1]]
    colours = np.clip(colour * np.array(shades)[:, None], 0, 1)
    return "Mouth", positions, np.array(triangles), targets, colours


def _teeth(rig: FaceRig, basis: np.ndarray, frame: FaceFrame, half_width: float, colour: np.ndarray) -> _Part:
    positions: list[np.ndarray] = []
    triangles: list[tuple[int, int, int]] = []
    targets: list[np.ndarray] = []
    colours: list[np.ndarray] = []
    for edge, sign, depth, height, shade in (
        (UPPER_TEETH, -1.0, TEETH_DEPTH[0], TEETH_HEIGHT[0], 1.0),
        (LOWER_TEETH, 1.0, TEETH_DEPTH[1], TEETH_HEIGHT[1], LOWER_TEETH_SHADE),
    ):
        line = rig.landmarks[edge][1:-1].astype(np.float64)  # not at the corners, where the cavity closes
        x = frame.to_face(line)[:, 0]
        count = len(line)
        back = depth + TEETH_ARCH * (x / half_width) ** 2
        inwards = -(1 - TEETH_WIDTH) * x
        biting = line + frame.to_pixels(np.column_stack([inwards, np.zeros(count), back]))
        gums = line + frame.to_pixels(np.column_stack([inwards, np.full(count, sign * height), back + GUM_SLANT]))
        start = sum(len(p) for p in positions)
        positions += [biting, gums]
        triangles += [(start + i, start + i + 1, start + count + i + 1) for i in range(count - 1)]
        triangles += [(start + i, start + count + i + 1, start + count + i) for i in range(count - 1)]
        moves = basis[:, edge][:, 1:-1]
        targets += [moves, moves]
        corner = 1 - CORNER_SHADE * np.clip((x / half_width) ** 2, 0, 1)
        colours += [np.outer(shade * corner, colour), np.outer(shade * EDGE_SHADE * corner, colour)]
    return ("Teeth", np.concatenate(positions), np.array(triangles), np.concatenate(targets, axis=1),
            np.clip(np.concatenate(colours), 0, 1))  # fmt: skip


def _tongue(rig: FaceRig, basis: np.ndarray, frame: FaceFrame, half_width: float, colour: np.ndarray) -> _Part:
    """Half an ellipsoid on the mouth's floor: seen from the front, much like the portrait's tongue."""
    rings, around = TONGUE_GRID
    radius, angle = np.meshgrid(np.linspace(0, 1, rings + 1)[1:], np.linspace(0, 2 * np.pi, around, endpoint=False),
                                indexing="ij")  # fmt: skip
    radius, angle = np.r_[0.0, radius.ravel()], np.r_[0.0, angle.ravel()]
    height = TONGUE_SIZE[1]
    offset = np.column_stack([
        TONGUE_SIZE[0] * half_width * radius * np.cos(angle),
        -TONGUE_TOP + height * (1 - np.sqrt(1 - radius**2)),  # the top, then down to the floor
        TONGUE_DEPTH[0] + TONGUE_DEPTH[1] * (1 + radius * np.sin(angle)),  # the front lies TONGUE_DEPTH[0] back
    ])  # fmt: skip
    middle = len(lm.UPPER_LIP_INNER) // 2
    positions = rig.landmarks[LOWER_TEETH][middle].astype(np.float64) + frame.to_pixels(offset)
    jaw = basis[:, LOWER_TEETH].mean(axis=1)  # [52, 3]: the jaw's own move
    targets = np.repeat(jaw[:, None], len(positions), axis=1)
    front = (1 - np.sin(angle) * radius) / 2  # 1 at the tip, 0 at the back
    reach = (0.5 + 0.5 * front)[:, None] * np.array([0.0, -TONGUE_OUT_RISE, -TONGUE_REACH])
    targets[ARKIT_BLENDSHAPES.index("TongueOut")] = frame.to_pixels(reach)
    colours = np.outer(1 - 0.4 * (1 - front) - 0.2 * radius**2, colour)
    return "Tongue", positions, polar_triangles(rings, around), targets, np.clip(colours, 0, 1)


def polar_triangles(rings: int, around: int) -> np.ndarray:
    """The triangles [F, 3] of a polar grid: a centre point (vertex 0), then ``rings`` rings of
    ``around`` points each, ring by ring; a fan round the centre, then a strip between each two rings."""
    triangles = [(0, 1 + j, 1 + (j + 1) % around) for j in range(around)]
    for i in range(rings - 1):
        for j in range(around):
            a, b = 1 + i * around + j, 1 + i * around + (j + 1) % around
            triangles += [(a, a + around, b + around), (a, b + around, b)]
    return np.array(triangles, np.int32)
