"""What a VRM avatar declares: its expressions' morph-target binds and its humanoid bones.

VRM 0.x keeps them in ``extensions.VRM``: ``blendShapeMaster.blendShapeGroups[]``
(``presetName``, ``binds[]`` of mesh index, morph target index and weight 0-100,
``isBinary``) and ``humanoid.humanBones[]`` (``bone``, ``node``). VRM 1.0 keeps them
in ``extensions.VRMC_vrm``: ``expressions.preset.<name>`` (``morphTargetBinds[]`` of
node index, morph target index and weight 0-1, ``isBinary``) and
``humanoid.humanBones.<bone>.node``. Both are read into one form with VRM 1.0's
names (:func:`~.targets.vrm_expression`); binds that point nowhere are skipped, as a
VRM runtime would. A VRM 0.x model faces -Z, a VRM 1.0 model (and glTF) +Z (:mod:`.facing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pygltflib

from .targets import vrm_expression

BONES = ("head", "neck", "leftEye", "rightEye")  # the humanoid bones we turn


@dataclass(frozen=True)
class Bind:
    """One morph target an expression moves.

    nodes : tuple of int, the nodes whose ``weights`` it sets (VRM 0.x: every node with the bound mesh)
    index : int, the morph target
    weight : float in [0, 1], its weight when the expression is fully on
    """

    nodes: tuple[int, ...]
    index: int
    weight: float


@dataclass(frozen=True)
class Expression:
    """A preset expression: ``name`` (VRM 1.0's), its binds, whether it snaps to 0 or 1, and
    ``preset``, its name in the file (VRM 0.x's ``joy`` is ``happy``)."""

    name: str
    binds: tuple[Bind, ...]
    binary: bool = False
    preset: str = ""


@dataclass(frozen=True)
class VrmInfo:
    """version : 0, 1, or None (not VRM); expressions; bones : humanoid bone -> node index."""

    version: int | None
    expressions: tuple[Expression, ...] = ()
    bones: tuple[tuple[str, int], ...] = ()


def read_vrm(gltf: pygltflib.GLTF2) -> VrmInfo:
    """The VRM declarations of a glTF document (``VrmInfo(None)`` when it has none)."""
    extensions = gltf.extensions or {}
    if isinstance(extensions.get("VRMC_vrm"), dict):
        return _read_vrm1(gltf, extensions["VRMC_vrm"])
    if isinstance(extensions.get("VRM"), dict):
        return _read_vrm0(gltf, extensions["VRM"])
    return VrmInfo(None)


def _read_vrm0(gltf: pygltflib.GLTF2, vrm: dict[str, Any]) -> VrmInfo:
    groups = _get(vrm, "blendShapeMaster", "blendShapeGroups", default=[])
    expressions = []
    for group in groups if isinstance(groups, list) else []:
        if not isinstance(group, dict) or not isinstance(group.get("presetName"), str):
            continue
        binds = []
        for bind in [b for b in group.get("binds") or [] if isinstance(b, dict)]:
            mesh: Any = bind.get("mesh")
            nodes = tuple(i for i, node in enumerate(gltf.nodes) if node.mesh == mesh and mesh is not None)
            binds += _bind(gltf, nodes, bind, scale=100.0)
        name = vrm_expression(group["presetName"], version=0)
        expressions.append(Expression(name, tuple(binds), bool(group.get("isBinary")), group["presetName"]))
    humans = _get(vrm, "humanoid", "humanBones", default=[])
    bones = [(h["bone"], h["node"]) for h in humans if isinstance(h, dict) and h.get("bone") in BONES
             and _node_index(gltf, h.get("node"))] if isinstance(humans, list) else []  # fmt: skip
    return VrmInfo(0, tuple(expressions), tuple(bones))


def _read_vrm1(gltf: pygltflib.GLTF2, vrm: dict[str, Any]) -> VrmInfo:
    presets = _get(vrm, "expressions", "preset", default={})
    expressions = []
    for name, expression in presets.items() if isinstance(presets, dict) else ():
        if not isinstance(expression, dict):
            continue
        binds = []
        for bind in [b for b in expression.get("morphTargetBinds") or [] if isinstance(b, dict)]:
            node: Any = bind.get("node")
            binds += _bind(gltf, (node,) if _node_index(gltf, node) else (), bind, scale=1.0)
        expressions.append(Expression(name, tuple(binds), bool(expression.get("isBinary")), name))
    humans = _get(vrm, "humanoid", "humanBones", default={})
    bones = [(bone, humans[bone]["node"]) for bone in BONES if isinstance(humans, dict)
             and isinstance(humans.get(bone), dict) and _node_index(gltf, humans[bone].get("node"))]  # fmt: skip
    return VrmInfo(1, tuple(expressions), tuple(bones))


def _bind(gltf: pygltflib.GLTF2, nodes: tuple[int, ...], bind: dict[str, Any], *, scale: float) -> list[Bind]:
    """``bind`` (its ``index`` and ``weight``, 0-``scale``) on ``nodes`` as a Bind, or none when it points nowhere."""
    index: Any = bind.get("index")
    weight: Any = bind.get("weight")
    if nodes and _morph_index(gltf, nodes[0], index) and _number(weight):
        return [Bind(nodes, index, min(max(float(weight) / scale, 0.0), 1.0))]
    return []


def _get(data: dict[str, Any], *keys: str, default: Any) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _node_index(gltf: pygltflib.GLTF2, node: Any) -> bool:
    return isinstance(node, int) and not isinstance(node, bool) and 0 <= node < len(gltf.nodes)


def _morph_index(gltf: pygltflib.GLTF2, node: int, index: Any) -> bool:
    """Whether ``index`` is one of the morph targets of the mesh of ``node``."""
    mesh = gltf.nodes[node].mesh
    if mesh is None or not (0 <= mesh < len(gltf.meshes)) or not isinstance(index, int):
        return False
    primitives = gltf.meshes[mesh].primitives
    return bool(primitives) and 0 <= index < len(primitives[0].targets or [])
