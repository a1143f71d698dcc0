"""Give a face in a video frame a new mouth: the frame's own face, with an Animation's speech.

A :class:`MouthDubber` is built on the first frame that shows the face: a rig
(:func:`~mouthpiece.face.rig.build_rig`), the colours of its mouth's inside, and a
:class:`~mouthpiece.face.solve.MouthSolver`. Then, for each frame and its tracked landmarks:

1. the affine map from the rig's frame to this one, fitted on points speech leaves still,
   gives the face's place, size and turn;
2. the solver reads how the frame's own mouth and jaw are posed (the original speech), and
   how far the mouth stands shifted as a whole from the rig's (a nod the map on the nose
   and eyes does not follow), which is kept rather than taken for speech;
3. every rig point moves by the difference between the new speech's moves and those, carried
   through the map: the frame's mouth is taken back to rest and posed anew, while whatever
   else the face does (smiles, blinks, brows, the head's motion) stays the frame's own; the
   new lips part no wider than this person's own lips do in the video, the same share of
   the time (a quantile mapping, made up by the jaw; see OPENING_QUANTILES),
   and they keep this person's posture, as the video's first seconds show it (:mod:`.posture`);
4. the frame is warped by the rig's mesh, only where it moves, and the inside of the
   mouth is taken from the video's own frames whose mouth had the new shape (a
   :class:`~.mouth_bank.MouthBank`, filled as frames go by and from a first look ahead),
   painted only where none comes near it;
5. the change is blended into the frame through a feathered mask around the moved
   region, so that nothing outside it differs from the source and no edge shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..face import landmarks as lm
from ..face.landmarks import eye_distance, mouth_opening
from ..face.regions import FaceFrame
from ..face.rig import ANCHOR_RING, HEAD_RING, LOWER_TEETH, UPPER_TEETH, Poser, build_rig, rings
from ..face.solve import MouthSolver
from ..face.track import FaceTracker
from ..types import Animation, FaceRig
from .mouth import MouthPalette, draw_mouth
from .mouth_bank import LIP_POINTS, MouthBank
from .posture import LipPosture
from .warp import MeshWarp

# People open their mouths more or less as they speak (a news anchor a third as wide as an
# actor), and many rest with their lips closed: the lips' parting a dub would paint is
# mapped, quantile to quantile (OPENING_QUANTILES), onto the parting this person shows in
# the video's own frames, the jaw making up the difference. The plan's parting is taken over
# the frames dubbed so far (from OPENING_MIN_FRAMES frames on and again every OPENING_EVERY,
# then OPENING_EVERY_LATER); the person's over the whole video where a pass over it measured
# it (the style fit's track: MouthDubber.know_openings), else over the frames dubbed so far.
# (Dub sync, a German anchor dubbed with English, whose speech ends at frame 200 of 500:
# r 0.47 from the frames so far, 0.78 from the whole video's. Adding the first look's
# frames to those so far gave 0.57 there, but lowered the self-dub r by 0.008 on 22 clips.)
# The mapping only narrows: where the person opens wider than the new speech plans, a
# wider mouth would be mostly painted inside, which shows more than it gains (self-dub
# benchmark: SSIM and lip distance worse on the clip that opens widest). Where the person
# hardly opens at all (their 90th percentile past their narrowest under
# OPENING_MIN_SHARE of the plan's), the plan is scaled by OPENING_MIN_SHARE instead, so that
# a video of someone listening still shows the new speech.
OPENING_QUANTILES = np.linspace(0.0, 100.0, 21)
OPENING_MIN_FRAMES = 10
OPENING_EVERY, OPENING_EVERY_LATER, OPENING_LATER = 10, 100, 500  # frames; later: from OPENING_LATER frames on
OPENING_EASE = 0.3  # of the way to a new mapping taken each frame
OPENING_MIN_SHARE = 0.4
MIN_PLANNED_PARTING = 0.02  # face units from the 10th to the 90th percentile: less, the new speech has not said enough
# The rings around the face (at the top of the head, at the chin; see build_rig) sit close
# under the chin: a new jaw moves the skin just below it, not the neck and collar.
DUB_RINGS = ((1.25, 1.03), (1.70, 1.10))
# A dub's jaw drops the chin this share of the lower lip's drop: the lips carry the opening
# and the jaw line stays near where the video has it (moving it over the neck and collar
# is what shows most outside the mouth).
CHIN_SHARE = 0.4
RESIDUAL_FRAMES = 6  # frames over which the mouth's unexplained motion is averaged
FULL_SPEECH_MOVE = 0.1  # face units: points speech moves this far at weight 1 take the whole average
OWN_MOUTH_STRETCH = 0.5  # a new mouth this much wider than the video's is painted inside in full
COVER_FROM, COVER_FULL = 0.02, 0.06  # face units a new mouth is narrower than the video's: bank lips from, in full
MASK_MIN_MOVE = 0.3  # pixels a rig point must move to be inside the changed region
MASK_MARGIN = 0.06  # face units the mask reaches beyond the moved points
MASK_FEATHER = 0.04  # face units over which the mask fades out
MASK_SCALE = 4  # the mask is drawn at 1/MASK_SCALE of the frame's resolution


class MouthDubber:
    """Re-poses the mouth of one face, frame after frame.

    Parameters
    ----------
    frame : np.ndarray [shape=(H, W, 3), dtype=uint8], a frame that shows the face
    landmarks : np.ndarray [shape=(478, 3)], the face's landmarks in it, pixels
    channels : tuple of str, the channels of the values passed per frame (an Animation's)
    exclude : int, frames either side of the frame dubbed whose mouths the bank may not use
        (0 in a dub; benchmarks dubbing a video with its own speech set it)
    """

    def __init__(self, frame: np.ndarray, landmarks: np.ndarray, *, channels: tuple[str, ...], exclude: int = 0):
        self.rig = _soften_chin(build_rig(landmarks, head_ring=DUB_RINGS[0], anchor_ring=DUB_RINGS[1]))
        self.solver = MouthSolver(self.rig)
        self._poser = Poser(self.rig, channels)
        index = {name: i for i, name in enumerate(channels)}
        self._channels = channels
        self._speech = [index[c] for c in self.solver.channels if c in index]
        self._tongue = index.get("TongueOut")
        self.posture = LipPosture(self.solver.channels, channels)
        self._values = np.zeros(len(channels), np.float32)
        self._palette = MouthPalette.of(frame, self.rig.source, unit=self.rig.unit)
        self._warp = MeshWarp(frame, self.rig.source, self.rig.triangles)
        self._rest = self.rig.landmarks.astype(np.float64)
        self._upper_lip, self._lower_lip = list(lm.UPPER_LIP_INNER), list(lm.LOWER_LIP_INNER)
        self._middle = [13, 14]  # the inner lips' middle points, upper and lower
        self._seen: list[float] = []  # the video's own lip parting, frame by frame, face units
        self._whole: tuple[np.ndarray, float] | None = None  # _spread of its parting in every frame (know_openings)
        self._planned: list[float] = []  # the parting the dub would paint, before the mapping
        self._down = FaceFrame.of(self.rig.landmarks).axes[1]  # the face's down, in the rig's frame
        lips = [k for k, name in enumerate(self.solver.channels) if name != "JawOpen"]  # not the jaw line
        reach = np.linalg.norm(self.solver.basis[lips, : lm.LANDMARK_COUNT, :2], axis=2).max(axis=0) / self.rig.unit
        self._speech_reach = np.clip(reach / FULL_SPEECH_MOVE, 0.0, 1.0)  # 1 on the lips, 0 away from them
        self._residual: np.ndarray | None = None
        jaw = self.rig.channels.index("JawOpen") if "JawOpen" in self.rig.channels else None
        self._jaw = None if jaw is None else self.rig.basis[jaw, :, :2]  # [N, 2] the rig's pixels
        self._mapping: tuple[np.ndarray, np.ndarray] | None = None  # (planned, seen) quantiles, as eased
        self._mapping_goal: tuple[np.ndarray, np.ndarray] | None = None
        self.bank = MouthBank.for_face(self.rig.landmarks, unit=self.rig.unit, exclude=exclude)
        self._frames = 0  # frames dubbed so far
        self._looked = 0  # frames before this one were looked at ahead (remember): the bank has them

    def __call__(
        self, frame: np.ndarray, landmarks: np.ndarray, values: np.ndarray, *, index: int | None = None
    ) -> np.ndarray:
        """``frame`` with the face's mouth posed by ``values`` (one Animation row); a new array.

        Parameters
        ----------
        frame : np.ndarray [shape=(H, W, 3), dtype=uint8]
        landmarks : np.ndarray [shape=(478, 3)], the face's landmarks in ``frame``, pixels
        values : np.ndarray [shape=(C,)], the new speech's channel values for this frame
        index : int or None, the frame's index in the video; None: the count of calls so far
        """
        index = self._frames if index is None else index
        self._frames += 1
        pose = self.solver.pose_of(landmarks)
        linear, shift = pose[:, :2], pose[:, 2]
        own, nod = self.solver.with_shift(landmarks, pose)
        own_moves = np.tensordot(own, self.solver.basis, axes=1)  # [N, 3], the rig's pixels
        values = self.posture(values)
        speech = self._values
        speech[:] = 0.0
        speech[self._speech] = values[self._speech]
        new_moves = self._poser(speech) - self._rest
        change = (new_moves - own_moves)[:, :2] @ linear.T
        rest = (self._rest[:, :2] + own_moves[:, :2] + nod) @ linear.T + shift  # where the rig's points stand now
        change[: lm.LANDMARK_COUNT] += self._steady_residual(landmarks[:, :2] - rest[: lm.LANDMARK_COUNT])
        # the teeth keep to the lips they sit behind, as tracked rather than as modelled
        for teeth, lip in ((UPPER_TEETH, self._upper_lip), (LOWER_TEETH, self._lower_lip)):
            rest[teeth] += (landmarks[lip, :2] - rest[lip]).mean(axis=0)
        rest[: lm.LANDMARK_COUNT] = landmarks[:, :2]  # tracked points are seen, not modelled
        head, anchors = rings(landmarks, *DUB_RINGS)  # around the face as tracked, so strips never fold
        rest[HEAD_RING], rest[ANCHOR_RING] = head[:, :2], anchors[:, :2]
        points = rest + change
        self._follow_opening(landmarks, points, linear)

        self._warp.set_source(frame, rest)
        out = self._warp(points, frame.copy(), moved_only=True)
        unit = self.rig.unit * float(np.sqrt(abs(np.linalg.det(linear))))
        tongue = 0.0 if self._tongue is None else float(values[self._tongue])
        # Where the video's own mouth was open at least as wide, its teeth and tongue, moved
        # with the lips, are the best inside there is; past that they would stretch.
        upper, lower = self._middle
        own_gap, new_gap = (float(np.hypot(*(p[lower] - p[upper]))) for p in (rest, points))
        widening = new_gap / max(own_gap, 1e-6) - 1
        opacity = float(np.clip(widening / OWN_MOUTH_STRETCH, 0.0, 1.0))
        # The video's own mouths of that shape, where it has shown one; painted where not.
        own_mouth = self.bank.entry(frame, landmarks, linear, index)
        if own_mouth is not None and index >= self._looked:
            self.bank.add(own_mouth)
        lips = points[LIP_POINTS]
        choice = self.bank.choose(lips, linear, index, own_mouth)
        if choice.confidence < 0.99:
            draw_mouth(out, points, unit=unit, palette=self._palette, tongue_out=tongue, opacity=opacity)
        narrowing = (own_gap - new_gap) / unit  # face units
        cover = float(np.clip((narrowing - COVER_FROM) / (COVER_FULL - COVER_FROM), 0.0, 1.0))
        self.bank.paste(out, lips, linear, choice, unit, cover=cover)
        return _blend(frame, out, points, rest, unit)

    def remember(self, frame: np.ndarray, landmarks: np.ndarray, *, index: int) -> None:
        """Keep the mouth of the video's frame ``index`` (its ``landmarks``) in the bank, ahead of
        dubbing it: a first look over the video gives the first frames mouths of every shape,
        and the lips' posture the new speech takes on (:mod:`.posture`)."""
        pose = self.solver.pose_of(landmarks)
        entry = self.bank.entry(frame, landmarks, pose[:, :2], index)
        if entry is not None:
            self.bank.add(entry)
        self.posture.see(self.solver.with_shift(landmarks, pose)[0])
        self._looked = max(self._looked, index + 1)

    def know_openings(self, openings: np.ndarray) -> None:
        """The video's own lip parting (:func:`~mouthpiece.face.landmarks.mouth_opening`) in
        each of its frames (NaN where the face was not seen), from a pass over the whole video:
        the new lips are mapped onto how this person opens over the whole video from the first
        frame on, rather than over the frames seen so far."""
        known = np.asarray(openings, np.float64)
        known = known[np.isfinite(known)]
        self._whole = _spread(known) if len(known) >= OPENING_MIN_FRAMES else None

    def _steady_residual(self, residual: np.ndarray) -> np.ndarray:
        """Per landmark, the move that replaces the mouth's fast unexplained motion with its slow part.

        ``residual`` is what the rig does not explain of the tracked mouth (the landmarks'
        jitter, lip shapes the rig has no channel for, the original speech's traces), which
        would ride on the new mouth; there only its running average is kept (the person's
        own mouth shape).
        """
        if self._residual is None:
            self._residual = residual.copy()
        else:
            self._residual += (residual - self._residual) / RESIDUAL_FRAMES
        return self._speech_reach[:, None] * (self._residual - residual)

    def _follow_opening(self, landmarks: np.ndarray, points: np.ndarray, linear: np.ndarray) -> None:
        """Open the new mouth (``points``, changed in place) as this person opens theirs in the
        video: its lips' parting mapped through the quantiles of the partings planned so far
        onto those seen so far (never wider), the difference made up by the jaw."""
        eyes = max(eye_distance(landmarks), 1e-6)
        self._seen.append(mouth_opening(landmarks))
        if self._jaw is None:
            return
        down = linear @ self._down
        down /= max(float(np.hypot(*down)), 1e-9)
        upper, lower = self._middle
        planned = float((points[lower] - points[upper]) @ down) / eyes
        self._planned.append(planned)
        seen = len(self._seen)
        every = OPENING_EVERY if seen < OPENING_LATER else OPENING_EVERY_LATER
        if seen >= OPENING_MIN_FRAMES and seen % every == 0:
            ours = np.percentile(self._planned, OPENING_QUANTILES)
            if np.ptp(np.percentile(self._planned, (10, 90))) > MIN_PLANNED_PARTING:
                theirs, wide = self._whole if self._whole is not None else _spread(self._seen)
                rise = OPENING_MIN_SHARE * (ours - ours[0])  # the plan's opening past its narrowest, in part
                if wide - theirs[0] < np.percentile(rise, 90):  # they hardly open
                    theirs = theirs[0] + rise
                self._mapping_goal = ours, theirs
                if self._mapping is None:
                    self._mapping = ours.copy(), ours.copy()  # from no change at all, eased
        if self._mapping is None or self._mapping_goal is None:
            return
        for now, goal in zip(self._mapping, self._mapping_goal):
            now += OPENING_EASE * (goal - now)  # no visible step
        mapped = max(_mapped(planned, *self._mapping), float(self._mapping[1][0]))
        wanted = min(mapped, planned)  # narrower only
        jaw = self._jaw @ linear.T  # [N, 2] this frame's pixels
        per_weight = float((jaw[lower] - jaw[upper]) @ down) / eyes
        if per_weight > 1e-6:
            points += (wanted - planned) / per_weight * jaw


def _spread(openings: Sequence[float] | np.ndarray) -> tuple[np.ndarray, float]:
    """A person's lip partings as the mapping takes them: their OPENING_QUANTILES and their 90th percentile."""
    return np.percentile(openings, OPENING_QUANTILES), float(np.percentile(openings, 90))


def _mapped(x: float, xs: np.ndarray, ys: np.ndarray) -> float:
    """``x`` mapped piecewise linearly through points ``(xs, ys)`` (``xs`` rising), the end pieces
    carried on past the ends."""
    k = int(np.clip(np.searchsorted(xs, x) - 1, 0, len(xs) - 2))
    step = xs[k + 1] - xs[k]
    slope = (ys[k + 1] - ys[k]) / step if step > 1e-9 else 0.0
    return float(ys[k] + slope * (x - xs[k]))


def _soften_chin(rig: FaceRig) -> FaceRig:
    """``rig`` with JawOpen moving the chin ``CHIN_SHARE`` as far as the lower lip, and the skin
    between them in proportion (the rig is changed in place and returned)."""
    frame = FaceFrame.of(rig.source[: lm.LANDMARK_COUNT])
    height = frame.to_face(np.asarray(rig.source, np.float64))[:, 1]
    lip = float(height[list(lm.LOWER_LIP_OUTER)].max())
    chin = float(height[lm.CHIN])
    share = 1 - (1 - CHIN_SHARE) * np.clip((height - lip) / max(chin - lip, 1e-6), 0, 1)
    rig.basis[rig.channels.index("JawOpen")] *= share[:, None]
    return rig


def _blend(frame: np.ndarray, changed: np.ndarray, points: np.ndarray, rest: np.ndarray, unit: float) -> np.ndarray:
    """``changed`` inside a feathered mask around the points that moved, ``frame`` outside it.

    The mask is drawn and blurred at a quarter of the resolution (it is smooth), then
    scaled up over the box it covers.
    """
    moved = np.abs(points - rest).max(axis=1) > MASK_MIN_MOVE
    if not moved.any():
        return frame.copy()
    hull_points = np.concatenate([points[moved], rest[moved]])
    height, width = frame.shape[:2]
    feather = max(MASK_FEATHER * unit, 1.0)
    grow = MASK_MARGIN * unit + 2 * feather
    x0, y0 = np.maximum(np.floor(hull_points.min(axis=0) - grow).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(hull_points.max(axis=0) + grow).astype(int) + 1, (width, height))
    if x1 <= x0 or y1 <= y0:
        return frame.copy()
    scale = MASK_SCALE
    small = np.zeros((-(-(y1 - y0) // scale), -(-(x1 - x0) // scale)), np.float32)
    hull = cv2.convexHull(((hull_points - (x0, y0)) / scale).astype(np.float32))
    centre = hull.reshape(-1, 2).mean(axis=0)
    outward = hull.reshape(-1, 2) - centre
    grown = hull.reshape(-1, 2) + outward / np.maximum(np.linalg.norm(outward, axis=1, keepdims=True), 1e-6) * (
        MASK_MARGIN * unit / scale
    )
    cv2.fillConvexPoly(small, np.round(grown * 16).astype(np.int32), (1.0,), cv2.LINE_AA, 4)
    blurred = cv2.GaussianBlur(small, (0, 0), feather / scale)
    mask = cv2.resize(blurred, (small.shape[1] * scale, small.shape[0] * scale), interpolation=cv2.INTER_LINEAR)
    mask = mask[: y1 - y0, : x1 - x0, None]
    out = frame.copy()
    box = (slice(y0, y1), slice(x0, x1))
    part = frame[box].astype(np.float32)
    out[box] = (part + mask * (changed[box] - part) + 0.5).astype(np.uint8)
    return out


@dataclass
class DubCount:
    """What a dub did, frame by frame: filled in as its frames are taken."""

    frames: int = 0  # frames given
    faceless: int = 0  # of which passed through untouched: the face was not seen


def dub_frames(
    frames: Iterable[np.ndarray],
    parts: Iterable[tuple[int, Animation]],
    tracker: FaceTracker,
    count: DubCount,
    *,
    channels: tuple[str, ...],
    exclude: int = 0,
    ahead: Iterable[tuple[int, np.ndarray, np.ndarray]] = (),
    openings: np.ndarray | None = None,
) -> Iterator[np.ndarray]:
    """Each of ``frames`` with the tracked face's mouth speaking the new speech, frame ``k``
    its frame ``k`` (past its end, the mouth at rest); frames where the face is not seen pass
    through as they are. ``parts`` are ``(first frame, Animation)`` pieces of the speech in
    order, with ``channels``, taken as they are needed; ``count`` is kept up to date; ``exclude``
    is :class:`MouthDubber`'s. ``ahead`` gives ``(index, frame, landmarks)`` of frames of the
    video looked at before dubbing starts, whose mouths the dub may use from its first frame on;
    ``openings`` the video's own lip parting in every frame, where a pass over it measured
    them (:meth:`MouthDubber.know_openings`)."""
    dubber: MouthDubber | None = None

    def start(frame: np.ndarray, landmarks: np.ndarray) -> MouthDubber:
        made = MouthDubber(frame, landmarks, channels=channels, exclude=exclude)
        if openings is not None:
            made.know_openings(openings)
        return made

    for index, seen, seen_landmarks in ahead:
        if dubber is None:
            dubber = start(seen, seen_landmarks)
        dubber.remember(seen, seen_landmarks, index=index)
    rows = _rows(parts)
    rest = np.zeros(len(channels), np.float32)
    for frame in frames:
        values = next(rows, rest)
        landmarks = tracker(frame)
        count.frames += 1
        if landmarks is None:
            count.faceless += 1
            yield frame
            continue
        if dubber is None:
            dubber = start(frame, landmarks)
        yield dubber(frame, landmarks, values, index=count.frames - 1)


def _rows(parts: Iterable[tuple[int, Animation]]) -> Iterator[np.ndarray]:
    for _, part in parts:
        yield from part.values
