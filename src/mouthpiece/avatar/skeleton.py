"""Turning an avatar's head and eyes: which nodes are those bones, and their rotation per frame.

Bones. A VRM avatar names them in its humanoid mapping (:mod:`.vrm`). Otherwise a
node without a mesh whose name, after a namespace (``mixamorig:``), ends in a
word ``head`` (``Head``, ``J_Bip_C_Head``, ``Bip01 Head``; not ``HeadTop_End``) is the
head; ``neck`` likewise, used for the head's turn only when there is no head; an
eye is ``LeftEye``, ``Eye_L``, ``eye.L``, ``Bip01 L Eye`` and the like. Among several
candidates, a skin's joint is preferred, then the first in the file. Mesh nodes are
never bones (Ready Player Me's eye meshes are ``EyeLeft``; its bones ``LeftEye``).

Signs. The Animation's angles follow :mod:`mouthpiece.motion.idle`: positive yaw
turns the head (or an eye) to the subject's own left, positive pitch lifts the chin
(looks up), positive roll tilts the top of the head to the subject's right. In
glTF's frame (Y up, the model facing +Z, so its left is +X) that is a rotation of
``yaw`` about +Y, of ``-pitch`` about +X and of ``roll`` about +Z, applied pitch
first, then yaw, then roll (as :func:`mouthpiece.face.rig.head_rotation`). A model that
faces -Z (a VRM 0.x one, or others: :mod:`.facing`) has -X and -Z for its left and forward
axes, and so for the pitch and roll axes.

The turn is made in the model's frame and carried into the bone's own: a bone's new
local rotation is ``P^-1 * turn * P * rest``, where ``P`` is the rotation of its
parents at rest, so bones with any local axes (Mixamo's, VRM's, Blender's) turn
the same way. Eye angles are relative to the head, and the eyes are the head's
children, so they turn with it. Quaternions are glTF's ``(x, y, z, w)``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pygltflib

BONE_NAMES = {
    "head": re.compile(r"(^|[^a-z])head$"),
    "neck": re.compile(r"(^|[^a-z])neck$"),
    "leftEye": re.compile(r"(^|[^a-z])(left|l)[^a-z]?eye$|(^|[^a-z])eye[^a-z]?(left|l)$"),
    "rightEye": re.compile(r"(^|[^a-z])(right|r)[^a-z]?eye$|(^|[^a-z])eye[^a-z]?(right|r)$"),
}
IDENTITY = np.array([0.0, 0.0, 0.0, 1.0])


def find_bones(gltf: pygltflib.GLTF2, declared: dict[str, int]) -> dict[str, int]:
    """The head, neck and eye bones: ``declared`` (a VRM's humanoid mapping), else found by name.

    Returns
    -------
    dict : ``"head"``, ``"neck"``, ``"leftEye"``, ``"rightEye"`` -> node index, for those found
    """
    joints = {j for skin in gltf.skins for j in skin.joints or []}
    bones = dict(declared)
    for bone, pattern in BONE_NAMES.items():
        if bone in bones:
            continue
        found = [i for i, node in enumerate(gltf.nodes)
                 if node.mesh is None and pattern.search(re.split(r"[:|]", node.name or "")[-1].lower())]  # fmt: skip
        if found:
            bones[bone] = min(found, key=lambda i: (i not in joints, i))
    return bones


def quaternion_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The rotation ``b`` then ``a``; quaternions ``(x, y, z, w)`` [shape=(..., 4)], broadcast."""
    ax, ay, az, aw = np.moveaxis(np.asarray(a, np.float64), -1, 0)
    bx, by, bz, bw = np.moveaxis(np.asarray(b, np.float64), -1, 0)
    return np.stack([
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ], axis=-1)  # fmt: skip


def conjugate(q: np.ndarray) -> np.ndarray:
    return np.asarray(q, np.float64) * np.array([-1.0, -1.0, -1.0, 1.0])


def axis_angle(axis: tuple[float, float, float], angle: np.ndarray) -> np.ndarray:
    """Rotations by ``angle`` [shape=(T,)] radians about the unit ``axis``; [shape=(T, 4)].

    >>> np.round(axis_angle((0.0, 1.0, 0.0), np.array([np.pi])), 6).tolist()
    [[0.0, 1.0, 0.0, 0.0]]
    """
    half = np.asarray(angle, np.float64)[:, None] / 2
    return np.concatenate([np.sin(half) * np.asarray(axis, np.float64), np.cos(half)], axis=1)


def rotate(q: np.ndarray, vector: tuple[float, float, float]) -> np.ndarray:
    """``vector`` turned by the rotations ``q`` [shape=(T, 4)]; [shape=(T, 3)]."""
    v = np.concatenate([np.asarray(vector, np.float64), [0.0]])
    return quaternion_multiply(quaternion_multiply(q, v), conjugate(q))[..., :3]


def turn(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray, *, facing: float) -> np.ndarray:
    """The model-frame rotations [shape=(T, 4)] for the Animation's angles (radians; see the module's signs).

    ``facing`` is +1 for a model that faces +Z, -1 for one that faces -Z.

    >>> np.round(rotate(turn(np.array([0.3]), np.zeros(1), np.zeros(1), facing=1.0), (0, 0, 1)), 3)
    array([[0.296, 0.   , 0.955]])
    """
    left, up, forward = (facing, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, facing)
    tip = axis_angle(left, -np.asarray(pitch))
    return quaternion_multiply(axis_angle(forward, roll), quaternion_multiply(axis_angle(up, yaw), tip))


def rest_rotation(node: pygltflib.Node) -> np.ndarray:
    """A node's rotation at rest: its ``rotation``, or that of its ``matrix``."""
    if node.matrix:
        return decompose(node.matrix)[1]
    return np.asarray(node.rotation, np.float64) if node.rotation else IDENTITY.copy()


def parent_rotation(gltf: pygltflib.GLTF2, index: int) -> np.ndarray:
    """The rotation of node ``index``'s parents at rest, root first (scales ignored)."""
    parents = {child: i for i, node in enumerate(gltf.nodes) for child in node.children or []}
    rotation, node = IDENTITY.copy(), index
    seen = {index}
    while node in parents and parents[node] not in seen:  # a cycle is invalid glTF; do not hang on one
        node = parents[node]
        seen.add(node)
        rotation = quaternion_multiply(rest_rotation(gltf.nodes[node]), rotation)
    return rotation


def decompose(matrix: list[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A column-major 4x4 ``matrix`` as (translation [3], rotation ``(x, y, z, w)``, scale [3])."""
    m = np.asarray(matrix, np.float64).reshape(4, 4).T
    scale = np.linalg.norm(m[:3, :3], axis=0)
    scale[scale == 0] = 1.0
    if np.linalg.det(m[:3, :3]) < 0:
        scale[0] = -scale[0]
    r = m[:3, :3] / scale
    w = np.sqrt(max(0.0, 1.0 + r[0, 0] + r[1, 1] + r[2, 2])) / 2
    x = np.copysign(np.sqrt(max(0.0, 1.0 + r[0, 0] - r[1, 1] - r[2, 2])) / 2, r[2, 1] - r[1, 2])
    y = np.copysign(np.sqrt(max(0.0, 1.0 - r[0, 0] + r[1, 1] - r[2, 2])) / 2, r[0, 2] - r[2, 0])
    z = np.copysign(np.sqrt(max(0.0, 1.0 - r[0, 0] - r[1, 1] + r[2, 2])) / 2, r[1, 0] - r[0, 1])
    q = np.array([x, y, z, w])
    return m[:3, 3].copy(), q / np.linalg.norm(q), scale


def make_animatable(node: dict[str, Any]) -> None:
    """Replace a node's ``matrix`` (in the file's JSON) by translation, rotation and scale: glTF animates only those."""
    if not node.get("matrix"):
        return
    translation, rotation, scale = decompose(node.pop("matrix"))
    node["translation"] = [float(v) for v in translation]
    node["rotation"] = [float(v) for v in rotation]
    node["scale"] = [float(v) for v in scale]


def bone_rotations(gltf: pygltflib.GLTF2, index: int, model_turn: np.ndarray) -> np.ndarray:
    """Node ``index``'s local rotations [shape=(T, 4), float32, unit] that turn it by ``model_turn``
    (model-frame rotations [shape=(T, 4)]) from its rest pose."""
    parents = parent_rotation(gltf, index)
    local = quaternion_multiply(conjugate(parents), quaternion_multiply(model_turn, parents))
    q = quaternion_multiply(local, rest_rotation(gltf.nodes[index]))
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)
