"""3D avatars: an Animation written into glTF, GLB and VRM models the tests build with pygltflib.

Every check reads the written file back with pygltflib and decodes its accessors with numpy.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pygltflib
import pytest

from mouthpiece import api
from mouthpiece.avatar import ANIMATION_NAME, load_avatar
from mouthpiece.avatar.skeleton import quaternion_multiply, rotate, turn
from mouthpiece.avatar.targets import arkit_channel, viseme_name
from mouthpiece.cli import main
from mouthpiece.errors import InputError
from mouthpiece.types import Animation
from mouthpiece.vocabulary import CHANNELS, VISEMES

FPS = 30.0
FRAMES = 24
VALIDATOR = Path(__file__).resolve().parents[1] / "tools" / "gltf-validator"
ARKIT_TARGETS = ["blendShape1.jawOpen", "eyeBlink_L", "EyeBlink_Right", "mouth_smile_left", "ARKit_browInnerUp",
                 "MouthFunnel", "tongueOut", "notAShape"]  # fmt: skip
RPM_TARGETS = ["viseme_sil", "viseme_PP", "viseme_aa", "viseme_O", "viseme_U", "eyesClosed", "mouthOpen"]


def make_animation(*, seed: int = 0, head: bool = True) -> Animation:
    """FRAMES frames at FPS: every channel random (blendshapes in [0, 1], angles within 0.3 rad), visemes too."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, (FRAMES, len(CHANNELS)))
    values[:, 52:] = rng.uniform(-0.3, 0.3, (FRAMES, len(CHANNELS) - 52)) if head else 0.0
    return Animation(fps=FPS, values=values, viseme_weights=rng.dirichlet(np.ones(len(VISEMES)), FRAMES))


# --- Building avatars -------------------------------------------------------------------------


@dataclass
class MeshSpec:
    """A node showing a one-triangle mesh with one morph target per name."""

    node: str
    targets: list[str]
    names_on: str = "mesh"  # where targetNames go: "mesh" (extras), "primitive" (extras) or "none"
    weights: list[float] | None = None  # mesh.weights: the defaults


@dataclass
class Build:
    gltf: pygltflib.GLTF2 = field(default_factory=pygltflib.GLTF2)
    blob: bytearray = field(default_factory=bytearray)

    def accessor(self, data: np.ndarray, type_: str, *, bounds: bool = False) -> int:
        data = np.ascontiguousarray(data, np.float32)
        self.blob.extend(b"\0" * (-len(self.blob) % 4))
        self.gltf.bufferViews.append(pygltflib.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=data.nbytes))
        self.blob.extend(data.tobytes())
        rows = data.reshape(len(data), -1)
        accessor = pygltflib.Accessor(bufferView=len(self.gltf.bufferViews) - 1, componentType=pygltflib.FLOAT,
                                      count=len(rows), type=type_)  # fmt: skip
        if bounds:
            accessor.min, accessor.max = rows.min(axis=0).tolist(), rows.max(axis=0).tolist()
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1


