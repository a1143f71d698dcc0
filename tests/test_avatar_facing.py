"""Which way an avatar faces (+Z or -Z), and its head and eyes turning the right way for it.

The avatars are built here (and with test_avatar's builder): skeletons whose eyes are on
either side, VRM 0.x and 1.0 models, and bone-less heads whose mouth is on either side.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pygltflib
import pytest
from test_avatar import (
    ARKIT_TARGETS,
    VRM_TARGETS,
    Build,
    MeshSpec,
    build_avatar,
    make_animation,
    read_back,
    validate,
    world_rotation,
)

from mouthpiece import api
from mouthpiece.avatar import load_avatar
from mouthpiece.avatar.gltf_io import new_document
from mouthpiece.avatar.skeleton import quaternion_multiply, rotate, turn
from mouthpiece.types import Animation
from mouthpiece.vocabulary import CHANNELS


def build_head(path: Path, *, facing: float, parent_turn: float = 0.0) -> Path:
    """A bone-less head: a closed cylinder of rings, with a jawOpen target that moves the
    vertices of its mouth (on the +Z side when ``facing`` is +1, on -Z when -1). Its node
    hangs from a node turned ``parent_turn`` radians about Y."""
    b = Build()
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    heights = np.linspace(-0.08, 0.08, 9)
    rings = [np.stack([0.08 * np.sin(angles), np.full_like(angles, y), 0.09 * np.cos(angles) * facing], 1)
             for y in heights]  # fmt: skip
    positions = np.concatenate(rings)
    mouth = (np.cos(np.tile(angles, len(heights))) > 0.7) & (positions[:, 1] < 0) & (positions[:, 1] > -0.05)
    shift = np.zeros_like(positions)
    shift[mouth, 1] = -0.01
    count = len(angles)
    quads = [(r * count + a, r * count + (a + 1) % count, (r + 1) * count + (a + 1) % count, (r + 1) * count + a)
             for r in range(len(heights) - 1) for a in range(count)]  # fmt: skip
    triangles = np.array([(p, q, s) for p, q, _, s in quads] + [(q, t, s) for _, q, t, s in quads], np.uint32)
    b.blob.extend(b"\0" * (-len(b.blob) % 4))
    b.gltf.bufferViews.append(pygltflib.BufferView(buffer=0, byteOffset=len(b.blob), byteLength=triangles.nbytes))
    b.blob.extend(triangles.tobytes())
    b.gltf.accessors.append(pygltflib.Accessor(bufferView=0, componentType=pygltflib.UNSIGNED_INT,
                                               count=triangles.size, type="SCALAR"))  # fmt: skip
    primitive = pygltflib.Primitive(
        attributes=pygltflib.Attributes(POSITION=b.accessor(positions, "VEC3", bounds=True)), indices=0,
        targets=[pygltflib.Attributes(POSITION=b.accessor(shift, "VEC3", bounds=True))],
    )  # fmt: skip
    b.gltf.meshes.append(pygltflib.Mesh(name="Head", primitives=[primitive], extras={"targetNames": ["jawOpen"]}))
    half = [0.0, float(np.sin(parent_turn / 2)), 0.0, float(np.cos(parent_turn / 2))]
    b.gltf.nodes += [pygltflib.Node(name="Root", rotation=half, children=[1]), pygltflib.Node(name="Head", mesh=0)]
    b.gltf.scenes.append(pygltflib.Scene(nodes=[0]))
    b.gltf.scene = 0
    b.gltf.buffers.append(pygltflib.Buffer(byteLength=len(b.blob)))
    b.gltf.set_binary_blob(bytes(b.blob))
    path.write_bytes(b"".join(b.gltf.save_to_bytes()))
    return path


def _eyes_on_the_midline(path: Path, *, ahead: float) -> Path:
    """test_avatar's avatar, its bones unturned, with both eye bones at X = 0, ``ahead`` metres
    along Z from the head."""
    build_avatar(path, [MeshSpec("Face", ARKIT_TARGETS)])
    raw = json.loads(path.read_text())
    for node in raw["nodes"]:
        node.pop("rotation", None)
        if node.get("name") in ("LeftEye", "RightEye"):
            node["translation"] = [0.0, 0.1, ahead]
    path.write_text(json.dumps(raw))
    return path


@pytest.mark.parametrize(
    "case, sign, says",
    [
        ("glTF, eyes towards +Z", 1.0, "left eye"),
        ("glTF, eyes towards -Z", -1.0, "left eye"),
        ("VRM 0.x", -1.0, "VRM 0.x"),
        ("VRM 1.0", 1.0, "VRM 1.0"),
        ("eyes on the midline, in front at -Z", -1.0, "head bone"),
        ("bone-less head, mouth at +Z", 1.0, "mouth"),
        ("bone-less head, mouth at -Z", -1.0, "mouth"),
        ("bone-less head, mouth at -Z, turned half round", 1.0, "mouth"),
        ("nothing tells", 1.0, "glTF's convention"),
    ],
)
def test_which_way_an_avatar_faces(tmp_path, case, sign, says):
    arkit = [MeshSpec("Face", ARKIT_TARGETS)]
    make = {
        "glTF, eyes towards +Z": lambda p: build_avatar(p / "a.glb", arkit),
        "glTF, eyes towards -Z": lambda p: build_avatar(p / "a.glb", arkit, facing=-1.0),
        "VRM 0.x": lambda p: build_avatar(p / "a.vrm", [MeshSpec("Face", VRM_TARGETS[0])], vrm=0),
        "VRM 1.0": lambda p: build_avatar(p / "a.vrm", [MeshSpec("Face", VRM_TARGETS[1])], vrm=1, facing=-1.0),
        "eyes on the midline, in front at -Z": lambda p: _eyes_on_the_midline(p / "a.gltf", ahead=-0.05),
        "bone-less head, mouth at +Z": lambda p: build_head(p / "a.glb", facing=1.0),
        "bone-less head, mouth at -Z": lambda p: build_head(p / "a.glb", facing=-1.0),
        "bone-less head, mouth at -Z, turned half round": lambda p: build_head(p / "a.glb", facing=-1.0,
                                                                               parent_turn=np.pi),
        "nothing tells": lambda p: build_avatar(p / "a.glb", arkit, bones=False),
    }  # fmt: skip
    facing = load_avatar(make[case](tmp_path)).facing
    assert facing.sign == sign and says in facing.reason


def _only(animation: Animation, angle: str) -> Animation:
    """``animation`` with every bone's angles but ``angle`` (``"Yaw"``, ``"Pitch"``) at 0."""
    values = animation.values.copy()
    for column, channel in enumerate(CHANNELS):
        if channel.endswith(("Yaw", "Pitch", "Roll")) and not channel.endswith(angle):
            values[:, column] = 0.0
    return Animation(fps=animation.fps, values=values, viseme_weights=animation.viseme_weights)


