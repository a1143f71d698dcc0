"""A bank of a video's own mouths: real lips, teeth and tongue for a dubbed mouth.

Painted teeth look painted. A video of someone speaking shows their mouth in many shapes,
so (after Video Rewrite, Bregler et al. 1997, and PersonaTalk) a dub can take the inside
of its new mouth from the video's own frames whose mouth had that shape:

1. :meth:`MouthBank.add` keeps, frame by frame, a crop of the frame around the lips and
   where the lips are in it (40 landmarks, and a ring of anchors just outside the outer
   lips), with the mouth's shape: the lips in the rig's frame (the face's pose taken
   out), centred, in face units. Up to ``capacity`` entries; once full, a frame whose
   shape lies further from every entry than the two closest entries lie from each other
   takes the place of the more crowded of those two, and one that lies nearest a single entry
   takes its place if it lies further from all the others: the bank covers shapes, not time,
   and keeps the extremes (the widest opening seen).
2. :meth:`MouthBank.choose` finds the entries whose shape lies nearest a new mouth's
   (inner lips weighing more, and an opening the entry would have to stretch wider more
   than one it would narrow), weighs the best two by nearness, and eases the weights over
   frames so that one entry fades into the next and nothing pops. Entries within
   ``exclude`` frames of the frame being dubbed are not candidates (benchmarks dubbing a
   video with its own speech set it: a dub of new speech never has the very frame whose
   mouth it needs). How near the best entry's lips lie gives the confidence: far from
   every entry, the caller's painted mouth shows instead.
3. :meth:`MouthBank.paste` warps each chosen crop piecewise-affinely (the triangles of
   lips, opening and ring) from its lips onto the new lips, blends them by weight, evens
   their brightness to the frame's on the lips around the opening, and lays the result over
   the opening and the lips' inner edges through a feathered mask (the rest of the lips
   stays the frame's own, moved by the dub's warp). Where the dub closes a mouth the video
   shows open, the mask also covers the lips' inner part (``cover``): a tracker reading a
   wide-open mouth often puts the inner lips on the teeth, so what the video calls lip
   holds part of the inside, which closed lips would show.

The bank holds the frames seen so far; the dub also fills it ahead from a first look over
the video's first seconds (:mod:`.dub_video`), so that its first frames have mouths too.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face import landmarks as lm
from .mouth import FULL_PAINT_GAP
from .warp import MeshWarp

# The mesh's vertices: the lips' 40 landmarks, then one anchor outside each outer-lip point.
_UPPER_OUTER, _LOWER_OUTER = list(lm.UPPER_LIP_OUTER), list(lm.LOWER_LIP_OUTER[1:-1])
_UPPER_INNER, _LOWER_INNER = list(lm.UPPER_LIP_INNER), list(lm.LOWER_LIP_INNER[1:-1])
LIP_POINTS = np.array(_UPPER_OUTER + _LOWER_OUTER + _UPPER_INNER + _LOWER_INNER)  # [40] landmark indices
_UPPER_MIDDLE, _LOWER_MIDDLE = (int(np.flatnonzero(LIP_POINTS == k)[0]) for k in (13, 14))  # the inner lips' middles
OUTER_LOOP = np.r_[0:11, 19:10:-1]  # [20] positions in LIP_POINTS, round the outer lips
INNER_LOOP = np.r_[20:31, 39:30:-1]  # [20] positions in LIP_POINTS, round the inner lips
SHAPE_WEIGHTS = np.r_[np.ones(20), 2 * np.ones(20)]  # outer lips, inner lips
STRETCH_COST = 2.0  # how much worse an opening too narrow (stretched) is than one as much too wide
ANCHOR_REACH = 0.15  # face units the anchors lie outside the outer lips (past the pasted region)
CAPACITY = 96  # entries kept
SAME_SHAPE = 1e-4  # face units: a shape this near one kept adds nothing
CHOSEN = 2  # entries blended at most
FIT_GOOD, FIT_POOR = 0.03, 0.08  # face units (RMS over the lips' points): full confidence, none
SOFTNESS = 0.006  # face units: entries this much further off than the best weigh e^-1/2 as much
EASE = 0.6  # of the way to a frame's new weights taken each frame
MIN_WEIGHT = 0.03  # eased weights below this are dropped
MASK_GROW = 0.04  # face units the pasted region reaches beyond the inner lips, over the lips
MASK_FEATHER = 0.025  # face units over which it fades out
COVER_DEPTH = 0.7  # of the way from the inner to the outer lips that a full cover reaches
GAIN_LIMITS = (0.7, 1.4)  # the most a crop's brightness is changed to match the frame's
OWN = -1  # the id of the frame being dubbed, a candidate when nothing is excluded


def _mesh_triangles() -> np.ndarray:
    """Triangles over the mesh's vertices: upper and lower lip, the opening, the ring outside."""
    up_out, up_in = np.arange(11), 20 + np.arange(11)
    low_out = np.r_[0, 11:20, 10]
    low_in = np.r_[20, 31:40, 30]
    faces = []
    for outer, inner in ((up_out, up_in), (low_out, low_in)):
        for i in range(10):
            faces += [(outer[i], outer[i + 1], inner[i]), (outer[i + 1], inner[i + 1], inner[i])]
    for i in range(10):  # the opening: the inner lips meet at both corners
        if i > 0:
            faces.append((up_in[i], up_in[i + 1], low_in[i]))
        if i < 9:
            faces.append((up_in[i + 1], low_in[i + 1], low_in[i]))
    ring = 40 + np.arange(20)
    for j in range(20):
        k = (j + 1) % 20
        faces += [(OUTER_LOOP[j], OUTER_LOOP[k], ring[j]), (OUTER_LOOP[k], ring[k], ring[j])]
    return np.array(faces, np.int32)