def build_avatar(
    path: Path,
    meshes: list[MeshSpec],
    *,
    bones: bool = True,
    vrm: int | None = None,
    buffer: str = "embedded",  # for .gltf: "embedded" (data URI) or "file" (a .bin beside it)
    facing: float = 1.0,  # the eyes are on this side of the head: +1 for +Z, -1 for -Z
) -> Path:
    """Write an avatar: the meshes, a skeleton Hips > Neck > Head > LeftEye, RightEye (turned at
    rest, so a bone's local frame differs from the model's), a material, an animation of its own,
    and a VRM 0.x or 1.0 extension with expressions and humanoid bones when ``vrm`` is 0 or 1."""
    b = Build()
    gltf = b.gltf
    gltf.materials.append(pygltflib.Material(name="Skin", doubleSided=True))
    triangle = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    roots = []
    for spec in meshes:
        position = b.accessor(triangle, "VEC3", bounds=True)
        targets = []
        for k in range(len(spec.targets)):
            shift = np.zeros((3, 3), np.float32)
            shift[:, 2] = 0.01 * (k + 1)
            targets.append(pygltflib.Attributes(POSITION=b.accessor(shift, "VEC3", bounds=True)))
        primitive = pygltflib.Primitive(attributes=pygltflib.Attributes(POSITION=position), targets=targets, material=0)
        mesh = pygltflib.Mesh(name=spec.node + "Mesh", primitives=[primitive], weights=spec.weights or [])
        if spec.names_on == "mesh":
            mesh.extras = {"targetNames": spec.targets}
        elif spec.names_on == "primitive":
            primitive.extras = {"targetNames": spec.targets}
        gltf.meshes.append(mesh)
        gltf.nodes.append(pygltflib.Node(name=spec.node, mesh=len(gltf.meshes) - 1))
        roots.append(len(gltf.nodes) - 1)
    bone_nodes = {}
    if bones:
        first = len(gltf.nodes)
        tilt = [float(np.sin(0.2)), 0.0, 0.0, float(np.cos(0.2))]  # 0.4 rad about X
        twist = [0.0, float(np.sin(0.5)), 0.0, float(np.cos(0.5))]  # 1 rad about Y
        gltf.nodes += [
            pygltflib.Node(name="Hips", children=[first + 1], rotation=tilt, translation=[0, 1, 0]),
            pygltflib.Node(name="Neck", children=[first + 2], translation=[0, 0.5, 0]),
            pygltflib.Node(name="J_Bip_C_Head", children=[first + 3, first + 4], rotation=twist),
            pygltflib.Node(name="LeftEye", translation=[0.03 * facing, 0.1, 0.05 * facing]),
            pygltflib.Node(name="RightEye", translation=[-0.03 * facing, 0.1, 0.05 * facing]),
        ]
        roots.append(first)
        bone_nodes = {"hips": first, "neck": first + 1, "head": first + 2, "leftEye": first + 3, "rightEye": first + 4}
        # an animation of its own (the hips bob), which must survive
        times = b.accessor(np.array([0.0, 1.0]), "SCALAR", bounds=True)
        moves = b.accessor(np.array([[0, 1, 0], [0, 1.1, 0]]), "VEC3")
        gltf.animations.append(pygltflib.Animation(
            name="Idle", samplers=[pygltflib.AnimationSampler(input=times, output=moves)],
            channels=[pygltflib.AnimationChannel(
                sampler=0, target=pygltflib.AnimationChannelTarget(node=first, path="translation"))],
        ))  # fmt: skip
    gltf.scenes.append(pygltflib.Scene(name="Scene", nodes=roots))
    gltf.scene = 0
    if vrm is not None:
        _add_vrm(gltf, vrm, bone_nodes)
    suffix = path.suffix.lower()
    if suffix == ".gltf":
        if buffer == "file":
            (path.parent / f"{path.stem}.bin").write_bytes(bytes(b.blob))
            gltf.buffers.append(pygltflib.Buffer(byteLength=len(b.blob), uri=f"{path.stem}.bin"))
        else:
            uri = "data:application/octet-stream;base64," + base64.b64encode(bytes(b.blob)).decode()
            gltf.buffers.append(pygltflib.Buffer(byteLength=len(b.blob), uri=uri))
        path.write_text(gltf.gltf_to_json(), encoding="utf-8")
    else:
        gltf.buffers.append(pygltflib.Buffer(byteLength=len(b.blob)))
        gltf.set_binary_blob(bytes(b.blob))
        path.write_bytes(b"".join(gltf.save_to_bytes()))
    return path


def _add_vrm(gltf: pygltflib.GLTF2, version: int, bones: dict[str, int]) -> None:
    """VRM expressions on the first mesh (node 0): its targets are a, i, u, e, o, blink, joy."""
    if version == 0:
        groups = [{"name": p.upper(), "presetName": p, "binds": [{"mesh": 0, "index": i, "weight": 100}]}
                  for i, p in enumerate(["a", "i", "u", "e", "o", "blink", "joy"])]  # fmt: skip
        groups[0]["binds"].append({"mesh": 0, "index": 3, "weight": 50})  # "a" also half opens "e"'s target
        gltf.extensions = {"VRM": {
            "exporterVersion": "test", "specVersion": "0.0",
            "blendShapeMaster": {"blendShapeGroups": groups},
            "humanoid": {"humanBones": [{"bone": bone, "node": node} for bone, node in bones.items()]},
        }}  # fmt: skip
        gltf.extensionsUsed = ["VRM"]
    else:
        preset = {p: {"morphTargetBinds": [{"node": 0, "index": i, "weight": 1.0}]}
                  for i, p in enumerate(["aa", "ih", "ou", "ee", "oh", "blink", "happy"])}  # fmt: skip
        preset["blinkLeft"] = {"morphTargetBinds": [{"node": 0, "index": 7, "weight": 0.8}], "isBinary": True}
        preset["blinkRight"] = {"morphTargetBinds": [{"node": 0, "index": 8, "weight": 1.0}]}
        gltf.extensions = {"VRMC_vrm": {
            "specVersion": "1.0", "meta": {"name": "test", "licenseUrl": "https://vrm.dev/licenses/1.0/"},
            "humanoid": {"humanBones": {bone: {"node": node} for bone, node in bones.items()}},
            "expressions": {"preset": preset},
        }}  # fmt: skip
        gltf.extensionsUsed = ["VRMC_vrm"]


