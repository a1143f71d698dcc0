"""Teeth the face mesh took for lips (:mod:`mouthpiece.face.teeth`), on mouths the test draws:
a band of teeth between the inner-lip points and the lower lip is found and the points moved
past it; a lip's own highlight is not taken for teeth; a grey photo's teeth are found too."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mouthpiece.face import landmarks as lm
from mouthpiece.face.teeth import lips_past_the_teeth

SKIN, LIP, TEETH, HIGHLIGHT = (200, 160, 140), (170, 60, 70), (235, 230, 220), (225, 125, 135)
LEFT, RIGHT, MEETING, UPPER_EDGE, LOWER_EDGE, TEETH_EDGE = 50, 150, 100.0, 80.0, 130.0, 112.0


def lip_line(ids: tuple[int, ...], y: float | np.ndarray) -> dict[int, tuple[float, float]]:
    xs = np.linspace(LEFT, RIGHT, len(ids))
    ys = np.broadcast_to(y, xs.shape)
    return {i: (float(x), float(v)) for i, x, v in zip(ids, xs, ys)}


def mouth(band: tuple[int, int, int] | None, *, grey: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A drawn mouth whose inner-lip points all lie on the line where the lips meet, with
    ``band`` drawn on the lower lip from that line down to TEETH_EDGE (None: none)."""
    image = np.zeros((200, 200, 3), np.uint8)
    image[:] = SKIN
    image[int(UPPER_EDGE) : int(LOWER_EDGE), LEFT:RIGHT] = LIP
    if band is not None:
        image[int(MEETING) : int(TEETH_EDGE), LEFT + 8 : RIGHT - 8] = band
    if grey:
        image = np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    marks = np.zeros((lm.LANDMARK_COUNT, 3), np.float32)
    for ids, y in ((lm.UPPER_LIP_INNER, MEETING), (lm.LOWER_LIP_INNER, MEETING),
                   (lm.UPPER_LIP_OUTER, UPPER_EDGE), (lm.LOWER_LIP_OUTER, LOWER_EDGE)):  # fmt: skip
        for i, point in lip_line(ids, y).items():
            marks[i, :2] = point
    return image, marks


@pytest.mark.parametrize("grey", [False, True])
def test_a_band_of_teeth_below_the_inner_lip_moves_it_to_the_teeths_edge(grey):
    image, marks = mouth(TEETH, grey=grey)
    moved = lips_past_the_teeth(image, marks)
    middle = list(lm.LOWER_LIP_INNER)[3:-3]
    np.testing.assert_allclose(moved[middle, 1], TEETH_EDGE, atol=2.5)  # past the teeth, onto the lip
    assert np.all(moved[[lm.LOWER_LIP_INNER[0], lm.LOWER_LIP_INNER[-1]], 1] == MEETING)  # the corners stay
    np.testing.assert_array_equal(moved[list(lm.UPPER_LIP_INNER)], marks[list(lm.UPPER_LIP_INNER)])
    untouched = np.setdiff1d(np.arange(lm.LANDMARK_COUNT), list(lm.LOWER_LIP_INNER))
    np.testing.assert_array_equal(moved[untouched], marks[untouched])


@pytest.mark.parametrize("band", [None, HIGHLIGHT])
def test_lips_without_teeth_are_left_as_they_are(band):
    image, marks = mouth(band)
    np.testing.assert_array_equal(lips_past_the_teeth(image, marks), marks)