TRIANGLES = _mesh_triangles()


@dataclass(frozen=True)
class MouthEntry:
    """One frame's mouth: a crop of the frame and where its mesh's vertices lie in it."""

    frame: int  # the frame's index in the video
    crop: np.ndarray  # [h, w, 3] uint8
    vertices: np.ndarray  # [60, 2] pixels of the crop
    shape: np.ndarray  # [40, 2] face units, the lips centred in the rig's frame


@dataclass(frozen=True)
class MouthChoice:
    """The entries a new mouth is made of, their weights (summing to 1), and how well they fit (0-1)."""

    entries: tuple[MouthEntry, ...]
    weights: tuple[float, ...]
    confidence: float


class MouthBank:
    """The mouths of one video's face, kept as its frames go by.

    Parameters
    ----------
    anchor_normals : np.ndarray [shape=(20, 2)], per outer-lip point (``OUTER_LOOP``) the
        outward unit direction in the rig's frame
    unit : float, pixels per face unit in the rig's frame
    capacity : int, the most entries kept
    exclude : int, entries within this many frames of the frame dubbed are not used
    """

    def __init__(self, anchor_normals: np.ndarray, *, unit: float, capacity: int = CAPACITY, exclude: int = 0):
        self.unit = unit
        self.capacity = capacity
        self.exclude = exclude
        self.entries: list[MouthEntry] = []
        self._shapes = np.zeros((capacity, len(LIP_POINTS), 2))  # the entries' shapes, stacked
        self._reach = ANCHOR_REACH * unit * np.asarray(anchor_normals, np.float64)  # [20, 2] the rig's pixels
        self._nearest = np.zeros((0, 0))  # pairwise shape distances of the entries, inf on the diagonal
        self._weights: dict[int, float] = {}  # eased weights by entry frame
        self._confidence = 0.0
        self._warp: MeshWarp | None = None

    @classmethod
    def for_face(cls, rest: np.ndarray, *, unit: float, capacity: int = CAPACITY, exclude: int = 0) -> MouthBank:
        """A bank for the face whose landmarks at rest, in the rig's frame, are ``rest`` [478+, 2]."""
        outer = np.asarray(rest, np.float64)[LIP_POINTS[OUTER_LOOP], :2]
        centre = outer.mean(axis=0)
        # squash the lips' outline to a circle first, so the corners point sideways and the middle up and down
        half = np.ptp(outer, axis=0) / 2
        normals = (outer - centre) / half
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-9)
        return cls(normals, unit=unit, capacity=capacity, exclude=exclude)

    def vertices(self, lips: np.ndarray, linear: np.ndarray) -> np.ndarray:
        """The mesh's vertices [60, 2] for lips at ``lips`` [40, 2] (pixels of a frame whose
        map from the rig's frame has the linear part ``linear``)."""
        return np.concatenate([lips, lips[OUTER_LOOP] + self._reach @ np.asarray(linear).T])

    def shape_of(self, lips: np.ndarray, linear: np.ndarray) -> np.ndarray:
        """The shape [40, 2] of lips at ``lips`` [40, 2]: in the rig's frame, centred, face units."""
        canonical = np.asarray(lips, np.float64) @ np.linalg.inv(linear).T
        return (canonical - canonical.mean(axis=0)) / self.unit

    def entry(self, frame: np.ndarray, landmarks: np.ndarray, linear: np.ndarray, index: int) -> MouthEntry | None:
        """The mouth of ``frame`` (its landmarks [478, 2+], pixels) as an entry; None when the
        crop it needs leaves the frame."""
        lips = np.asarray(landmarks, np.float64)[LIP_POINTS, :2]
        vertices = self.vertices(lips, linear)
        height, width = frame.shape[:2]
        x0, y0 = np.floor(vertices.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(vertices.max(axis=0)).astype(int) + 3
        if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
            return None
        crop = frame[y0:y1, x0:x1].copy()
        return MouthEntry(index, crop, vertices - (x0, y0), self.shape_of(lips, linear))

    def add(self, entry: MouthEntry) -> None:
        """Keep ``entry`` if there is room, or if it covers a shape the bank covers least."""
        distances = _apart(entry.shape, self._shapes[: len(self.entries)])
        if len(distances) and distances.min() < SAME_SHAPE:
            return
        if len(self.entries) < self.capacity:
            self._shapes[len(self.entries)] = entry.shape
            self.entries.append(entry)
            grown = np.full((len(self.entries),) * 2, np.inf)
            grown[:-1, :-1] = self._nearest
            grown[-1, :-1] = grown[:-1, -1] = distances
            self._nearest = grown
            return
        if distances.min() > self._nearest.min():
            # Of the two entries nearest each other, the one whose other neighbours lie nearer goes.
            pair = [int(k) for k in np.unravel_index(int(np.argmin(self._nearest)), self._nearest.shape)]
            crowding = [np.partition(self._nearest[k], 1)[1] for k in pair]  # its second-nearest distance
            if crowding[0] == crowding[1]:
                out = min(pair, key=self._frame_of)  # the older
            else:
                out = pair[int(np.argmin(crowding))]
        else:
            # Else it takes the place of its nearest entry if it lies further from all the others
            # (a shape further out: the widest opening so far, say).
            out = int(np.argmin(distances))
            others = np.delete(distances, out)
            if np.delete(self._nearest[out], out).min() >= others.min():
                return
        if self.entries[out].frame in self._weights:
            return  # in use: it would vanish from the frames being blended at once
        self.entries[out] = entry
        self._shapes[out] = entry.shape
        distances[out] = np.inf
        self._nearest[out, :] = self._nearest[:, out] = distances

    def _frame_of(self, k: int) -> int:
        return self.entries[k].frame

    def choose(self, lips: np.ndarray, linear: np.ndarray, index: int, own: MouthEntry | None = None) -> MouthChoice:
        """The entries to make lips at ``lips`` [40, 2] (pixels of frame ``index``) of, eased
        from those of the frame before; ``own`` is that frame's own mouth, a candidate when
        nothing is excluded."""
        shape = self.shape_of(lips, linear)
        usable = [k for k, e in enumerate(self.entries) if abs(e.frame - index) > self.exclude]
        candidates = [self.entries[k] for k in usable]
        shapes = self._shapes[usable]
        if own is not None and self.exclude <= 0:
            candidates.append(MouthEntry(OWN, own.crop, own.vertices, own.shape))
            shapes = np.concatenate([shapes, own.shape[None]])
        goal: dict[int, float] = {}
        confidence = 0.0
        if candidates:
            distances = _distance(shape, shapes)
            order = np.argsort(distances, kind="stable")[:CHOSEN]
            best = float(distances[order[0]])
            near = np.exp(-0.5 * ((distances[order] - best) / SOFTNESS) ** 2)
            goal = {candidates[k].frame: float(w) for k, w in zip(order, near / near.sum())}
            # how far the lips' points lie, the opening's stretch aside: a real mouth stretched a
            # little wider looks more like one than a painted one
            fit = float(np.sqrt(_points_apart(shape, shapes[order[0]])))
            confidence = float(np.clip((FIT_POOR - fit) / (FIT_POOR - FIT_GOOD), 0.0, 1.0))
        available = {e.frame: e for e in candidates}
        eased = {
            key: weight + EASE * (goal.get(key, 0.0) - weight)
            for key, weight in {**dict.fromkeys(goal, 0.0), **self._weights}.items()
            if key in available
        }
        kept = sorted(((w, k) for k, w in eased.items() if w >= MIN_WEIGHT), reverse=True)[:CHOSEN]
        self._weights = {k: w for w, k in kept}
        self._confidence += EASE * (confidence - self._confidence) if kept else -self._confidence
        total = sum(w for w, _ in kept)
        return MouthChoice(tuple(available[k] for _, k in kept), tuple(w / total for w, _ in kept), self._confidence)

    def paste(
        self,
        out: np.ndarray,
        lips: np.ndarray,
        linear: np.ndarray,
        choice: MouthChoice,
        unit: float,
        *,
        cover: float = 0.0,
    ) -> None:
        """Lay the chosen mouths, warped onto lips at ``lips`` [40, 2], over ``out`` (changed in
        place) at the choice's confidence; ``unit`` is this frame's pixels per face unit.
        ``cover`` (0-1): how far over the lips themselves, not only their inner edges, the
        chosen mouths are laid (the caller's lips are not to be trusted there).

        As with a painted inside (:func:`.mouth.draw_mouth`), lips parted less than
        ``FULL_PAINT_GAP`` get the chosen mouths only in part, unless they cover: squeezed
        into a hairline, a mouth's dark and teeth made a hard-edged slit."""
        gap = float(np.hypot(*(lips[_LOWER_MIDDLE] - lips[_UPPER_MIDDLE])))
        confidence = choice.confidence * max(min(gap / (FULL_PAINT_GAP * unit), 1.0), cover)
        if not choice.entries or confidence <= 0.01:
            return
        target = self.vertices(lips, linear)
        height, width = out.shape[:2]
        reach = (MASK_GROW + 3 * MASK_FEATHER) * unit  # the mask ends within this of the outer lips
        x0, y0 = np.maximum(np.floor(lips.min(axis=0) - reach).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(lips.max(axis=0) + reach).astype(int) + 1, (width, height))
        if x1 - x0 < 4 or y1 - y0 < 4:
            return
        box = (int(x0), int(y0), int(x1), int(y1))
        made = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
        for entry, weight in zip(choice.entries, choice.weights):
            if self._warp is None:
                self._warp = MeshWarp(entry.crop, entry.vertices, TRIANGLES)
            else:
                self._warp.set_source(entry.crop, entry.vertices)
            map_x, map_y = self._warp.source_map(target, box)
            made += weight * cv2.remap(entry.crop, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        local = target - (x0, y0)
        inner, outer = local[INNER_LOOP], local[OUTER_LOOP]
        size = (int(y1 - y0), int(x1 - x0))
        opening = _polygon_mask(size, inner)
        grow = max(1, int(round(MASK_GROW * unit)))
        grown = cv2.dilate(opening, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
        ring = (_polygon_mask(size, outer) > 0) & (grown == 0)  # the lips around it
        region = out[y0:y1, x0:x1]
        if ring.sum() >= 8:  # one gain for all channels: per channel, matching red lips would tint the teeth
            gain = float(region[ring].mean()) / max(float(made[ring].mean()), 1.0)
            made *= np.float32(np.clip(gain, *GAIN_LIMITS))
        if cover > 0:  # the lips' inner part too: their outer edges, well tracked, stay the frame's
            grown = np.maximum(grown, _polygon_mask(size, inner + cover * COVER_DEPTH * (outer - inner)))
        mask = cv2.GaussianBlur(grown.astype(np.float32) / 255, (0, 0), max(MASK_FEATHER * unit, 0.7))
        alpha = (mask * confidence)[..., None]
        region[:] = np.clip(region + alpha * (made - region) + 0.5, 0, 255).astype(np.uint8)


def _distance(wanted: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """How far mouths of shapes ``seen`` [M, 40, 2] are from making one of shape ``wanted``
    [40, 2], [M]: the RMS distance of their points, the inner lips weighing more, and of their
    opening along the lips, an opening stretched wider (its inside smeared) weighing more than
    one narrowed."""
    return np.sqrt(_points_apart(wanted, seen) + _stretched(_opening(wanted) - _opening(seen)))


def _apart(shape: np.ndarray, others: np.ndarray) -> np.ndarray:
    """How far apart a lip shape [40, 2] and others [M, 40, 2] are, either way round, [M]."""
    points, stretch = _points_apart(shape, others), _opening(shape) - _opening(others)
    return 0.5 * (np.sqrt(points + _stretched(stretch)) + np.sqrt(points + _stretched(-stretch)))


def _points_apart(shape: np.ndarray, others: np.ndarray) -> np.ndarray:
    return (((shape - others) ** 2).sum(axis=-1) @ SHAPE_WEIGHTS) / SHAPE_WEIGHTS.sum()


def _stretched(stretch: np.ndarray) -> np.ndarray:
    """The mean square of openings' stretch [..., 9] (wanted less seen), stretching costing more."""
    return np.mean((stretch * np.where(stretch > 0, STRETCH_COST, 1.0)) ** 2, axis=-1)


def _opening(shape: np.ndarray) -> np.ndarray:
    """The gap [..., 9] between the inner lips of shapes [..., 40, 2] along the mouth, face units."""
    return np.maximum(shape[..., 31:40, 1] - shape[..., 21:30, 1], 0.0)


def _polygon_mask(shape: tuple[int, int], corners: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(corners * 16).astype(np.int32)], (255,), cv2.LINE_AA, 4)
    return mask