VRM_TARGETS = {0: ["Fcl_MTH_A", "Fcl_MTH_I", "Fcl_MTH_U", "Fcl_MTH_E", "Fcl_MTH_O", "Fcl_EYE_Close", "Fcl_ALL_Joy"],
               1: ["A", "I", "U", "E", "O", "Blink", "Joy", "Blink_L", "Blink_R"]}  # fmt: skip


# --- Reading the output back --------------------------------------------------------------------


@dataclass
class Written:
    gltf: pygltflib.GLTF2
    blob: bytes | None
    path: Path

    def buffer(self, index: int) -> bytes:
        uri = self.gltf.buffers[index].uri
        if uri is None:
            assert self.blob is not None
            return self.blob
        assert uri.startswith("data:"), uri  # our outputs are self-contained
        return base64.b64decode(uri.split(",", 1)[1])

    def accessor(self, index: int) -> np.ndarray:
        accessor = self.gltf.accessors[index]
        view = self.gltf.bufferViews[accessor.bufferView]
        width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[accessor.type]
        start = (view.byteOffset or 0) + (accessor.byteOffset or 0)
        data = np.frombuffer(self.buffer(view.buffer), "<f4", accessor.count * width, start)
        return data.reshape(accessor.count, width) if width > 1 else data

    def clip(self) -> pygltflib.Animation:
        (clip,) = [a for a in self.gltf.animations if a.name == ANIMATION_NAME]
        return clip

    def channel(self, node: str, path: str) -> tuple[np.ndarray, np.ndarray]:
        """The keyframe times and values of the mouthpiece animation's channel on the node named ``node``."""
        clip = self.clip()
        index = [n.name for n in self.gltf.nodes].index(node)
        (channel,) = [c for c in clip.channels if c.target.node == index and c.target.path == path]
        sampler = clip.samplers[channel.sampler]
        assert sampler.interpolation == "LINEAR"
        return self.accessor(sampler.input), self.accessor(sampler.output)

    def weights(self, node: str) -> np.ndarray:
        """[T, targets] morph weights of a node, per keyframe."""
        times, values = self.channel(node, "weights")
        return values.reshape(len(times), -1)


def read_back(path: Path) -> Written:
    data = path.read_bytes()
    if data[:4] == b"glTF":
        gltf = pygltflib.GLTF2.load_from_bytes(data)
        return Written(gltf, gltf.binary_blob(), path)
    return Written(pygltflib.GLTF2.from_json(data.decode()), None, path)


def world_rotation(gltf: pygltflib.GLTF2, node: int, local: np.ndarray | None = None) -> np.ndarray:
    """The model-frame rotation of ``node`` (its own replaced by ``local``)."""
    parents = {c: i for i, n in enumerate(gltf.nodes) for c in n.children or []}
    q = np.asarray(local if local is not None else (gltf.nodes[node].rotation or [0, 0, 0, 1]), np.float64)
    while node in parents:
        node = parents[node]
        q = quaternion_multiply(np.asarray(gltf.nodes[node].rotation or [0, 0, 0, 1]), q)
    return q


