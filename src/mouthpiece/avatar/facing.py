"""Which way an avatar faces, +Z or -Z, so its head and eyes turn the right way.

glTF says a model faces +Z, and VRM 1.0 keeps to it; VRM 0.x models face -Z, and so
do many models converted from other tools. Turned as if it faced +Z, a model that
faces -Z would look right when told to look left, and nod down for up. The first
of these that tells decides (Y is up in every case, as glTF says):

1. A VRM model's version: 0.x faces -Z, 1.0 faces +Z (the VRM specifications).
2. The eye bones: the subject's left eye lies on its left, +X for a model facing +Z.
3. The eyes against the head (or neck) bone: the eyes are in front of it.
4. The mouth: the vertices the mouth's morph targets move lie in front of the rest
   of the mesh at the mouth's height (a head, a neck, the back of a skull).
5. Otherwise glTF's +Z.

Positions are compared in the model's frame at rest: a node's through its parents'
transforms, a mesh's vertices through its node's (a skinned mesh's as they are:
its vertices are already where its bones hold them at rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .gltf_io import GltfDocument

SIDE_MARGIN = 1e-4  # metres: eyes closer than this in X tell nothing about the side
FRONT_SHARE = 0.25  # the eyes are in front of the head when Z is at least this share of their offset
MOUTH_SHARE = 0.1  # the mouth is in front when its Z leads by this share of the mesh's depth there
MOVED_SHARE = 0.2  # a vertex is the mouth's when a mouth target moves it by this share of the most


@dataclass(frozen=True)
class Facing:
    """sign : +1.0 (the model faces +Z) or -1.0 (-Z); reason : how that was found, for the report."""

    sign: float
    reason: str

    @property
    def axis(self) -> str:
        return "+Z" if self.sign > 0 else "-Z"


def find_facing(
    document: GltfDocument, *, vrm_version: int | None, bones: dict[str, int], mouth_targets: list[tuple[int, int]]
) -> Facing:
    """Which way the avatar faces (see the module).

    Parameters
    ----------
    document : the avatar's glTF
    vrm_version : 0, 1 or None (not VRM)
    bones : ``"head"``, ``"neck"``, ``"leftEye"``, ``"rightEye"`` -> node index, those found
    mouth_targets : (node, morph target index) of the targets that move the mouth
    """
    if vrm_version == 0:
        return Facing(-1.0, "a VRM 0.x model")
    if vrm_version == 1:
        return Facing(1.0, "a VRM 1.0 model")
    places = node_positions(document.raw)
    if "leftEye" in bones and "rightEye" in bones:
        across = places[bones["leftEye"]][0] - places[bones["rightEye"]][0]
        if abs(across) > SIDE_MARGIN:
            return Facing(float(np.sign(across)), f"its left eye bone is at {'+X' if across > 0 else '-X'}")
    pivot = bones.get("head", bones.get("neck"))
    eyes = [places[bones[e]] for e in ("leftEye", "rightEye") if e in bones]
    if pivot is not None and eyes:
        offset = np.mean(eyes, axis=0) - places[pivot]
        if abs(offset[2]) >= FRONT_SHARE * np.linalg.norm(offset) > 0:
            return Facing(float(np.sign(offset[2])), "its eye bones are on that side of its head bone")
    lead = _mouth_lead(document, mouth_targets)
    if lead is not None:
        return Facing(float(np.sign(lead)), "the vertices its mouth targets move are on that side of its head")
    return Facing(1.0, "glTF's convention")


def node_positions(raw: dict[str, Any]) -> dict[int, np.ndarray]:
    """Each node's origin in the model's frame at rest [shape=(3,)]."""
    return {i: matrix[:3, 3] for i, matrix in world_matrices(raw).items()}


def world_matrices(raw: dict[str, Any]) -> dict[int, np.ndarray]:
    """Each node's transform to the model's frame at rest [shape=(4, 4)]."""
    nodes = raw.get("nodes", [])
    parents: dict[int, int] = {}
    for i, node in enumerate(nodes):
        for child in node.get("children", []) if isinstance(node, dict) else []:
            if isinstance(child, int):
                parents.setdefault(child, i)
    found: dict[int, np.ndarray] = {}

    def world(index: int) -> np.ndarray:
        chain, node = [], index
        while node not in found and node not in chain:  # a cycle is invalid glTF; do not hang on one
            chain.append(node)
            if node not in parents:
                break
            node = parents[node]
        matrix = found.get(node, np.eye(4)) if node not in chain else np.eye(4)
        for link in reversed(chain):
            matrix = matrix @ _local_matrix(nodes[link])
            found[link] = matrix
        return found[index]

    return {i: world(i) for i in range(len(nodes))}


def _local_matrix(node: Any) -> np.ndarray:
    if not isinstance(node, dict):
        return np.eye(4)
    if isinstance(node.get("matrix"), list) and len(node["matrix"]) == 16:
        return np.asarray(node["matrix"], np.float64).reshape(4, 4).T
    x, y, z, w = node.get("rotation") or (0.0, 0.0, 0.0, 1.0)
    rotation = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])  # fmt: skip
    matrix = np.eye(4)
    matrix[:3, :3] = rotation * np.asarray(node.get("scale") or (1.0, 1.0, 1.0), np.float64)
    matrix[:3, 3] = node.get("translation") or (0.0, 0.0, 0.0)
    return matrix


def _mouth_lead(document: GltfDocument, mouth_targets: list[tuple[int, int]]) -> float | None:
    """How far the mouth lies in front (+Z) of the rest of its mesh at its height; None when unknown."""
    by_node: dict[int, list[int]] = {}
    for node, index in mouth_targets:
        by_node.setdefault(node, []).append(index)
    leads = []
    for node, indices in by_node.items():
        vertices, moved = _vertices_and_moves(document, node, indices)
        if vertices is None or moved is None or not np.any(moved > 0):
            continue
        mouth = moved > MOVED_SHARE * moved.max()
        low, high = vertices[mouth, 1].min(), vertices[mouth, 1].max()
        band = (vertices[:, 1] >= low) & (vertices[:, 1] <= high) & ~mouth
        if not np.any(band):
            continue
        depth = np.ptp(vertices[mouth | band, 2])
        lead = vertices[mouth, 2].mean() - vertices[band, 2].mean()
        if depth > 0 and abs(lead) > MOUTH_SHARE * depth:
            leads.append(lead)
    return float(np.sum(leads)) if leads else None


def _vertices_and_moves(
    document: GltfDocument, node_index: int, targets: list[int]
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The node's vertices in the model's frame [shape=(V, 3)] and how far its ``targets`` move each."""
    raw = document.raw
    node = raw["nodes"][node_index]
    mesh = raw["meshes"][node["mesh"]]
    vertices, moved = [], []
    for primitive in mesh.get("primitives", []):
        positions = document.read_floats(primitive.get("attributes", {}).get("POSITION"))
        if positions is None or positions.shape[1] != 3:
            return None, None
        total = np.zeros(len(positions))
        for index in targets:
            shifts = primitive.get("targets", [])
            shift = document.read_floats(shifts[index].get("POSITION")) if index < len(shifts) else None
            if shift is not None and shift.shape == positions.shape:
                total += np.linalg.norm(shift, axis=1)
        vertices.append(positions)
        moved.append(total)
    if not vertices:
        return None, None
    points = np.concatenate(vertices)
    if "skin" not in node:
        matrix = world_matrices(raw)[node_index]
        points = points @ matrix[:3, :3].T + matrix[:3, 3]
    return points, np.concatenate(moved)
