"""A head from one photo: the bundled portrait as a textured glTF mesh with the rig's ARKit morph targets.

The files are read back with pygltflib and numpy (and the helpers of test_avatar), and
checked by the Khronos glTF validator.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pygltflib
import pytest
from test_avatar import read_back, validate

from mouthpiece import api
from mouthpiece.avatar.skeleton import turn
from mouthpiece.avatar.targets import arkit_channel
from mouthpiece.cli import main
from mouthpiece.errors import InputError, NoFaceError
from mouthpiece.face import landmarks as lm
from mouthpiece.render.mesh import EYE_DISTANCE, HeadMesh
from mouthpiece.render.mesh_mouth import depth_at
from mouthpiece.vocabulary import ARKIT_BLENDSHAPES

FPS = 30.0
SENTENCE = "Bob bought a map."


@pytest.fixture(scope="module")
def head() -> HeadMesh:
    return api.head_mesh(api.SAMPLE_PORTRAIT)


@pytest.fixture(scope="module")
def speech():
    audio, animation = api.say(SENTENCE, fps=FPS)
    return audio, api.add_life(animation, audio, seed=1)  # blinks, gaze and head motion too


def attribute(gltf: pygltflib.GLTF2, index: int) -> np.ndarray:
    """An accessor's data as float32 rows (or the indices as int), from a GLB's binary chunk."""
    accessor = gltf.accessors[index]
    view = gltf.bufferViews[accessor.bufferView]
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}[accessor.type]
    dtype = {pygltflib.FLOAT: "<f4", pygltflib.UNSIGNED_SHORT: "<u2", pygltflib.UNSIGNED_INT: "<u4"}
    data = np.frombuffer(gltf.binary_blob(), dtype[accessor.componentType], accessor.count * width,
                         (view.byteOffset or 0) + (accessor.byteOffset or 0))  # fmt: skip
    return data.reshape(accessor.count, width) if width > 1 else data


def skin_of(gltf: pygltflib.GLTF2) -> pygltflib.Primitive:
    (skin,) = [p for p in gltf.meshes[0].primitives if p.extras.get("part") == "Skin"]
    return skin


def test_the_head_is_a_textured_mesh_in_metres_facing_the_viewer(tmp_path, head):
    path = tmp_path / "head.glb"
    assert api.write_head(head, path) is None  # no animation: nothing to report
    gltf = pygltflib.GLTF2.load(str(path))
    assert [n.name for n in gltf.nodes] == ["Head", "Face"] and gltf.nodes[0].children == [1]
    assert not gltf.animations
    textured = [p for p in gltf.meshes[0].primitives if p.attributes.TEXCOORD_0 is not None]
    assert sum(gltf.accessors[p.attributes.POSITION].count for p in textured) >= lm.LANDMARK_COUNT
    skin = skin_of(gltf)
    uv = attribute(gltf, skin.attributes.TEXCOORD_0)
    assert len(uv) >= 468 and uv.min() >= 0.0 and uv.max() <= 1.0 and np.ptp(uv, axis=0).min() > 0.5
    (image,) = gltf.images
    assert image.mimeType == "image/jpeg"
    texture = cv2.imdecode(np.frombuffer(attribute_bytes(gltf, image.bufferView), np.uint8), cv2.IMREAD_COLOR)
    assert texture is not None and min(texture.shape[:2]) >= 64
    assert gltf.materials[skin.material].pbrMetallicRoughness.baseColorTexture.index == 0

    # The landmarks are the first vertices: metres with the eyes 63 mm apart, Y up, the nose towards +Z.
    points = attribute(gltf, skin.attributes.POSITION)
    right, left = points[list(lm.RIGHT_EYE_CORNERS)].mean(axis=0), points[list(lm.LEFT_EYE_CORNERS)].mean(axis=0)
    assert np.hypot(*(left - right)[:2]) == pytest.approx(EYE_DISTANCE, rel=0.01)
    assert left[0] > right[0]  # the subject's left is +X
    assert points[lm.FOREHEAD, 1] - points[lm.CHIN, 1] > 0.1  # a face some 15 cm tall, upright
    assert points[1, 2] > points[list(lm.FACE_OVAL), 2].mean() + 0.02  # the nose tip stands out towards +Z
    triangles = attribute(gltf, skin.indices).reshape(-1, 3)
    a, b, c = (points[triangles[:, i]] for i in range(3))
    facing = np.cross(b - a, c - a)[:, 2]
    assert np.mean(facing > 0) > 0.99  # counter-clockwise seen from the front


def attribute_bytes(gltf: pygltflib.GLTF2, view_index: int) -> bytes:
    view = gltf.bufferViews[view_index]
    start = view.byteOffset or 0
    return gltf.binary_blob()[start : start + view.byteLength]


def test_the_52_arkit_targets_come_from_the_rig(tmp_path, head):
    path = tmp_path / "head.glb"
    api.write_head(head, path)
    gltf = pygltflib.GLTF2.load(str(path))
    names = gltf.meshes[0].extras["targetNames"]
    assert [arkit_channel(name) for name in names] == list(ARKIT_BLENDSHAPES)
    assert names[ARKIT_BLENDSHAPES.index("JawOpen")] == "jawOpen"
    assert all(len(p.targets) == 52 for p in gltf.meshes[0].primitives)
    skin = skin_of(gltf)

    def moves(channel: str) -> np.ndarray:
        return attribute(gltf, skin.targets[ARKIT_BLENDSHAPES.index(channel)]["POSITION"])

    jaw = moves("JawOpen")
    assert -0.035 < jaw[lm.CHIN, 1] < -0.015  # the chin drops 2-3 cm
    assert abs(jaw[lm.FOREHEAD]).max() < 1e-4 and abs(jaw[lm.UPPER_LIP_INNER[5], 1]) < 0.005
    blink = moves("EyeBlinkLeft")
    assert blink[lm.LEFT_UPPER_LID[4], 1] < -0.004 and abs(blink[lm.RIGHT_UPPER_LID[4]]).max() < 1e-4
    smile = moves("MouthSmileLeft")
    assert smile[lm.MOUTH_CORNER_LEFT, 0] > 0.004 and smile[lm.MOUTH_CORNER_LEFT, 1] > 0.004  # out and up


def test_an_open_mouth_shows_its_inside_not_a_hole(head):
    """Seen from the front at JawOpen 1, every point between the lips is covered by the mouth's
    inside, and every point of the face by something."""
    weights = np.zeros(len(ARKIT_BLENDSHAPES))
    weights[ARKIT_BLENDSHAPES.index("JawOpen")] = 1.0
    scale, size = 4000.0, 1600  # pixels per metre, image size

    def pixels(points: np.ndarray) -> np.ndarray:
        return np.round((points[:, :2] * [1, -1] * scale) + size / 2).astype(np.int32)

    parts = {p.name: (p, pixels(p.positions + np.tensordot(weights, p.targets, 1))) for p in head.parts}
    covered = {name: np.zeros((size, size), np.uint8) for name in parts}
    for name, (part, points) in parts.items():
        for triangle in part.triangles:
            cv2.fillConvexPoly(covered[name], points[triangle], 1)
    skin = parts["Skin"][1]
    opening = np.zeros((size, size), np.uint8)
    cv2.fillPoly(opening, [skin[list(lm.UPPER_LIP_INNER + lm.LOWER_LIP_INNER[-2:0:-1])]], 1)
    opening = cv2.erode(opening, np.ones((3, 3), np.uint8))
    assert opening.sum() > 1000  # the mouth is open
    inside = covered["Mouth"] | covered["Teeth"] | covered["Tongue"]
    assert np.all(inside[opening > 0])
    face = np.zeros((size, size), np.uint8)
    cv2.fillPoly(face, [skin[list(lm.FACE_OVAL)]], 1)
    anything = np.bitwise_or.reduce(list(covered.values()))
    assert np.all(anything[face > 0])  # the eyes fill their openings too


def test_at_rest_the_inside_of_the_mouth_is_behind_the_skin(head):
    parts = {p.name: p for p in head.parts}
    skin = parts["Skin"]
    away = skin.positions * [1, 1, -1]  # depth_at measures depth away from the camera
    for name, sewn in (("Mouth", len(lm.UPPER_LIP_INNER) + len(lm.LOWER_LIP_INNER) - 2), ("Teeth", 0), ("Tongue", 0)):
        points = parts[name].positions[sewn:]  # the cavity's first ring is the lips themselves
        skin_z = -depth_at(points[:, :2], away, skin.triangles)  # +inf where no skin lies in front
        assert np.all(points[:, 2] < skin_z - 0.001), name  # over a millimetre behind it


def test_the_animation_is_written_on_the_targets_and_the_head(tmp_path, head, speech):
    _, animation = speech
    report = api.write_head(head, tmp_path / "talking.glb", animation=animation)
    assert report is not None and len(report.driven) == 52 and dict(report.bones) == {"head": "Head"}
    assert report.facing.startswith("+Z") and "mouth" in report.facing  # found from the head's own shape
    written = read_back(tmp_path / "talking.glb")
    times, _ = written.channel("Face", "weights")
    np.testing.assert_allclose(times, np.arange(animation.frame_count) / FPS, atol=1e-5)
    weights = written.weights("Face")
    for column, channel in enumerate(ARKIT_BLENDSHAPES):
        expected = animation.channel(channel)
        if channel == "MouthClose":  # capped at JawOpen, as the portrait's rig does
            expected = np.minimum(expected, animation.channel("JawOpen"))
        np.testing.assert_allclose(weights[:, column], expected, atol=1e-4, err_msg=channel)
    assert animation.channel("JawOpen").max() > 0.2 and np.any(animation.channel("MouthClose") > 0)
    _, rotations = written.channel("Head", "rotation")
    yaw, pitch, roll = (animation.channel(c) for c in ("HeadYaw", "HeadPitch", "HeadRoll"))
    assert np.abs(yaw).max() > 0.001  # the idle head moves
    expected = turn(yaw, pitch, roll, facing=1.0)  # the Head node rests unturned
    np.testing.assert_allclose(np.abs(np.sum(expected * rotations, axis=1)), 1.0, atol=1e-5)


def test_the_khronos_validator_finds_no_errors(tmp_path, head, speech):
    _, animation = speech
    paths = [tmp_path / "rest.glb", tmp_path / "talking.glb", tmp_path / "talking.gltf"]
    api.write_head(head, paths[0])
    for path in paths[1:]:
        api.write_head(head, path, animation=animation)
    for report in validate(paths):
        assert report["errors"] == 0 and report["warnings"] == 0, report


def test_head_command_end_to_end(tmp_path, capsys, spoken):
    said = tmp_path / "said.glb"
    assert main(["head", api.SAMPLE_PORTRAIT, "-o", str(said), "--text", SENTENCE, "--fps", "30"]) == 0
    assert "said.glb and" in capsys.readouterr().err and (tmp_path / "said.wav").exists()
    heard = tmp_path / "heard.gltf"
    args = ["head", api.SAMPLE_PORTRAIT, str(spoken.wav), "--text", spoken.text, "-o", str(heard), "--no-idle"]
    assert main(args) == 0
    still = tmp_path / "still.glb"
    assert main(["head", api.SAMPLE_PORTRAIT, "-o", str(still), "-q"]) == 0
    assert capsys.readouterr().err.count("\n") == 1  # the .gltf's line; -q says nothing
    assert not (tmp_path / "still.wav").exists() and not (tmp_path / "heard.wav").exists()
    jaw = read_back(said).weights("Face")[:, ARKIT_BLENDSHAPES.index("JawOpen")]
    assert jaw.max() > 0.2 and jaw.min() < 0.05
    times, weights = read_back(heard).channel("Face", "weights")
    assert times[-1] == pytest.approx(spoken.audio.duration, abs=0.1)
    assert "rotation" not in [c.target.path for c in read_back(heard).clip().channels]  # --no-idle: no head motion
    assert not pygltflib.GLTF2.load(str(still)).animations
    for report in validate([said, heard, still]):
        assert report["errors"] == 0, report


def _faceless(tmp_path: Path) -> Path:
    path = tmp_path / "wall.png"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(100, 140, (240, 320, 3), dtype=np.uint8))
    return path


def test_bad_input_gets_one_sentence_and_no_output(tmp_path, capsys):
    wall = _faceless(tmp_path)
    with pytest.raises(NoFaceError, match="No face found in '.*wall.png'"):
        api.head_mesh(wall)
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture")
    out = tmp_path / "out"
    out.mkdir()
    cases = [
        (["head", str(wall), "-o", str(out / "x.glb")], "No face found"),
        (["head", str(notes), "-o", str(out / "x.glb")], "notes.png"),
        (["head", api.SAMPLE_PORTRAIT, "-o", str(out / "x.fbx")], "name it .glb or .gltf"),
        (["head", api.SAMPLE_PORTRAIT, "-o", str(out / "x.vrm"), "--text", "Hi."], "name it .glb or .gltf"),
        (["head", api.SAMPLE_PORTRAIT, "--face", "2", "-o", str(out / "x.glb")], "there is no face 2"),
        (["head", api.SAMPLE_PORTRAIT, str(tmp_path / "none.wav"), "-o", str(out / "x.glb")], "none.wav"),
        (["head", api.SAMPLE_PORTRAIT, "-o", str(tmp_path / "missing" / "x.glb")], "does not exist"),
    ]
    for args, says in cases:
        assert main(args) == 1, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0] and err[0].endswith("."), err
    assert sorted(p.name for p in out.iterdir()) == []
    with pytest.raises(InputError, match="name it .glb or .gltf"):
        api.check_head_output("head.obj")
