"""A :class:`~.mesh.HeadMesh` as a glTF 2.0 document, written as ``.glb`` or ``.gltf``.

The scene is one node ``Head`` (the rig's pivot on the neck, at the origin) whose child
``Face`` shows one mesh: a primitive per part, each with the 52 ARKit morph targets
named in ``mesh.extras.targetNames`` (``jawOpen``, ``eyeBlinkLeft``, ...; the names
:mod:`mouthpiece.avatar` and most viewers and engines look for). The textured parts
share a material with the photo as an embedded JPEG, the others one coloured per
vertex; both unlit (``KHR_materials_unlit``: the photo already has its light) and
double-sided. Animation goes on through :mod:`mouthpiece.avatar`, as onto any avatar:
the morph weights of ``Face`` and the rotation of ``Head``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import __version__
from ..avatar.animate_onto import AvatarReport, animate_onto
from ..avatar.gltf_io import ALIGNMENT, FLOAT, GltfDocument, new_document, write_gltf
from ..avatar.rig import plan_avatar
from ..errors import InputError
from ..types import Animation
from .mesh import HeadMesh, Part, head_animation

EXTENSIONS = (".glb", ".gltf")
UNSIGNED_SHORT, UNSIGNED_INT = 5123, 5125
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
LINEAR, LINEAR_MIPMAP_LINEAR, CLAMP_TO_EDGE = 9729, 9987, 33071
UNLIT = "KHR_materials_unlit"


def target_name(channel: str) -> str:
    """An ARKit channel's morph target name, as ARKit spells it in avatars.

    >>> target_name("JawOpen"), target_name("EyeBlinkLeft")
    ('jawOpen', 'eyeBlinkLeft')
    """
    return channel[0].lower() + channel[1:]


def check_output(path: str | os.PathLike[str]) -> None:
    """InputError unless ``path`` names a ``.glb`` or ``.gltf`` file."""
    name = os.fspath(path)
    if os.path.splitext(name)[1].lower() not in EXTENSIONS:
        raise InputError(f"Cannot write the head to '{name}': name it .glb or .gltf.")


def write_head(
    head: HeadMesh, path: str | os.PathLike[str], *, animation: Animation | None = None
) -> AvatarReport | None:
    """Write ``head`` to ``path`` (``.glb``, or ``.gltf`` with its data embedded), atomically;
    with ``animation`` as the glTF animation ``"mouthpiece"`` (MouthClose capped at JawOpen,
    :func:`~.mesh.head_animation`) and the report of what it moves."""
    check_output(path)
    document = head_document(head)
    if animation is None:
        write_gltf(document, path)
        return None
    return animate_onto(head_animation(animation), plan_avatar(document), path)


def head_document(head: HeadMesh) -> GltfDocument:
    """The glTF document of ``head`` (see the module)."""
    data = _Buffer()
    image = data.view(head.texture)
    primitives = [_primitive(part, data) for part in head.parts]
    raw: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": f"mouthpiece {__version__}"},
        "extensionsUsed": [UNLIT],
        "scene": 0,
        "scenes": [{"name": "Head", "nodes": [0]}],
        "nodes": [{"name": "Head", "children": [1]}, {"name": "Face", "mesh": 0}],
        "meshes": [{
            "name": "Face", "primitives": primitives, "weights": [0.0] * len(head.channels),
            "extras": {"targetNames": [target_name(c) for c in head.channels]},
        }],
        "materials": [
            _material("Photo", {"baseColorTexture": {"index": 0}}),
            _material("Mouth", {"baseColorFactor": [1.0, 1.0, 1.0, 1.0]}),
        ],
        "textures": [{"sampler": 0, "source": 0}],
        "samplers": [{"magFilter": LINEAR, "minFilter": LINEAR_MIPMAP_LINEAR, "wrapS": CLAMP_TO_EDGE,
                      "wrapT": CLAMP_TO_EDGE}],
        "images": [{"name": "photo", "bufferView": image, "mimeType": "image/jpeg"}],
        "bufferViews": data.views,
        "accessors": data.accessors,
        "buffers": [{"byteLength": len(data.blob)}],
    }  # fmt: skip
    return new_document(raw, bytes(data.blob), source=head.source)


def _material(name: str, colour: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "pbrMetallicRoughness": {**colour, "metallicFactor": 0.0, "roughnessFactor": 1.0},
            "doubleSided": True, "extensions": {UNLIT: {}}}  # fmt: skip


def _primitive(part: Part, data: _Buffer) -> dict[str, Any]:
    attributes = {"POSITION": data.accessor(part.positions, "VEC3", bounds=True)}
    if part.texcoords is not None:
        attributes["TEXCOORD_0"] = data.accessor(part.texcoords, "VEC2")
    if part.colours is not None:
        attributes["COLOR_0"] = data.accessor(_linear(part.colours), "VEC3")
    component = UNSIGNED_SHORT if len(part.positions) < 65535 else UNSIGNED_INT
    indices = data.accessor(part.triangles.reshape(-1), "SCALAR", component=component)
    targets, still = [], None
    for moves in part.targets:
        if not np.any(moves):  # the targets that move nothing of this part share one accessor
            still = data.accessor(moves, "VEC3", bounds=True) if still is None else still
            targets.append({"POSITION": still})
        else:
            targets.append({"POSITION": data.accessor(moves, "VEC3", bounds=True)})
    return {"attributes": attributes, "indices": indices, "material": 0 if part.texcoords is not None else 1,
            "targets": targets, "extras": {"part": part.name}}  # fmt: skip


def _linear(srgb: np.ndarray) -> np.ndarray:
    """sRGB 0-1 to linear (glTF's vertex colours are linear)."""
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


class _Buffer:
    """The binary data of a document being made: bufferViews and accessors into one blob."""

    def __init__(self) -> None:
        self.blob = bytearray()
        self.views: list[dict[str, Any]] = []
        self.accessors: list[dict[str, Any]] = []

    def view(self, data: bytes, target: int | None = None) -> int:
        self.blob.extend(b"\0" * (-len(self.blob) % ALIGNMENT))
        view: dict[str, Any] = {"buffer": 0, "byteOffset": len(self.blob), "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.blob.extend(data)
        self.views.append(view)
        return len(self.views) - 1

    def accessor(self, values: np.ndarray, type: str, *, component: int = FLOAT, bounds: bool = False) -> int:
        dtype = {FLOAT: "<f4", UNSIGNED_SHORT: "<u2", UNSIGNED_INT: "<u4"}[component]
        data = np.ascontiguousarray(values, dtype=dtype)
        rows = data.reshape(len(data), -1)
        target = ELEMENT_ARRAY_BUFFER if component != FLOAT else ARRAY_BUFFER
        accessor: dict[str, Any] = {"bufferView": self.view(data.tobytes(), target), "componentType": component,
                                    "count": len(rows), "type": type}  # fmt: skip
        if bounds:
            accessor["min"] = [float(v) for v in rows.min(axis=0)]
            accessor["max"] = [float(v) for v in rows.max(axis=0)]
        self.accessors.append(accessor)
        return len(self.accessors) - 1