# --- Tests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, channel",
    [("jawOpen", "JawOpen"), ("JawOpen", "JawOpen"), ("jaw_open", "JawOpen"), ("blendShape1.jawOpen", "JawOpen"),
     ("ARKit_jawOpen", "JawOpen"), ("eyeBlink_L", "EyeBlinkLeft"), ("eyeBlinkLeft", "EyeBlinkLeft"),
     ("EyeBlink_Left", "EyeBlinkLeft"), ("eyeBlinkL", "EyeBlinkLeft"), ("eyeBlink.R", "EyeBlinkRight"),
     ("Mouth_Smile_R", "MouthSmileRight"), ("mouthLeft", "MouthLeft"), ("mouth_l", "MouthLeft"),
     ("cheekPuff", "CheekPuff"), ("bs_tongueOut", "TongueOut"),
     ("mouthOpen", None), ("viseme_aa", None), ("Fcl_MTH_A", None), ("", None), ("eyeBlink", None)],
)  # fmt: skip
def test_arkit_names_are_matched_in_their_common_spellings(name, channel):
    assert arkit_channel(name) == channel


def test_viseme_names_are_ready_player_mes():
    assert [viseme_name(f"viseme_{v}") for v in VISEMES] == list(VISEMES)
    assert viseme_name("VISEME_pp") == "PP" and viseme_name("viseme_x") is None and viseme_name("aa") is None


@pytest.mark.parametrize("source, output", [(".glb", ".glb"), (".gltf", ".gltf"), (".gltf", ".glb"), (".glb", ".gltf")])
@pytest.mark.parametrize("names_on", ["mesh", "primitive"])
def test_arkit_avatar_every_keyframe_is_the_animations_value(tmp_path, source, output, names_on):
    defaults = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.25]  # notAShape rests at 0.25
    avatar = build_avatar(tmp_path / f"avatar{source}", [MeshSpec("Face", ARKIT_TARGETS, names_on, defaults)])
    animation = make_animation()
    report = api.animate_onto(animation, avatar, tmp_path / f"talking{output}")
    out = read_back(tmp_path / f"talking{output}")
    times, _ = out.channel("Face", "weights")
    np.testing.assert_allclose(times, np.arange(FRAMES) / FPS, atol=1e-6)
    input_accessor = out.gltf.accessors[out.clip().samplers[0].input]
    assert input_accessor.min == [0.0] and input_accessor.max == pytest.approx([(FRAMES - 1) / FPS])
    weights = out.weights("Face")
    expected = ["JawOpen", "EyeBlinkLeft", "EyeBlinkRight", "MouthSmileLeft", "BrowInnerUp", "MouthFunnel", "TongueOut"]
    for column, channel in enumerate(expected):
        np.testing.assert_allclose(weights[:, column], animation.channel(channel), atol=1e-4)
    assert np.all(weights[:, 7] == 0.25)  # unmatched: at its default weight in every keyframe
    assert ("Face/notAShape", "no channel drives a target of this name") in report.at_rest
    assert ("Face/blendShape1.jawOpen", "JawOpen") in report.driven


def test_rpm_visemes_follow_the_viseme_weights(tmp_path):
    avatar = build_avatar(tmp_path / "rpm.glb", [MeshSpec("Wolf3D_Head", RPM_TARGETS), MeshSpec("Wolf3D_Teeth",
                          ["viseme_aa", "viseme_O"])], bones=False)  # fmt: skip
    animation = make_animation()
    report = api.animate_onto(animation, avatar, tmp_path / "talking.glb")
    out = read_back(tmp_path / "talking.glb")
    head, teeth = out.weights("Wolf3D_Head"), out.weights("Wolf3D_Teeth")
    for column, name in enumerate(RPM_TARGETS[:5]):
        np.testing.assert_allclose(head[:, column], animation.viseme_weights[:, VISEMES.index(name[7:])], atol=1e-4)
    blink = (animation.channel("EyeBlinkLeft") + animation.channel("EyeBlinkRight")) / 2
    np.testing.assert_allclose(head[:, 5], blink, atol=1e-4)  # eyesClosed
    assert np.all(head[:, 6] == 0)  # mouthOpen: no rule
    np.testing.assert_allclose(teeth[:, 1], animation.viseme_weights[:, VISEMES.index("O")], atol=1e-4)
    assert ("Wolf3D_Head/mouthOpen", "no channel drives a target of this name") in report.at_rest


def test_an_avatar_with_arkit_targets_leaves_its_visemes_at_rest(tmp_path):
    avatar = build_avatar(tmp_path / "rpm.glb", [MeshSpec("Head", ["jawOpen", "viseme_aa", "eyeBlinkLeft",
                          "eyesClosed"])], bones=False)  # fmt: skip
    animation = make_animation()
    report = api.animate_onto(animation, avatar, tmp_path / "talking.glb")
    weights = read_back(tmp_path / "talking.glb").weights("Head")
    np.testing.assert_allclose(weights[:, 0], animation.channel("JawOpen"), atol=1e-4)
    assert np.all(weights[:, [1, 3]] == 0)
    assert ("Head/viseme_aa", "the ARKit targets move the mouth") in report.at_rest


