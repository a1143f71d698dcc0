"""The dub's bank of the video's own mouths: a mouth shape the video has shown is reused, on
frames the tests make (the bundled astronaut, her mouth opened by her rig and its inside
coloured so that it can be told from a painted one)."""

from __future__ import annotations

from importlib import resources

import cv2
import numpy as np
import pytest

from mouthpiece.face import landmarks as lm
from mouthpiece.face.detect import find_face
from mouthpiece.render import dub as dub_module
from mouthpiece.render.dub import MouthDubber
from mouthpiece.render.image import load_image
from mouthpiece.render.mouth_bank import LIP_POINTS, MouthBank, MouthEntry
from mouthpiece.render.warp import MeshWarp
from mouthpiece.vocabulary import CHANNELS

ASTRONAUT = resources.files("mouthpiece") / "data" / "astronaut.png"
INSIDE = np.array([40.0, 170.0, 70.0])  # RGB: the inside of the open mouth the video shows, green
JAW = 1.0


@pytest.fixture(scope="module")
def face() -> tuple[np.ndarray, np.ndarray]:
    """A frame of the astronaut's face (400 x 400) and its landmarks."""
    frame = np.ascontiguousarray(load_image(ASTRONAUT)[40:440, 40:440])
    return frame, find_face(frame, source="face")


def speech(jaw: float) -> np.ndarray:
    row = np.zeros(len(CHANNELS), np.float32)
    row[CHANNELS.index("JawOpen")] = jaw
    return row


def opening(points: np.ndarray) -> np.ndarray:
    return points[list(lm.UPPER_LIP_INNER + lm.LOWER_LIP_INNER[-2:0:-1]), :2]


def posed_by_the_dub(face, jaw: float) -> tuple[np.ndarray, np.ndarray]:
    """The face with its mouth as a dub poses it at JawOpen ``jaw`` (warped only, nothing painted),
    and its landmarks there."""
    frame, marks = face
    dubber = MouthDubber(frame, marks, channels=CHANNELS)
    posed = []
    with pytest.MonkeyPatch.context() as patch:
        blend = dub_module._blend
        patch.setattr(dub_module, "_blend", lambda f, o, points, *a: posed.append(points) or blend(f, o, points, *a))
        dubber(frame, marks, speech(jaw))
    rig = dubber.rig
    moved = MeshWarp(frame, rig.source, rig.triangles)(posed[0])
    return moved, np.column_stack([posed[0][: lm.LANDMARK_COUNT], marks[:, 2]]).astype(np.float32)


@pytest.fixture(scope="module")
def open_frame(face) -> tuple[np.ndarray, np.ndarray]:
    """The same face with its mouth as a dub opens it at JawOpen JAW, the inside of the mouth
    green, and its landmarks."""
    opened, marks = posed_by_the_dub(face, JAW)
    cv2.fillPoly(opened, [np.round(opening(marks)).astype(np.int32)], tuple(int(v) for v in INSIDE))
    return opened, marks


def inside_mask(points: np.ndarray, shape: tuple[int, ...], shrink: int = 2) -> np.ndarray:
    """The pixels well inside the opening between the lips at ``points``."""
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(opening(points)).astype(np.int32)], (1,))
    return cv2.erode(mask, np.ones((2 * shrink + 1,) * 2, np.uint8)).astype(bool)


def dub(face, values: np.ndarray, *, remember=(), frames: int = 12, exclude: int = 0, start: int = 100):
    """The face's own (closed-mouth) frame dubbed ``frames`` times with ``values``, the bank given
    ``remember`` as (index, frame, landmarks) first; the outputs."""
    frame, marks = face
    dubber = MouthDubber(frame, marks, channels=CHANNELS, exclude=exclude)
    for index, seen, seen_marks in remember:
        dubber.remember(seen, seen_marks, index=index)
    return [dubber(frame, marks, values, index=start + k) for k in range(frames)]


def greenness(image: np.ndarray, mask: np.ndarray) -> float:
    """How near the pixels of ``mask`` are to INSIDE, on average: 1 there, 0 at 150 grey levels off."""
    distance = np.linalg.norm(image[mask].astype(float) - INSIDE, axis=1).mean()
    return float(1 - min(distance / 150, 1))


