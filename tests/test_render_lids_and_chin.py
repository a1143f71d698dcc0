"""Closing lids and a dropping chin on a close-up of the astronaut that the tests dress up
first: mascara'd lashes above the lids, a necklace of green beads under the chin."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_render_portrait import ASTRONAUT, values

from mouthpiece.face import landmarks as lm
from mouthpiece.face.detect import find_face
from mouthpiece.render.image import load_image
from mouthpiece.render.portrait import PortraitRenderer
from mouthpiece.vocabulary import CHANNELS


def luma(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float64) @ [0.299, 0.587, 0.114]


LASHES = (35, 22, 18)  # RGB of the lashes painted on
BEADS = (30, 230, 40)  # a green no face has
EYE_WHITE = (225, 235, 255)  # a bluish white no skin has


def eye_opening(points: np.ndarray, shape: tuple[int, ...], upper, lower) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    contour = points[list(upper + lower[-2:0:-1]), :2]
    cv2.fillPoly(mask, [np.round(contour).astype(np.int32)], (1,))
    return mask.astype(bool)


def dressed() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The close-up, the same with lashes and a necklace painted on, and its landmarks."""
    photo = load_image(ASTRONAUT)[40:230, 135:315]
    photo = np.ascontiguousarray(cv2.resize(photo, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC))
    points = find_face(photo, source="close-up")
    unit = float(np.hypot(*(points[33, :2] - points[263, :2]))) / 1.4  # about a face unit
    dressed = photo.copy()
    for upper, lower, iris in ((lm.RIGHT_UPPER_LID, lm.RIGHT_LOWER_LID, lm.RIGHT_IRIS),
                               (lm.LEFT_UPPER_LID, lm.LEFT_LOWER_LID, lm.LEFT_IRIS)):  # fmt: skip
        white = eye_opening(points, photo.shape, upper, lower)
        ring = points[list(iris[1:]), :2]
        radius = np.hypot(*(ring - points[iris[0], :2]).T).mean()
        ys, xs = np.mgrid[0 : photo.shape[0], 0 : photo.shape[1]]
        white &= np.hypot(xs - points[iris[0], 0], ys - points[iris[0], 1]) > radius
        dressed[white] = EYE_WHITE
    for lid in (lm.RIGHT_UPPER_LID, lm.LEFT_UPPER_LID):
        edge = points[list(lid), :2]
        for x in np.linspace(edge[:, 0].min() + 3, edge[:, 0].max() - 3, 14):
            y = np.interp(x, *edge[np.argsort(edge[:, 0])].T)
            top = (int(x + 0.02 * unit), int(y - 0.07 * unit))
            cv2.line(dressed, (int(x), int(y)), top, LASHES, max(1, int(0.012 * unit)), cv2.LINE_AA)
    chin = points[lm.CHIN, :2]
    for below in (0.2, 0.5):  # face units under the chin: one string right under it, one lower
        for k in range(-3, 4):
            centre = (int(chin[0] + k * 0.09 * unit), int(chin[1] + (below + abs(k) ** 2 * 0.01) * unit))
            cv2.circle(dressed, centre, max(2, int(0.035 * unit)), BEADS, -1, cv2.LINE_AA)
    return photo, dressed, points


@pytest.fixture(scope="module")
def renderer() -> PortraitRenderer:
    _, photo, points = dressed()
    return PortraitRenderer(photo, points, channels=CHANNELS)


@pytest.mark.parametrize("lids", [(lm.RIGHT_UPPER_LID, lm.RIGHT_LOWER_LID), (lm.LEFT_UPPER_LID, lm.LEFT_LOWER_LID)])
def test_a_closed_lid_shows_its_skin_not_the_lashes_dragged_over_the_eye(renderer, lids):
    upper, lower = lids
    shut = values(EyeBlinkLeft=1.0, EyeBlinkRight=1.0)
    frame = renderer.render(shut).astype(int)
    points, rest, unit = renderer.pose(shut), renderer.rig.landmarks, renderer.rig.unit
    # Where the eye was, and the lash band above it, down to just above the closed lid's edge.
    region = eye_opening(rest, frame.shape, upper, lower)
    band = np.zeros(frame.shape[:2], np.uint8)
    raised = rest[list(upper), :2] - (0, 0.08 * unit)
    edge = points[list(upper), :2] - (0, 0.05 * unit)
    cv2.fillPoly(band, [np.round(np.concatenate([raised, edge[::-1]])).astype(np.int32)], (1,))
    region = (region | band.astype(bool)) & (np.arange(frame.shape[0])[:, None] < edge[:, 1].min())
    assert region.sum() > 50
    skin = np.median(luma(renderer.image[band.astype(bool)]))
    dark = luma(frame[region]) < skin - 35
    assert dark.mean() < 0.01  # no streaks of lash over the lid


def test_a_closed_eye_shows_no_sliver_of_eye_white(renderer):
    frame = renderer.render(values(EyeBlinkLeft=1.0, EyeBlinkRight=1.0)).astype(int)
    for upper, lower in ((lm.RIGHT_UPPER_LID, lm.RIGHT_LOWER_LID), (lm.LEFT_UPPER_LID, lm.LEFT_LOWER_LID)):
        eye = eye_opening(renderer.rig.landmarks, frame.shape, upper, lower)
        eye = cv2.dilate(eye.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        assert (frame[eye][:, 2] > frame[eye][:, 0] + 5).sum() <= 2  # no bluish eye white


def test_a_dropping_chin_does_not_pull_the_necklace_onto_it(renderer):
    open_jaw = values(JawOpen=1.0)
    frame = renderer.render(open_jaw).astype(int)
    points = renderer.pose(open_jaw)
    face = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(face, [np.round(points[list(lm.FACE_OVAL), :2]).astype(np.int32)], (1,))
    face = cv2.erode(face, np.ones((5, 5), np.uint8)).astype(bool)
    beads = np.abs(frame - BEADS).sum(axis=2) < 120
    assert beads.sum() > 50  # the necklace is still there, below the chin
    assert beads[face].sum() == 0


def test_the_chin_meets_the_neck_without_a_seam():
    photo, _, points = dressed()
    renderer = PortraitRenderer(photo, points, channels=CHANNELS)
    open_jaw = values(JawOpen=1.0)
    frame = luma(renderer.render(open_jaw))
    points, unit = renderer.pose(open_jaw), renderer.rig.unit
    chin = points[lm.CHIN, :2]
    top, bottom = int(chin[1] - 0.15 * unit), int(chin[1] + 0.3 * unit)
    edge = []
    for x in range(int(chin[0] - 0.25 * unit), int(chin[0] + 0.25 * unit)):
        column = frame[top:bottom, x]
        # where the column first falls below halfway from the chin's skin to the dark sweater
        half = (column[:5].mean() + column[-5:].mean()) / 2
        k = int(np.argmax(column < half))
        edge.append(top + k - 1 + (column[k - 1] - half) / (column[k - 1] - column[k]))
        # no seam of stray pixels: none brighter (or darker) than both its neighbours
        up, down = column[1:-1] - column[:-2], column[1:-1] - column[2:]
        assert np.minimum(up, down).max() < 25 and np.maximum(up, down).min() > -25
    assert np.percentile(np.abs(np.diff(edge, 2)), 90) < 0.2  # a smooth outline, no stair steps