@pytest.mark.parametrize("version", [0, 1])
def test_vrm_expressions_and_head_bone(tmp_path, version):
    avatar = build_avatar(tmp_path / "avatar.vrm", [MeshSpec("Face", VRM_TARGETS[version])], vrm=version)
    animation = make_animation()
    report = api.animate_onto(animation, avatar, tmp_path / "talking.vrm")
    out = read_back(tmp_path / "talking.vrm")
    weights = out.weights("Face")
    vowel = {v: animation.viseme_weights[:, VISEMES.index(v)] for v in ("aa", "I", "U", "E", "O")}
    left, right = animation.channel("EyeBlinkLeft"), animation.channel("EyeBlinkRight")
    np.testing.assert_allclose(weights[:, 0], vowel["aa"], atol=1e-4)
    np.testing.assert_allclose(weights[:, 1], vowel["I"], atol=1e-4)
    np.testing.assert_allclose(weights[:, 2], vowel["U"], atol=1e-4)
    np.testing.assert_allclose(weights[:, 4], vowel["O"], atol=1e-4)
    assert np.all(weights[:, 6] == 0)  # joy / happy: not driven
    if version == 0:  # "e" and half of "a" on one target: they add up
        np.testing.assert_allclose(weights[:, 3], np.clip(vowel["E"] + 0.5 * vowel["aa"], 0, 1), atol=1e-4)
        np.testing.assert_allclose(weights[:, 5], (left + right) / 2, atol=1e-4)  # blink: no blink_l / blink_r
    else:  # blinkLeft (binary, bind weight 0.8) and blinkRight move the eyelids, not blink
        np.testing.assert_allclose(weights[:, 3], vowel["E"], atol=1e-4)
        assert np.all(weights[:, 5] == 0)
        np.testing.assert_allclose(weights[:, 7], 0.8 * (left > 0.5), atol=1e-4)
        np.testing.assert_allclose(weights[:, 8], right, atol=1e-4)
    assert dict(report.bones) == {"head": "J_Bip_C_Head", "leftEye": "LeftEye", "rightEye": "RightEye"}
    assert out.gltf.extensions == read_back(avatar).gltf.extensions  # the VRM extension, untouched

    # The head turns in the model's frame by the Animation's angles, whatever its bone's own axes.
    times, local = out.channel("J_Bip_C_Head", "rotation")
    head = [n.name for n in out.gltf.nodes].index("J_Bip_C_Head")
    yaw, pitch, roll = (animation.channel(c) for c in ("HeadYaw", "HeadPitch", "HeadRoll"))
    facing = -1.0 if version == 0 else 1.0
    expected = quaternion_multiply(turn(yaw, pitch, roll, facing=facing), world_rotation(out.gltf, head))
    got = world_rotation(out.gltf, head, local)
    assert np.allclose(np.abs(np.sum(expected * got, axis=1)), 1.0, atol=1e-5)  # the same rotation (q or -q)


def test_head_rotation_signs_follow_the_animation(tmp_path):
    """Positive yaw: nose to the subject's left (+X for a model facing +Z); pitch: chin up; roll: top to its right."""
    one = np.array([0.3])
    nose, top = (0.0, 0.0, 1.0), (0.0, 1.0, 0.0)
    assert rotate(turn(one, 0 * one, 0 * one, facing=1.0), nose)[0, 0] > 0.25
    assert rotate(turn(0 * one, one, 0 * one, facing=1.0), nose)[0, 1] > 0.25
    assert rotate(turn(0 * one, 0 * one, one, facing=1.0), top)[0, 0] < -0.25
    # a VRM 0.x model faces -Z: its left is -X
    assert rotate(turn(one, 0 * one, 0 * one, facing=-1.0), (0.0, 0.0, -1.0))[0, 0] < -0.25
    assert rotate(turn(0 * one, one, 0 * one, facing=-1.0), (0.0, 0.0, -1.0))[0, 1] > 0.25


