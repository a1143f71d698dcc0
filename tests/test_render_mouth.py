"""The painted inside of a portrait's mouth: teeth, tongue, cavity, colours from the photo.

Rendered on a close-up of the bundled astronaut (cropped and enlarged, like a 1080p
close-up of a face) and on versions of it the tests make (grey, lit from one side)."""

from __future__ import annotations

from importlib import resources

import cv2
import numpy as np
import pytest

from mouthpiece.face import landmarks as lm
from mouthpiece.face.detect import find_face
from mouthpiece.render.image import load_image
from mouthpiece.render.mouth import MouthPalette
from mouthpiece.render.portrait import PortraitRenderer
from mouthpiece.vocabulary import CHANNELS

ASTRONAUT = resources.files("mouthpiece") / "data" / "astronaut.png"
WIDE = {"JawOpen": 0.62, "MouthLowerDownLeft": 0.3, "MouthLowerDownRight": 0.3, "MouthUpperUpLeft": 0.1,
        "MouthUpperUpRight": 0.1}  # fmt: skip  # the "aa" pose


def values(**weights: float) -> np.ndarray:
    row = np.zeros(len(CHANNELS), np.float32)
    for name, weight in weights.items():
        row[CHANNELS.index(name)] = weight
    return row


def close_up(image: np.ndarray | None = None) -> PortraitRenderer:
    """A renderer of the astronaut's face cropped and enlarged 3 times (a face ~270 px tall)."""
    photo = load_image(ASTRONAUT)[40:200, 145:305] if image is None else image
    photo = np.ascontiguousarray(cv2.resize(photo, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC))
    return PortraitRenderer(photo, find_face(photo, source="close-up"), channels=CHANNELS)


@pytest.fixture(scope="module")
def renderer() -> PortraitRenderer:
    return close_up()


def luma(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float64) @ [0.299, 0.587, 0.114]


def middle_column(renderer: PortraitRenderer, pose: np.ndarray, *, off_middle: float = 0.06) -> np.ndarray:
    """Luma from the upper inner lip's middle down to the lower one's, a little off the middle
    (where the two front teeth meet)."""
    points = renderer.pose(pose)
    top, bottom = points[13, :2], points[14, :2]
    x = int(round((top[0] + bottom[0]) / 2 + off_middle * renderer.rig.unit))
    return luma(renderer.render(pose))[int(np.ceil(top[1])) + 1 : int(bottom[1]), x]


def opening_pixels(renderer: PortraitRenderer, pose: np.ndarray, shape: tuple[int, ...]):
    """Rows, columns and share of the way from the left corner to the right of the pixels
    well inside the mouth's opening."""
    points = renderer.pose(pose)
    left, right = points[lm.UPPER_LIP_INNER[0], :2], points[lm.UPPER_LIP_INNER[-1], :2]
    opening = np.zeros(shape[:2], np.uint8)
    contour = points[list(lm.UPPER_LIP_INNER + lm.LOWER_LIP_INNER[-2:0:-1]), :2]
    cv2.fillPoly(opening, [np.round(contour).astype(np.int32)], (1,))
    ys, xs = np.nonzero(cv2.erode(opening, np.ones((3, 3), np.uint8)))
    return ys, xs, (xs - left[0]) / (right[0] - left[0])


def test_a_wide_open_mouth_shows_upper_teeth_cavity_and_lower_teeth(renderer):
    column = middle_column(renderer, values(**WIDE))
    third = len(column) // 3
    assert len(column) > 0.2 * renderer.rig.unit
    upper, middle, lower = column[:third].max(), column[third : 2 * third].min(), column[2 * third :].max()
    assert upper > middle + 60  # the upper teeth above a dark cavity
    assert lower > middle + 40  # and the lower teeth below it
    assert np.argmax(column[2 * third :]) > 0  # the lower teeth are not just the lip's edge
    pose = values(**WIDE)
    points = renderer.pose(pose)
    x = int(round((points[13, 0] + points[14, 0]) / 2 + 0.06 * renderer.rig.unit))
    rgb = renderer.render(pose)[int(np.ceil(points[13, 1])) + 1 : int(points[14, 1]), x].astype(int)
    lower_teeth = rgb[2 * third + int(np.argmax(column[2 * third :]))]
    assert lower_teeth[0] - lower_teeth[2] < 30  # white teeth, not the red of the tongue or the lip


