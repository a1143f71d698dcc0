"""Face stage: landmarks on real photos, the mesh, and a rig whose channels move the right points."""

from __future__ import annotations

import itertools
from collections import Counter
from importlib import resources

import cv2
import numpy as np
import pytest

from mouthpiece.errors import NoFaceError
from mouthpiece.face import landmarks as lm
from mouthpiece.face import rules
from mouthpiece.face.detect import detect_faces, find_face
from mouthpiece.face.rig import ANCHOR_RING, HEAD_RING, LOWER_TEETH, UPPER_TEETH, Poser, build_rig
from mouthpiece.render.image import load_image
from mouthpiece.types import FaceRig
from mouthpiece.vocabulary import CHANNELS


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """The bundled public-domain portrait (512 x 512)."""
    return load_image(resources.files("mouthpiece") / "data" / "astronaut.png")


@pytest.fixture(scope="session")
def face(astronaut) -> np.ndarray:
    return find_face(astronaut, source="astronaut.png")


@pytest.fixture(scope="session")
def rig(face) -> FaceRig:
    return build_rig(face)


def moved(rig: FaceRig, **weights: float) -> np.ndarray:
    """Displacement [N, 3] in pixels of every rig point at these channel weights."""
    values = np.zeros(len(CHANNELS), np.float32)
    for name, weight in weights.items():
        values[CHANNELS.index(name)] = weight
    return Poser(rig, CHANNELS)(values) - rig.landmarks


def test_landmarks_lie_on_the_face(face):
    assert face.shape == (478, 3)
    # the astronaut's face spans roughly x 180-270, y 70-180 in the 512 px photo
    assert 170 < face[:, 0].min() < face[:, 0].max() < 285
    assert 60 < face[:, 1].min() < face[:, 1].max() < 190
    right_eye, left_eye = face[[33, 133]].mean(axis=0), face[[263, 362]].mean(axis=0)
    assert right_eye[0] < left_eye[0]  # the subject's right eye is on the image's left
    assert face[lm.CHIN, 1] > face[13, 1] > face[1, 1] > right_eye[1]  # chin below mouth below nose below eyes


def test_no_face_is_one_clear_error():
    blank = np.full((200, 300, 3), 180, np.uint8)
    with pytest.raises(NoFaceError, match=r"No face found in 'blank\.png'\."):
        find_face(blank, source="blank.png")


def test_several_faces_are_ordered_left_to_right_and_chosen(astronaut):
    # MediaPipe's detector sees the image at 128 px: faces must fill a fair part of it
    head = astronaut[:, 100:400]
    pair = np.concatenate([head, head], axis=1)
    small = np.full_like(head, 200)
    reduced = cv2.resize(head, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA)
    small[64 : 64 + reduced.shape[0], 37 : 37 + reduced.shape[1]] = reduced
    big_right = np.concatenate([small, head], axis=1)
    faces = detect_faces(pair)
    assert len(faces) == 2 and faces[0][:, 0].mean() < faces[1][:, 0].mean()
    assert find_face(pair, source="pair.png", index=1)[:, 0].mean() > pair.shape[1] / 2
    largest = find_face(big_right, source="big.png")
    assert largest[:, 0].mean() > head.shape[1]  # the bigger face, on the right
    assert len(detect_faces(big_right)) == 2
    with pytest.raises(NoFaceError, match=r"'pair\.png' has 2 faces; there is no face 2"):
        find_face(pair, source="pair.png", index=2)


def test_mesh_is_a_surface_open_at_mouth_eyes_and_outline():
    triangles = lm.mesh_triangles()
    assert triangles.shape == (852, 3)
    uses = Counter(tuple(sorted(pair)) for t in triangles for pair in itertools.combinations(t, 2))
    assert max(uses.values()) == 2  # every edge borders at most two triangles
    border = {v for pair, n in uses.items() if n == 1 for v in pair}
    assert set(lm.FACE_OVAL) | set(lm.UPPER_LIP_INNER) | set(lm.LOWER_LIP_INNER) <= border
    assert set(lm.LEFT_UPPER_LID) | set(lm.RIGHT_LOWER_LID) <= border