@pytest.mark.parametrize("facing", [1.0, -1.0])
def test_a_model_facing_minus_z_turns_its_head_and_eyes_the_animations_way(tmp_path, facing):
    """Positive yaw turns the face to the subject's left, positive pitch lifts it, for either facing."""
    avatar = build_avatar(tmp_path / "avatar.glb", [MeshSpec("Face", ARKIT_TARGETS)], facing=facing)
    forward, left, up = np.array([0.0, 0.0, facing]), np.array([facing, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    for name, animation in (("all", make_animation()), ("Yaw", _only(make_animation(), "Yaw")),
                            ("Pitch", _only(make_animation(), "Pitch"))):  # fmt: skip
        report = api.animate_onto(animation, avatar, tmp_path / "talking.glb")
        assert f"faces {'+Z' if facing > 0 else '-Z'}" in report.lines()[0]
        out = read_back(tmp_path / "talking.glb")
        names = [n.name for n in out.gltf.nodes]
        for bone, channels in (("J_Bip_C_Head", "Head"), ("LeftEye", "LeftEye"), ("RightEye", "RightEye")):
            index = names.index(bone)
            _, local = out.channel(bone, "rotation")
            # the turn each keyframe adds to the bone's rest rotation, in the model's frame (its parents at
            # rest: an eye's angles are relative to the head, which carries it as it turns)
            added = quaternion_multiply(world_rotation(out.gltf, index, local),
                                        world_rotation(out.gltf, index) * [-1, -1, -1, 1])  # fmt: skip
            yaw, pitch, roll = (animation.channel(f"{channels}{a}") for a in ("Yaw", "Pitch", "Roll"))
            expected = turn(yaw, pitch, roll, facing=facing)
            assert np.allclose(np.abs(np.sum(expected * added, axis=1)), 1.0, atol=1e-5), bone
            # and in plain words: the face (or the eye) goes to the subject's left for yaw, up for pitch
            nose = rotate(added, tuple(forward))
            if name == "Yaw":
                assert np.all(np.sign(nose @ left) == np.sign(yaw)), bone
            if name == "Pitch":
                assert np.all(np.sign(nose @ up) == np.sign(pitch)), bone
    assert validate([tmp_path / "talking.glb"])[0]["errors"] == 0


def test_a_bone_less_head_facing_minus_z_is_animated_and_valid(tmp_path):
    head = build_head(tmp_path / "head.glb", facing=-1.0)
    animation = make_animation()
    report = api.animate_onto(animation, head, tmp_path / "talking.glb")
    np.testing.assert_allclose(read_back(tmp_path / "talking.glb").weights("Head")[:, 0],
                               animation.channel("JawOpen"), atol=1e-4)  # fmt: skip
    assert report.bones == () and report.facing.startswith("-Z")
    assert validate([tmp_path / "talking.glb"])[0]["errors"] == 0


def test_floats_are_read_through_strides_and_sparse_accessors():
    data = np.arange(12, dtype="<f4").reshape(3, 4)  # three VEC3 rows, each padded to 16 bytes
    values, rows = np.array([[9, 9, 9]], "<f4"), np.array([1], "<u2")
    blob = data.tobytes() + rows.tobytes() + b"\0\0" + values.tobytes()
    raw = {
        "asset": {"version": "2.0"},
        "buffers": [{"byteLength": len(blob)}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 48, "byteStride": 16},
                        {"buffer": 0, "byteOffset": 48, "byteLength": 2},
                        {"buffer": 0, "byteOffset": 52, "byteLength": 12}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"},
            {"componentType": 5126, "count": 3, "type": "VEC3", "sparse": {
                "count": 1, "indices": {"bufferView": 1, "componentType": 5123}, "values": {"bufferView": 2}}},
            {"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3"},  # runs past its view
            {"bufferView": 0, "componentType": 5123, "count": 3, "type": "VEC3"},  # not float
        ],
    }  # fmt: skip
    document = new_document(raw, blob, source="test")
    np.testing.assert_array_equal(document.read_floats(0), data[:, :3])
    np.testing.assert_array_equal(document.read_floats(1), [[0, 0, 0], [9, 9, 9], [0, 0, 0]])
    assert document.read_floats(2) is None and document.read_floats(3) is None and document.read_floats(7) is None