def test_a_mouth_shape_the_video_showed_is_reused_not_painted(face, open_frame):
    opened, open_marks = open_frame
    mask = inside_mask(open_marks, opened.shape)
    assert mask.sum() > 100
    painted = dub(face, speech(JAW))[-1]
    reused = dub(face, speech(JAW), remember=[(0, opened, open_marks)])[-1]
    assert greenness(reused, mask) > 0.8 > 0.5 > greenness(painted, mask), (
        greenness(reused, mask),
        greenness(painted, mask),
    )


def test_the_bank_keeps_away_from_the_frames_near_the_one_dubbed(face, open_frame):
    opened, open_marks = open_frame
    mask = inside_mask(open_marks, opened.shape)
    near = dub(face, speech(JAW), remember=[(0, opened, open_marks)], exclude=10, start=5, frames=6)
    far = dub(face, speech(JAW), remember=[(0, opened, open_marks)], exclude=10, start=50)
    assert greenness(near[-1], mask) < 0.5 < 0.8 < greenness(far[-1], mask)


def test_the_chosen_mouth_fades_in_over_frames_and_nothing_pops(face, open_frame):
    opened, open_marks = open_frame
    mask = inside_mask(open_marks, opened.shape)
    outputs = dub(face, speech(JAW), remember=[(0, opened, open_marks)], frames=10)
    green = [greenness(o, mask) for o in outputs]
    assert all(b >= a - 0.01 for a, b in zip(green, green[1:])), green  # rising steadily
    assert max(np.diff(green)) < 0.35, green  # over several frames, not at once
    steps = [np.abs(b.astype(float) - a)[mask].mean() for a, b in zip(outputs, outputs[1:])]
    assert steps[-1] < 0.2 * max(steps), steps  # and then still


def test_a_mouth_at_rest_stays_still_and_closed(face, open_frame):
    opened, open_marks = open_frame
    frame, marks = face
    outputs = dub(face, speech(0.0), remember=[(0, opened, open_marks), (1, frame, marks)], frames=12)
    steps = [np.abs(after.astype(int) - before).max() for before, after in zip(outputs, outputs[1:])]
    assert max(steps[-4:]) <= 1, steps  # grey levels: once the choice has settled, nothing moves
    lips = marks[LIP_POINTS, :2]
    (x0, y0), (x1, y1) = np.floor(lips.min(axis=0)).astype(int), np.ceil(lips.max(axis=0)).astype(int)
    alone = dub(face, speech(0.0), frames=1)[0]  # the lips closed by the rig, with no mouths to draw on
    change = np.abs(outputs[-1][y0:y1, x0:x1].astype(float) - alone[y0:y1, x0:x1]).mean()
    assert change < 3.0, change  # grey levels
    assert greenness(outputs[-1], inside_mask(open_marks, opened.shape)) < 0.5


def test_a_dub_with_the_bank_is_deterministic(face, open_frame):
    opened, open_marks = open_frame
    rows = [speech(j) for j in (0.0, 0.2, 0.5, 0.3, 0.0, 0.5)]

    def run() -> list[np.ndarray]:
        frame, marks = face
        dubber = MouthDubber(frame, marks, channels=CHANNELS)
        dubber.remember(opened, open_marks, index=0)
        return [dubber(frame if k % 2 else opened, marks if k % 2 else open_marks, row) for k, row in enumerate(rows)]

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


def shape_entry(frame: int, gap: float) -> MouthEntry:
    """An entry whose only feature is its opening ``gap`` (face units)."""
    shape = np.zeros((40, 2))
    shape[:, 0] = np.linspace(-0.4, 0.4, 40)
    shape[31:40, 1] = gap  # the lower inner lip below the upper
    return MouthEntry(frame, np.zeros((4, 4, 3), np.uint8), np.zeros((60, 2)), shape)


def test_the_bank_stays_bounded_and_covers_the_shapes_seen():
    bank = MouthBank(np.zeros((20, 2)), unit=60.0, capacity=8)
    speaking = np.random.default_rng(0).permutation(np.tile(np.linspace(0.0, 0.3, 31), 2))
    gaps = np.r_[np.zeros(50), speaking, np.zeros(50)]  # closed, then open as wide as 0.3 in turn, closed
    for k, gap in enumerate(gaps):
        bank.add(shape_entry(k, float(gap)))
    assert len(bank.entries) == 8
    kept = sorted(float(e.shape[35, 1]) for e in bank.entries)
    assert kept[0] == 0.0 and kept[-1] == pytest.approx(0.3)  # both ends of what was seen
    assert max(np.diff(kept)) < 0.1  # and what lies between
    choice = bank.choose(shape_entry(0, 0.0).shape * 60.0, np.eye(2), index=200)  # a closed mouth, in pixels
    assert choice.entries and all(e.shape[35, 1] < 0.05 for e in choice.entries)


