"""A face rig from one face's landmarks, and its pose for a frame of animation.

:func:`build_rig` turns MediaPipe's 478 landmarks into a :class:`~mouthpiece.types.FaceRig`:

1. the face's own frame and regions (:mod:`.regions`);
2. per blendshape, the landmark displacements of :data:`.rules.RIG_MOVES`, in pixels;
3. rings of extra points around the head (the head ring turns with the head, the
   anchor ring outside it stays put, so hair moves with the head and the background
   does not);
4. the mesh a renderer warps: MediaPipe's face triangles, the mouth's opening (between
   the inner lip contours), each eye's opening (its lids and the iris points inside
   them), and strips joining the face outline to the two rings, ordered so that the
   right ones cover the others where they overlap.

:func:`pose` gives the landmark positions for one frame: the rest landmarks plus the
weighted displacements, then the head's rotation about the neck.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..types import FaceRig
from . import landmarks as lm
from . import rules
from .regions import FaceFrame, Regions

RING_SIZE = len(lm.FACE_OVAL)
TEETH_SIZE = len(lm.UPPER_LIP_INNER)
HEAD_RING = slice(lm.LANDMARK_COUNT, lm.LANDMARK_COUNT + RING_SIZE)
ANCHOR_RING = slice(HEAD_RING.stop, HEAD_RING.stop + RING_SIZE)
# The biting edges of the teeth, along the line the lips part on at rest: the upper
# teeth move with the skull, the lower with the jaw. Renderers draw the mouth's inside
# from them; they are not part of the mesh.
UPPER_TEETH = slice(ANCHOR_RING.stop, ANCHOR_RING.stop + TEETH_SIZE)
LOWER_TEETH = slice(UPPER_TEETH.stop, UPPER_TEETH.stop + TEETH_SIZE)
POINT_COUNT = LOWER_TEETH.stop
UNDER_CHIN = 0.8  # the outline below this share of its height (from the top) is the chin's
JAW_CHANNELS = ("JawOpen", "JawForward", "JawLeft", "JawRight")
# Between each outer mouth corner and the inner one the mesh has two more points, all
# within a pixel or two of each other at rest. Moved by the regions each falls in, they
# part, and the sliver triangles between them stretch the corner's shadow into a dark
# ringed blob; so they move as points on the line from the outer corner to the inner.
CORNER_BETWEEN = ((lm.MOUTH_CORNER_RIGHT, (76, 62), lm.UPPER_LIP_INNER[0]),
                  (lm.MOUTH_CORNER_LEFT, (306, 292), lm.UPPER_LIP_INNER[-1]))  # fmt: skip
POSE = ("HeadYaw", "HeadPitch", "HeadRoll")


def build_rig(
    landmarks: np.ndarray,
    *,
    head_ring: tuple[float, float] = rules.HEAD_RING_SCALE,
    anchor_ring: tuple[float, float] = rules.ANCHOR_RING_SCALE,
    head_reach: np.ndarray | None = None,
) -> FaceRig:
    """The rig of a face.

    Parameters
    ----------
    landmarks : np.ndarray [shape=(478, 3)], MediaPipe face-mesh landmarks in pixels
    head_ring, anchor_ring : (at the top of the head, at the chin), how far out the rings
        lie, as multiples of the face outline's distance from its centre
    head_reach : np.ndarray [shape=(36,)] or None, per point of the face outline how far
        the head (hair included) reaches in that direction, in the same multiples (a
        portrait's silhouette: :func:`mouthpiece.render.backdrop.head_reach`): the head
        ring reaches out that far above the ears, so the whole head turns, and the
        anchor ring lies beyond it

    Returns
    -------
    FaceRig
        ``POINT_COUNT`` landmarks (MediaPipe's, the head and anchor rings, the teeth
        edges), a displacement per blendshape of ``rules.RIG_MOVES``.
    """
    landmarks = np.asarray(landmarks, np.float64)
    if landmarks.shape != (lm.LANDMARK_COUNT, 3):
        raise ValueError(f"expected ({lm.LANDMARK_COUNT}, 3) landmarks, got {landmarks.shape}")
    frame = FaceFrame.of(landmarks)
    regions = Regions(frame.to_face(landmarks))
    channels = tuple(rules.RIG_MOVES)
    basis = np.zeros((len(channels), POINT_COUNT, 3))
    for k, channel in enumerate(channels):
        for name, amount in rules.RIG_MOVES[channel]:
            basis[k, : lm.LANDMARK_COUNT] += frame.to_pixels(_move(regions, name, amount))
        if channel in JAW_CHANNELS:
            name, amount = rules.RIG_MOVES[channel][0]  # the jaw's own move, at full weight
            basis[k, LOWER_TEETH] = frame.to_pixels(np.asarray(amount, np.float64))
    head, anchors, head_weight = _rings(landmarks, frame, head_ring, anchor_ring, head_reach)
    lips_meet = landmarks[list(lm.UPPER_LIP_INNER)]
    upper_teeth = lips_meet + frame.to_pixels(np.array([0.0, rules.UPPER_TEETH_SHOW, 0.0]))
    lower_teeth = lips_meet + frame.to_pixels(np.array([0.0, rules.LOWER_TEETH_SHOW, 0.0]))
    source = np.concatenate([landmarks, head, anchors, upper_teeth, lower_teeth])
    closing = np.zeros_like(source)
    closing[: lm.LANDMARK_COUNT] = frame.to_pixels(_closing(regions))
    closing[HEAD_RING] = closing[list(lm.FACE_OVAL)] * rules.HEAD_RING_FOLLOWS_JAW
    closing[UPPER_TEETH] = closing[LOWER_TEETH] = closing[list(lm.UPPER_LIP_INNER)]  # the teeth sit where the lips meet
    for outer, between, inner in CORNER_BETWEEN:
        for k, point in enumerate(between, 1):
            share = k / (len(between) + 1)
            basis[:, point] = (1 - share) * basis[:, outer] + share * basis[:, inner]
            closing[point] = (1 - share) * closing[outer] + share * closing[inner]
    chin = frame.to_face(landmarks[[lm.CHIN]])[0]
    pivot_face = np.array([0.0, chin[1] + rules.PIVOT_BELOW_CHIN, np.median(regions.face[:, 2])])
    pivot_face[2] += rules.PIVOT_BEHIND_FACE
    pivot = np.append(frame.origin + pivot_face[:2] @ frame.axes * frame.unit, pivot_face[2] * frame.unit)
    basis[:, HEAD_RING] = basis[:, list(lm.FACE_OVAL)] * rules.HEAD_RING_FOLLOWS_JAW
    return FaceRig(
        landmarks=source + closing,
        source=source,
        basis=basis,
        channels=channels,
        head_weight=np.concatenate(
            [np.ones(lm.LANDMARK_COUNT), head_weight, np.zeros(RING_SIZE), np.ones(2 * TEETH_SIZE)]
        ),
        pivot=pivot,
        triangles=_triangles(source),
        unit=frame.unit,
    )


def pose(rig: FaceRig, values: np.ndarray, channels: tuple[str, ...]) -> np.ndarray:
    """Landmark positions for one frame of animation.

    Parameters
    ----------
    rig : FaceRig
    values : np.ndarray [shape=(C,)], one frame of an Animation
    channels : tuple of C channel names, the Animation's

    Returns
    -------
    np.ndarray [shape=(N, 3)], pixels
    """
    return Poser(rig, channels)(values)


class Poser:
    """:func:`pose` for many frames of one rig and channel set (the lookups done once)."""

    def __init__(self, rig: FaceRig, channels: tuple[str, ...]):
        index = {name: i for i, name in enumerate(channels)}
        present = [k for k, name in enumerate(rig.channels) if name in index]
        self.rig = rig
        self._basis = rig.basis[present].reshape(len(present), -1)
        self._columns = [index[rig.channels[k]] for k in present]
        self._pose_columns = [index.get(name) for name in POSE]
        # ARKit's MouthClose closes the lips against an open jaw; beyond the jaw's opening it
        # would push the lower lip through the upper one. MouthPucker presses them together too.
        self._close = [index.get("MouthClose"), index.get("JawOpen")]
        self._pucker = index.get("MouthPucker")
        self._close_row = present.index(rig.channels.index("MouthClose")) if "MouthClose" in index else None
        frame = FaceFrame.of(rig.landmarks[: lm.LANDMARK_COUNT])
        self._to_image = frame.rotation  # face axes -> image axes

    def __call__(self, values: np.ndarray) -> np.ndarray:
        rig = self.rig
        weights = values[self._columns]
        close, jaw = self._close
        if self._close_row is not None and close is not None:
            opening = 0.0 if jaw is None else float(values[jaw])
            closing = float(values[close])
            if self._pucker is not None:
                closing = max(closing, rules.PUCKER_CLOSES * float(values[self._pucker]) * opening)
            weights[self._close_row] = min(closing, opening)
        points = rig.landmarks + (weights @ self._basis).reshape(rig.landmarks.shape)
        yaw, pitch, roll = (0.0 if c is None else float(values[c]) for c in self._pose_columns)
        if yaw == pitch == roll == 0.0:
            return points
        turn = self._to_image @ head_rotation(yaw, pitch, roll) @ self._to_image.T
        turned = (points - rig.pivot) @ turn.T.astype(np.float32) + rig.pivot
        return points + rig.head_weight[:, None] * (turned - points)


def head_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """The head's rotation in the face's frame (x to the subject's left, y down, z away).

    The angles follow :mod:`mouthpiece.motion.idle`: positive yaw turns the face to the
    subject's left, positive pitch tips the chin up, positive roll tilts the top of the
    head to the subject's right (counter-clockwise as the viewer sees it).

    >>> np.round(head_rotation(0.1, 0.0, 0.0) @ [0.0, 0.0, -1.0], 3)  # the nose swings left
    array([ 0.1  ,  0.   , -0.995])
    >>> np.round(head_rotation(0.0, 0.1, 0.0) @ [0.0, 0.0, -1.0], 3)  # and up
    array([ 0.   , -0.1  , -0.995])
    """
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(-pitch), np.sin(-pitch)
    cr, sr = np.cos(-roll), np.sin(-roll)
    turn = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    tip = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])  # positive angle: the nose goes down
    tilt = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])  # positive angle: the top goes left
    return tilt @ turn @ tip


def _move(regions: Regions, name: str, amount: tuple[float, float, float] | float) -> np.ndarray:
    """[478, 3] face-unit displacements of one move of the table."""
    first, *factors = name.split("*")
    weight = np.ones(len(regions.face))
    for factor in factors:
        weight = weight * regions.weights[factor]
    if first in regions.fields:
        return regions.fields[first] * weight[:, None] * float(amount)  # type: ignore[arg-type]
    return (regions.weights[first] * weight)[:, None] * np.asarray(amount, np.float64)


def _closing(regions: Regions) -> np.ndarray:
    """[478, 3] face-unit displacements that bring a photo's parted lips together.

    The lips meet halfway across the gap at each point along the mouth; only the lips
    and the skin right by them move, so the jaw and everything outside the mouth stay
    where the photo has them. Zero for a closed mouth.
    """
    face = regions.face
    upper_ids, lower_ids = list(lm.UPPER_LIP_INNER[1:-1]), list(lm.LOWER_LIP_INNER[1:-1])
    gap = np.maximum(face[lower_ids, 1] - face[upper_ids, 1], 0.0)
    if gap.max() < rules.CLOSED_GAP:
        return np.zeros_like(face)
    half = np.interp(face[:, 0], face[lower_ids, 0], gap / 2, left=0.0, right=0.0)
    half[upper_ids] = half[lower_ids] = gap / 2  # the inner edges meet exactly
    shift = half * (regions.weights["upperLip"] - regions.weights["lowerLip"])  # down for upper, up for lower
    return np.column_stack([np.zeros(len(face)), shift, np.zeros(len(face))])


def rings(
    landmarks: np.ndarray, head_scales: tuple[float, float], anchor_scales: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The head ring and the anchor ring ``[RING_SIZE, 3]`` pixels around a face's 478 landmarks."""
    head, anchors, _ = _rings(landmarks, FaceFrame.of(landmarks), head_scales, anchor_scales, None)
    return head, anchors


def _rings(
    landmarks: np.ndarray,
    frame: FaceFrame,
    head_scales: tuple[float, float],
    anchor_scales: tuple[float, float],
    head_reach: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The head ring, the anchor ring and how much of a head turn the head ring follows."""
    oval = landmarks[list(lm.FACE_OVAL)]
    face = frame.to_face(oval)
    centre = face[:, :2].mean(axis=0)
    # 0 at the top of the outline, 1 at the chin
    height = np.clip((face[:, 1] - face[:, 1].min()) / np.ptp(face[:, 1]), 0, 1)

    def ring(scale: np.ndarray) -> np.ndarray:
        xy = centre + (face[:, :2] - centre) * scale[:, None]
        pixels = frame.origin + xy @ frame.axes * frame.unit
        return np.column_stack([pixels, oval[:, 2]])

    head = head_scales[0] + (head_scales[1] - head_scales[0]) * height
    anchor = anchor_scales[0] + (anchor_scales[1] - anchor_scales[0]) * height
    if head_reach is not None:
        above_ears = np.clip((rules.REACH_UNTIL - height) / (rules.REACH_UNTIL - rules.REACH_FULL), 0, 1)
        head = np.maximum(head, 1.0 + above_ears * (np.asarray(head_reach, np.float64) - 1.0))
        anchor = np.maximum(anchor, head + (anchor_scales[0] - head_scales[0]))
    head_weight = 1 - (1 - rules.NECK_HEAD_WEIGHT) * np.clip((height - 0.5) * 2, 0, 1)
    return ring(head), ring(anchor), head_weight


def _triangles(points: np.ndarray) -> np.ndarray:
    """The mesh: face, mouth opening, eye openings, then the strips out to the rings."""
    mouth = []
    upper, lower = lm.UPPER_LIP_INNER, lm.LOWER_LIP_INNER
    for i in range(len(upper) - 1):
        if i > 0:
            mouth.append((upper[i], lower[i], lower[i + 1]))
        if i < len(upper) - 2:
            mouth.append((upper[i], upper[i + 1], lower[i + 1]))
    eyes = [
        _fill(points, upper_lid + lower_lid[-2:0:-1], iris)
        for upper_lid, lower_lid, iris in (
            (lm.RIGHT_UPPER_LID, lm.RIGHT_LOWER_LID, lm.RIGHT_IRIS),
            (lm.LEFT_UPPER_LID, lm.LEFT_LOWER_LID, lm.LEFT_IRIS),
        )
    ]
    strips = []
    oval = np.array(lm.FACE_OVAL)
    head = np.arange(HEAD_RING.start, HEAD_RING.stop)
    anchors = np.arange(ANCHOR_RING.start, ANCHOR_RING.stop)
    height = points[oval, 1] - points[oval, 1].min()
    under_chin = height > UNDER_CHIN * np.ptp(points[oval, 1])  # [RING_SIZE], the outline's lowest part
    for inner, outer in ((oval, head), (head, anchors)):
        for i in range(RING_SIZE):
            j = (i + 1) % RING_SIZE
            strips += [(inner[i], outer[i], outer[j], under_chin[i]), (inner[i], outer[j], inner[j], under_chin[i])]
    chin_strips = np.array([s[:3] for s in strips if s[3]])
    side_strips = np.array([s[:3] for s in strips if not s[3]])
    # Later triangles cover earlier ones where they overlap. The strips under the chin
    # first: where a dropping chin passes the head ring, the strip folding under it stays
    # behind the face (drawn over the chin it copied the neck, a collar or a necklace onto
    # it). Then the openings, so the lips and lids cover them; the upper lids' skin last of
    # the face, so a closed lid covers the lower lid's edge; the other strips last, so the
    # hair the head ring squeezes as the head turns covers the face's edge softly.
    face = lm.mesh_triangles()
    on_upper_lid = np.isin(face, lm.LEFT_UPPER_LID + lm.RIGHT_UPPER_LID).any(axis=1)
    order = [chin_strips, np.array(mouth), *eyes, face[~on_upper_lid], face[on_upper_lid], side_strips]
    return np.concatenate(order).astype(np.int32)


def _fill(points: np.ndarray, contour: tuple[int, ...], inner: tuple[int, ...]) -> np.ndarray:
    """Triangles over a closed contour and the given points that lie inside it."""
    outline = points[list(contour), :2].astype(np.float32)

    def within(xy: np.ndarray) -> bool:
        return cv2.pointPolygonTest(outline, (float(xy[0]), float(xy[1])), False) > 0

    ids = np.array(list(contour) + [i for i in inner if within(points[i])])
    from scipy.spatial import Delaunay  # imported here: it costs every CLI command 0.1 s of start-up

    simplices = Delaunay(points[ids, :2]).simplices
    centres = points[ids[simplices], :2].mean(axis=1)
    return ids[simplices[[within(c) for c in centres]]]