def test_rig_covers_the_named_channels(rig):
    assert set(rig.channels) == set(rules.RIG_MOVES)
    for name in (
        "JawOpen",
        "MouthClose",
        "MouthFunnel",
        "MouthPucker",
        "MouthRollLower",
        "MouthShrugUpper",
        "CheekPuff",
        "EyeBlinkLeft",
        "EyeLookUpRight",
        "EyeWideLeft",
        "EyeSquintRight",
        "BrowInnerUp",
    ):
        assert name in rig.channels  # fmt: skip
    for k, name in enumerate(rig.channels):
        assert np.abs(rig.basis[k]).max() > 0.5, f"{name} moves nothing"


def test_jaw_opens_the_lower_face_only(rig):
    d = moved(rig, JawOpen=1.0)
    drop = rules.JAW_DROP * rig.unit
    assert d[lm.CHIN, 1] == pytest.approx(drop, rel=0.05)
    assert d[14, 1] == pytest.approx(drop, rel=0.05)  # lower lip
    assert abs(d[13, 1]) < 0.05 * drop  # upper lip
    for still in (1, 33, 263, 10, 105):  # nose tip, eye corners, forehead, brow
        assert np.hypot(*d[still, :2]) < 0.5
    assert np.all(np.abs(d[ANCHOR_RING]) < 1e-4)  # the background holds
    assert np.all(d[LOWER_TEETH, 1] == pytest.approx(drop, rel=0.05))
    assert np.all(np.abs(d[UPPER_TEETH]) < 1e-4)


def test_blink_closes_one_eye_onto_its_lower_lid(rig):
    d = moved(rig, EyeBlinkLeft=1.0)
    rest = rig.landmarks
    gap = rest[374, 1] - rest[386, 1]  # left eye: lower lid minus upper lid, middle
    assert gap > 2
    assert d[386, 1] == pytest.approx(rules.BLINK_OVERLAP * gap, abs=0.05 * gap)  # onto the lower lid, a little past
    assert abs(d[374, 1]) < 0.5  # the lower lid stays
    assert np.abs(d[list(lm.RIGHT_UPPER_LID)]).max() < 0.5  # the other eye stays


@pytest.mark.parametrize(
    "channel, point, direction",
    [
        ("MouthSmileLeft", lm.MOUTH_CORNER_LEFT, (1, -1)),  # out (image right) and up
        ("MouthSmileRight", lm.MOUTH_CORNER_RIGHT, (-1, -1)),
        ("MouthFrownLeft", lm.MOUTH_CORNER_LEFT, (0, 1)),
        ("MouthPucker", lm.MOUTH_CORNER_LEFT, (-1, 0)),  # corners gather in
        ("MouthPucker", lm.MOUTH_CORNER_RIGHT, (1, 0)),
        ("MouthLowerDownLeft", 14, (0, 1)),
        ("MouthUpperUpRight", 0, (0, -1)),
        ("MouthShrugLower", 17, (0, -1)),
        ("BrowInnerUp", 336, (0, -1)),
        ("BrowInnerUp", 107, (0, -1)),
        ("BrowDownLeft", 334, (0, 1)),
        ("EyeLookOutLeft", 473, (1, 0)),  # the left iris towards the subject's left
        ("EyeLookInRight", 468, (1, 0)),  # the right iris towards the nose
        ("EyeLookUpLeft", 473, (0, -1)),
        ("EyeWideLeft", 386, (0, -1)),
        ("CheekPuff", 425, (1, 0)),
    ],
)
def test_channel_moves_its_point_the_right_way(rig, channel, point, direction):
    d = moved(rig, **{channel: 1.0})[point, :2]
    assert float(d @ np.array(direction, float)) > 1.0, f"{channel} moved point {point} by {d}"