def test_closing_a_wide_mouth_takes_the_lips_themselves_from_the_bank(face, open_frame, monkeypatch):
    """A tracker reading a wide-open mouth often puts the inner lips on the teeth, so what the
    video calls lip holds part of the inside, which a mouth closed by the warp alone would show
    on its lips. Closing a mouth, the dub lays the bank's closed lips (here painted green) over
    the lips' inner part too, not only over their inner edges."""
    opened, open_marks = open_frame
    closed, closed_marks = posed_by_the_dub(face, 0.0)  # the astronaut's parted lips closed
    outer = closed_marks[list(lm.UPPER_LIP_OUTER) + list(lm.LOWER_LIP_OUTER)[::-1], :2]
    lips = np.zeros(closed.shape[:2], np.uint8)
    cv2.fillPoly(lips, [np.round(outer).astype(np.int32)], (1,))
    green = closed.copy()
    green[lips > 0] = INSIDE
    frame, marks = face
    # the lips' middle band, half way between their inner and outer edges
    inner = closed_marks[list(lm.UPPER_LIP_INNER) + list(lm.LOWER_LIP_INNER)[::-1], :2]
    band = cv2.erode(lips, np.ones((3, 3), np.uint8)).astype(bool)
    band &= ~cv2.dilate(_filled(inner, lips.shape), np.ones((5, 5), np.uint8)).astype(bool)

    def green_on_the_lips() -> float:
        dubber = MouthDubber(frame, marks, channels=CHANNELS)
        dubber.remember(green, closed_marks, index=0)
        out = [dubber(opened, open_marks, speech(0.0), index=100 + k) for k in range(10)][-1]
        return greenness(out, band)

    covered = green_on_the_lips()
    monkeypatch.setattr(dub_module, "COVER_FROM", 10.0)  # never cover
    monkeypatch.setattr(dub_module, "COVER_FULL", 11.0)
    uncovered = green_on_the_lips()
    assert band.sum() > 30, (band.sum(), lips.sum())
    assert covered > 0.25 > 0.05 > uncovered, (covered, uncovered)  # thin lips: the feather takes some


def _filled(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], (1,))
    return mask


def test_a_hairline_parting_keeps_its_own_lips_rather_than_a_squeezed_mouth(face, open_frame, monkeypatch):
    """Lips barely apart get the bank's mouth only in part (as a painted inside is), unless
    they close over a wider mouth (cover): squeezed into a hairline a mouth makes a hard slit."""
    from dataclasses import replace

    from mouthpiece.render import mouth_bank
    from mouthpiece.render.mouth_bank import INNER_LOOP, LIP_POINTS, MouthBank

    frame, marks = face
    opened, open_marks = open_frame
    rig_unit = MouthDubber(frame, marks, channels=CHANNELS).rig.unit
    bank = MouthBank.for_face(marks, unit=rig_unit)
    linear = np.eye(2)
    bank.add(bank.entry(opened, open_marks, linear, 0))
    upper, lower = INNER_LOOP[:11], np.r_[INNER_LOOP[:1], INNER_LOOP[-1:10:-1], INNER_LOOP[10:11]]

    def pasted(gap: float, cover: float = 0.0) -> float:
        lips = open_marks[LIP_POINTS, :2].astype(np.float64)
        lips[lower] = lips[upper] + (0.0, gap)  # the lower inner lip right under the upper, gap below
        choice = replace(bank.choose(lips, linear, 50), confidence=1.0)
        out = frame.copy()
        bank.paste(out, lips, linear, choice, rig_unit, cover=cover)
        return float(np.abs(out.astype(float) - frame).sum())

    hairline, covering = pasted(0.002 * rig_unit), pasted(0.002 * rig_unit, cover=1.0)
    monkeypatch.setattr(mouth_bank, "FULL_PAINT_GAP", 1e-6)  # any parting gets the whole mouth
    assert 0 < hairline < 0.2 * pasted(0.002 * rig_unit), hairline
    assert covering == pasted(0.002 * rig_unit, cover=1.0)  # closing over a wider mouth: laid on in full