def test_the_rest_of_the_file_is_kept(tmp_path):
    avatar = build_avatar(tmp_path / "avatar.gltf", [MeshSpec("Face", ARKIT_TARGETS)], buffer="file")
    before = read_back(avatar)
    out_dir = tmp_path / "elsewhere"
    out_dir.mkdir()
    api.animate_onto(make_animation(), avatar, out_dir / "talking.gltf")
    out = read_back(out_dir / "talking.gltf")
    assert os.listdir(out_dir) == ["talking.gltf"]  # self-contained: the source's .bin is embedded
    assert out.gltf.materials[0].name == "Skin"
    assert [n.name for n in out.gltf.nodes] == [n.name for n in before.gltf.nodes]
    assert [a.name for a in out.gltf.animations] == ["Idle", ANIMATION_NAME]
    idle = out.gltf.animations[0].samplers[0]
    np.testing.assert_allclose(out.accessor(idle.output), [[0, 1, 0], [0, 1.1, 0]], atol=1e-6)  # its data intact
    before.gltf.buffers[0].uri = None  # read the source's accessors from its .bin
    source = Written(before.gltf, (tmp_path / "avatar.bin").read_bytes(), avatar)
    for i in range(len(before.gltf.accessors)):
        np.testing.assert_array_equal(out.accessor(i), source.accessor(i))


def test_an_avatar_is_reusable_and_left_unchanged(tmp_path):
    avatar = load_avatar(build_avatar(tmp_path / "avatar.glb", [MeshSpec("Face", ARKIT_TARGETS)]))
    counts = len(avatar.document.gltf.accessors), len(avatar.document.gltf.animations)
    api.animate_onto(make_animation(seed=1), avatar, tmp_path / "one.glb")
    api.animate_onto(make_animation(seed=2), avatar, tmp_path / "two.glb")
    assert (len(avatar.document.gltf.accessors), len(avatar.document.gltf.animations)) == counts
    assert len(read_back(tmp_path / "two.glb").gltf.animations) == 2


def _bad_avatars(tmp_path: Path) -> dict[str, tuple[Path, str, str]]:
    """case -> (avatar, output name, what the sentence says)"""
    text = tmp_path / "notes.glb"
    text.write_text("hello, I am not a model\n")
    json_list = tmp_path / "list.gltf"
    json_list.write_text("[1, 2, 3]")
    cut = tmp_path / "cut.glb"
    cut.write_bytes(build_avatar(tmp_path / "whole.glb", [MeshSpec("Face", ARKIT_TARGETS)]).read_bytes()[:100])
    glb = build_avatar(tmp_path / "plain.glb", [MeshSpec("Face", ARKIT_TARGETS)])
    missing_bin = build_avatar(tmp_path / "lost.gltf", [MeshSpec("Face", ARKIT_TARGETS)], buffer="file")
    (tmp_path / "lost.bin").unlink()
    return {
        "not glTF": (text, "out.glb", "is not a glTF 2.0 file"),
        "JSON, not glTF": (json_list, "out.glb", "is not a glTF 2.0 file"),
        "cut short": (cut, "out.glb", "is not a glTF 2.0 file"),
        "missing": (tmp_path / "none.glb", "out.glb", "none.glb"),
        "no morph targets": (build_avatar(tmp_path / "statue.glb", [MeshSpec("Face", [])]), "out.glb", "no morph"),
        "no usable target": (build_avatar(tmp_path / "odd.glb", [MeshSpec("Face", ["Smile2", "Frown"])]), "out.glb",
                             "no morph target named"),
        "unnamed targets": (build_avatar(tmp_path / "anon.glb", [MeshSpec("Face", ["a", "b"], "none")]), "out.glb",
                            "no morph target named"),
        "missing .bin": (missing_bin, "out.glb", "lost.bin"),
        "not VRM as .vrm": (glb, "out.vrm", "it is not a VRM model"),
        "not a model extension": (glb, "out.fbx", "name it .glb, .gltf or .vrm"),
    }  # fmt: skip


@pytest.mark.parametrize("case", ["not glTF", "JSON, not glTF", "cut short", "missing", "no morph targets",
                                  "no usable target", "unnamed targets", "missing .bin", "not VRM as .vrm",
                                  "not a model extension"])  # fmt: skip