def test_the_points_between_a_mouth_corner_and_its_inner_corner_move_on_the_line_between(rig):
    """They lie within a pixel or two at rest: moved apart, the slivers between them drew a
    dark ringed blob of the corner's shadow below the corner (img02, smiling 'ee')."""
    from mouthpiece.face.rig import CORNER_BETWEEN

    for weights in ({"MouthSmileLeft": 0.3, "MouthSmileRight": 0.3, "MouthStretchLeft": 0.35,
                     "MouthStretchRight": 0.35, "JawOpen": 0.2, "MouthLowerDownLeft": 0.1},
                    {"JawOpen": 1.0}, {"MouthPucker": 1.0}, {"MouthFunnel": 0.8, "MouthLeft": 0.6}):  # fmt: skip
        d = moved(rig, **weights)
        for outer, between, inner in CORNER_BETWEEN:
            for k, point in enumerate(between, 1):
                share = k / (len(between) + 1)
                assert np.allclose(d[point], (1 - share) * d[outer] + share * d[inner], atol=1e-4)


def test_mouth_channels_leave_the_eyes_alone(rig):
    for channel in ("JawOpen", "MouthSmileLeft", "MouthPucker", "MouthFunnel", "MouthLowerDownLeft"):
        d = moved(rig, **{channel: 1.0})
        eyes = list(lm.LEFT_UPPER_LID + lm.RIGHT_UPPER_LID + lm.LEFT_IRIS + lm.RIGHT_IRIS)
        assert np.abs(d[eyes, :2]).max() < 0.5, channel


def test_head_turns_about_the_neck_and_the_background_holds(rig):
    yaw = moved(rig, HeadYaw=0.1)
    assert yaw[1, 0] > 2  # the nose tip swings to the subject's left, the image's right
    assert yaw[1, 0] > yaw[lm.CHIN, 0] * 0.5
    nod = moved(rig, HeadPitch=0.1)
    assert nod[1, 1] < -1  # positive pitch lifts the face
    tilt = moved(rig, HeadRoll=0.1)
    assert tilt[lm.FOREHEAD, 0] < -1  # positive roll: the top of the head to the subject's right
    for d in (yaw, nod, tilt):
        assert np.abs(d[ANCHOR_RING]).max() < 1e-4
        assert np.abs(d[HEAD_RING]).max() > 1


def test_a_photo_with_parted_lips_rests_closed(rig):
    # The astronaut smiles with her teeth showing: at rest the rig closes her lips.
    upper, lower = list(lm.UPPER_LIP_INNER), list(lm.LOWER_LIP_INNER)
    assert (rig.source[lower, 1] - rig.source[upper, 1]).max() > 4
    assert np.abs(rig.landmarks[lower, 1] - rig.landmarks[upper, 1]).max() < 0.5
    still = [33, 263, 1, 10, 107, 336]
    assert np.abs(rig.landmarks[still] - rig.source[still]).max() < 0.05


def test_rig_round_trips(rig, tmp_path):
    again = FaceRig.from_dict(rig.to_dict())
    rig.save_npz(tmp_path / "rig.npz")
    loaded = FaceRig.load_npz(tmp_path / "rig.npz")
    for other in (again, loaded):
        assert other.channels == rig.channels and other.unit == pytest.approx(rig.unit)
        np.testing.assert_allclose(other.basis, rig.basis, atol=1e-5)
        np.testing.assert_array_equal(other.triangles, rig.triangles)
        np.testing.assert_allclose(other.source, rig.source, atol=1e-4)


def test_mouth_close_closes_against_the_jaw_and_never_past_it(rig):
    assert np.abs(moved(rig, MouthClose=0.5)).max() < 1e-4  # lips already together: nothing to close
    lips_together = moved(rig, JawOpen=0.4, MouthClose=0.4)
    assert abs(lips_together[14, 1]) < 0.05 * rig.unit  # the lower lip stays up...
    assert lips_together[lm.CHIN, 1] > 0.1 * rig.unit  # ...while the chin drops
    np.testing.assert_allclose(moved(rig, JawOpen=0.2, MouthClose=0.6), moved(rig, JawOpen=0.2, MouthClose=0.2))


def test_two_trackers_at_once_leave_stderr_as_it_was(astronaut):
    import sys

    from mouthpiece.face.track import track_face

    before = sys.stderr
    first, second = track_face([astronaut] * 3), track_face([astronaut] * 3)
    assert next(first) is not None and next(second) is not None
    first.close()  # out of order: the first one opened leaves first
    assert next(second) is not None
    second.close()
    assert sys.stderr is before and not sys.stderr.closed