def test_the_teeth_fade_into_the_dark_towards_the_corners(renderer):
    pose = values(JawOpen=0.36, MouthStretchLeft=0.3, MouthStretchRight=0.3, MouthSmileLeft=0.2,
                  MouthSmileRight=0.2, MouthLowerDownLeft=0.2, MouthLowerDownRight=0.2)  # fmt: skip
    frame = luma(renderer.render(pose))
    ys, xs, share = opening_pixels(renderer, pose, frame.shape)
    inside = frame[ys, xs]
    middle = np.percentile(inside[np.abs(share - 0.5) < 0.1], 90)
    corners = np.percentile(inside[np.abs(share - 0.5) > 0.38], 90)
    assert middle > 150
    assert corners < middle - 60  # no white bar from corner to corner


def test_the_tongue_rises_towards_the_upper_teeth_for_th(renderer):
    open_mouth = {"JawOpen": 0.4, "MouthLowerDownLeft": 0.2, "MouthLowerDownRight": 0.2}
    low, raised = (renderer.render(values(**open_mouth, TongueOut=t)) for t in (0.0, 0.35))
    points = renderer.pose(values(**open_mouth))
    change = np.abs(raised.astype(float) - low).sum(axis=2)
    ys, xs = np.nonzero(change > 30)
    assert len(ys) > 0.002 * renderer.rig.unit**2  # a visible tongue tip
    assert ys.mean() < points[14, 1] - 0.08 * renderer.rig.unit  # well above the lower lip
    tip = raised[ys, xs].astype(float)
    assert (tip[:, 0] > tip[:, 2]).mean() > 0.9  # the lips' red, not teeth or shadow


def test_the_inside_has_no_hard_edge_against_the_lips(renderer):
    pose = values(**WIDE)
    frame = luma(renderer.render(pose)).astype(np.float32)
    points = renderer.pose(pose)
    lower_lip = points[list(lm.LOWER_LIP_INNER[3:-3]), :2]
    steps = []
    for x, y in lower_lip:  # down across the lower lip's inner edge
        column = frame[int(y) - 6 : int(y) + 6, int(round(x))]
        steps.append(np.abs(np.diff(column)).max() / max(np.ptp(column), 1.0))
    assert np.median(steps) < 0.6  # the change is spread over more than two pixels


def test_a_black_and_white_photo_gets_a_grey_mouth():
    grey = cv2.cvtColor(cv2.cvtColor(load_image(ASTRONAUT)[40:200, 145:305], cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    frame = close_up(grey).render(values(**WIDE)).astype(int)
    assert np.abs(frame[..., 0] - frame[..., 2]).max() <= 3


def test_the_palette_takes_the_light_from_the_photo():
    photo = load_image(ASTRONAUT)[40:200, 145:305].astype(np.float64)
    photo[:, : photo.shape[1] // 2] *= 0.6  # lit from the image's right
    renderer = close_up(np.ascontiguousarray(photo.astype(np.uint8)))
    palette = MouthPalette.of(renderer.image, renderer.rig.source, unit=renderer.rig.unit)
    assert palette.light > 0.1  # brighter towards the mouth's right (the image's right) corner
    frame = luma(renderer.render(values(**WIDE)))
    ys, xs, share = opening_pixels(renderer, values(**WIDE), frame.shape)
    teeth = frame[ys, xs]
    right = np.percentile(teeth[(share > 0.55) & (share < 0.75)], 90)
    left = np.percentile(teeth[(share > 0.25) & (share < 0.45)], 90)
    assert right > left + 5


def test_a_photo_that_shows_teeth_gives_their_colour():
    image = np.full((200, 200, 3), 150, np.uint8)
    points = np.zeros((478, 3))
    points[:, :2] = (100, 100)
    corners = np.array([[70.0, 100.0], [130.0, 100.0]])
    for contour, bulge in ((lm.UPPER_LIP_OUTER, -12), (lm.LOWER_LIP_OUTER, 12), (lm.UPPER_LIP_INNER, -4),
                           (lm.LOWER_LIP_INNER, 4)):  # fmt: skip
        t = np.linspace(0, 1, len(contour))
        points[list(contour), 0] = corners[0, 0] + t * 60
        points[list(contour), 1] = 100 + bulge * np.sin(np.pi * t)
    points[[50, 280], :2] = ((60, 80), (140, 80))
    image[85:116, 70:131] = (180, 60, 70)  # lips
    image[97:104, 75:126] = (230, 210, 160)  # yellowish teeth between them
    palette = MouthPalette.of(image, points, unit=60.0)
    assert palette.teeth[2] < palette.teeth[0] - 40  # the photo's yellow, not a stock white