def test_bad_avatars_get_one_sentence_and_no_output(tmp_path, case):
    avatar, output, says = _bad_avatars(tmp_path)[case]
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputError) as caught:
        api.animate_onto(make_animation(), avatar, out / output)
    message = str(caught.value)
    assert says in message and message.count(". ") == 0 and message.endswith(".")
    assert avatar.name in message or case == "not a model extension"
    assert os.listdir(out) == []


def test_say_onto_an_avatar_end_to_end(tmp_path, capsys):
    avatar = build_avatar(tmp_path / "avatar.glb", [MeshSpec("Face", ARKIT_TARGETS)])
    out = tmp_path / "talking.glb"
    assert main(["say", "Bob bought a map.", "--onto", str(avatar), "-o", str(out), "--fps", "30"]) == 0
    err = capsys.readouterr().err
    assert "JawOpen -> Face/blendShape1.jawOpen" in err and "at rest" in err and "talking.wav" in err
    assert (tmp_path / "talking.wav").exists()
    written = read_back(out)
    times, _ = written.channel("Face", "weights")
    jaw = written.weights("Face")[:, 0]
    assert 0.8 < times[-1] < 3.0 and jaw.max() > 0.2 and jaw.min() < 0.05  # the mouth opens and closes
    assert written.channel("J_Bip_C_Head", "rotation")[1].shape == (len(times), 4)  # idle head motion

    assert main(["say", "Hi.", "--onto", str(avatar), "-o", str(tmp_path / "x.vrm")]) == 1
    assert main(["say", "Hi.", "--onto", str(avatar), "-o", str(tmp_path / "x.wav")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "not a VRM model" in err[0] and "name it .glb, .gltf or .vrm" in err[1]
    assert not (tmp_path / "x.vrm").exists() and not (tmp_path / "x.wav").exists()


def test_animate_onto_refuses_what_it_cannot_do_before_any_work(tmp_path, spoken, capsys):
    avatar = build_avatar(tmp_path / "avatar.glb", [MeshSpec("Face", ARKIT_TARGETS)])
    wav = str(spoken.wav)
    cases = [
        (["animate", wav, "--onto", str(avatar)], "-o"),
        (["animate", wav, "--onto", str(avatar), "-o", str(tmp_path / "x.tsv")], "name it .glb, .gltf or .vrm"),
        (["animate", wav, "--onto", str(avatar), "-o", str(tmp_path / "x.glb"), "-f", "tsv"], "-f"),
        (["animate", wav, wav, "--onto", str(avatar), "-o", str(tmp_path)], "one"),
        (["animate", wav, "--onto", str(tmp_path / "none.glb"), "-o", str(tmp_path / "x.glb")], "none.glb"),
    ]
    for args, says in cases:
        assert main(args) == 1, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0], err
    assert not (tmp_path / "x.glb").exists() and not (tmp_path / "x.tsv").exists()


def glb_json(path: Path) -> dict:
    """The JSON of a GLB file as written (pygltflib's objects lack some properties, e.g. node.weights)."""
    data = path.read_bytes()
    (length,) = struct.unpack_from("<I", data, 12)
    return json.loads(data[20 : 20 + length])


def test_properties_pygltflib_lacks_survive_and_a_matrix_bone_is_turned(tmp_path):
    avatar = build_avatar(tmp_path / "avatar.gltf", [MeshSpec("Face", ARKIT_TARGETS)])
    raw = json.loads(avatar.read_text())
    raw["nodes"][0]["weights"] = [0.1] * len(ARKIT_TARGETS)  # the node's own defaults, over its mesh's
    raw["materials"][0]["extensions"] = {"KHR_materials_emissive_strength": {"emissiveStrength": 2.0}}
    raw["extensionsUsed"] = ["KHR_materials_emissive_strength"]
    head = [n.get("name") for n in raw["nodes"]].index("J_Bip_C_Head")
    x, y, z, w = raw["nodes"][head].pop("rotation")
    rotation = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                         [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                         [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])  # fmt: skip
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = rotation, [0.0, 0.2, 0.0]
    raw["nodes"][head]["matrix"] = matrix.T.reshape(-1).tolist()  # column-major
    raw["nodes"][head]["extras"] = {"note": "keep me"}
    avatar.write_text(json.dumps(raw))

    animation = make_animation()
    api.animate_onto(animation, avatar, tmp_path / "talking.glb")
    written = glb_json(tmp_path / "talking.glb")
    assert written["nodes"][0]["weights"] == [0.1] * len(ARKIT_TARGETS)
    assert written["materials"][0]["extensions"] == raw["materials"][0]["extensions"]
    node = written["nodes"][head]
    assert "matrix" not in node and node["extras"] == {"note": "keep me"}  # glTF animates TRS nodes only
    np.testing.assert_allclose(node["translation"], [0.0, 0.2, 0.0], atol=1e-6)
    np.testing.assert_allclose(np.abs(np.dot(node["rotation"], [x, y, z, w])), 1.0, atol=1e-6)
    out = read_back(tmp_path / "talking.glb")
    np.testing.assert_allclose(out.weights("Face")[:, 7], 0.1, atol=1e-6)  # notAShape: the node's default
    _, local = out.channel("J_Bip_C_Head", "rotation")
    yaw, pitch, roll = (animation.channel(c) for c in ("HeadYaw", "HeadPitch", "HeadRoll"))
    out.gltf.nodes[head].rotation = node["rotation"]
    expected = quaternion_multiply(turn(yaw, pitch, roll, facing=1.0), world_rotation(out.gltf, head))
    assert np.allclose(np.abs(np.sum(expected * world_rotation(out.gltf, head, local), axis=1)), 1.0, atol=1e-5)
    assert validate([tmp_path / "talking.glb"])[0]["errors"] == 0


def validate(paths: list[Path]) -> list[dict]:
    """The Khronos validator's report on each file: errors, warnings, infos, messages."""
    if shutil.which("node") is None:
        pytest.skip("node (Debian's nodejs) is not installed: the Khronos glTF validator needs it")
    if not (VALIDATOR / "node_modules" / "gltf-validator").is_dir():
        pytest.fail(f"The glTF validator is not installed: run `npm ci --prefix {VALIDATOR}` (make install does).")
    result = subprocess.run(["node", str(VALIDATOR / "validate.js"), *map(str, paths)], capture_output=True, text=True)
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(reports) == len(paths), result.stderr
    return reports


def test_the_khronos_validator_finds_no_errors(tmp_path):
    animation = make_animation()
    written = []
    avatars = {
        "arkit": ([MeshSpec("Face", ARKIT_TARGETS, weights=[0.0] * 7 + [0.25])], None),
        "rpm": ([MeshSpec("Wolf3D_Head", RPM_TARGETS), MeshSpec("Wolf3D_Teeth", ["viseme_aa"])], None),
        "vrm0": ([MeshSpec("Face", VRM_TARGETS[0])], 0),
        "vrm1": ([MeshSpec("Face", VRM_TARGETS[1])], 1),
    }
    for name, (meshes, vrm) in avatars.items():
        for source, output in ((".glb", ".glb"), (".gltf", ".gltf"), (".gltf", ".glb")):
            source_path = build_avatar(tmp_path / f"{name}-in{source}", meshes, vrm=vrm, buffer="file")
            out = tmp_path / f"{name}-{source[1:]}-out{'.vrm' if vrm is not None and output == '.glb' else output}"
            api.animate_onto(animation, source_path, out)
            written.append(out)
    for report in validate(written):
        assert report["errors"] == 0, report


def test_glb_chunks_are_aligned(tmp_path):
    avatar = build_avatar(tmp_path / "avatar.glb", [MeshSpec("Face", ARKIT_TARGETS)])
    api.animate_onto(make_animation(), avatar, tmp_path / "talking.glb")
    data = (tmp_path / "talking.glb").read_bytes()
    magic, version, length = struct.unpack_from("<4sII", data)
    json_length, _ = struct.unpack_from("<II", data, 12)
    bin_length, bin_type = struct.unpack_from("<II", data, 20 + json_length)
    assert (magic, version, length) == (b"glTF", 2, len(data))
    assert json_length % 4 == 0 and bin_length % 4 == 0 and bin_type == 0x004E4942
    views = read_back(tmp_path / "talking.glb").gltf.bufferViews
    assert all((v.byteOffset or 0) % 4 == 0 for v in views)


def test_the_avatar_package_declares_its_api():
    import mouthpiece.avatar as avatar

    assert set(avatar.__all__) == {"ANIMATION_NAME", "EXTENSIONS", "Avatar", "AvatarReport", "animate_onto",
                                   "check_output", "load_avatar"}  # fmt: skip
    assert all(hasattr(avatar, name) for name in avatar.__all__)
